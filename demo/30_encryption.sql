-- Column encryption with a server-held keyring: keys never appear in SQL
\pset footer off

-- The platform team (this superuser session) configured the master key in
-- postgresql.conf: ai_guard.master_key_file points at a 0600 file. SQL sees
-- only the path, and only superusers see that.
SELECT name, context FROM pg_settings WHERE name LIKE 'ai\_guard.%key%' ORDER BY 1;

-- Data keys are named, created in the server, stored wrapped by the master key.
SELECT ai_guard.create_key('customer_pii', 'aes-256-gcm') AS key_id;   -- randomized
SELECT ai_guard.create_key('customer_lookup', 'aes-256-siv') AS key_id; -- deterministic
SELECT ai_guard.create_key('customer_pseudonyms', 'hmac-sha256') AS key_id;
SELECT name, algorithm, current_version FROM ai_guard.keys ORDER BY key_id;

-- Who may use which key, for what (checked in C; role membership counts).
SELECT ai_guard.grant_key('customer_pii', 'data_engineer', 'encrypt');
SELECT ai_guard.grant_key('customer_lookup', 'data_engineer', 'encrypt');
SELECT ai_guard.grant_key('customer_pii', 'compliance_officer', 'decrypt');
SELECT ai_guard.grant_key('customer_pseudonyms', 'data_scientist', 'pseudonymize');

-- Encrypt two columns of the demo customers in place. From now on a trigger
-- keeps new and updated values encrypted; the context (schema.table.column)
-- is authenticated, so a ciphertext copied to another column will not decrypt.
SELECT iban AS lookup_iban FROM demo.customers WHERE customer_id = 7 \gset
SELECT ai_guard.encrypt_column('demo.customers', 'card_number', 'customer_pii');
SELECT ai_guard.encrypt_column('demo.customers', 'iban', 'customer_lookup');
SELECT rel, column_name, key_name, context FROM ai_guard.encrypted_columns ORDER BY 2;
SELECT customer_id, left(card_number::text, 34) || '...' AS card_number_at_rest,
       ai_guard.key_version(card_number) AS key_version
  FROM demo.customers ORDER BY customer_id LIMIT 3;

-- The data engineer ingests plaintext; the trigger encrypts it.
SET ROLE data_engineer;
UPDATE demo.customers SET card_number = '4111111111111111' WHERE customer_id = 1;
-- ... but cannot read it back: no decrypt grant (SQLSTATE 42501)
\set ON_ERROR_STOP 0
SELECT ai_guard.decrypt_text(card_number, 'demo.customers.card_number')
  FROM demo.customers WHERE customer_id = 1;
\set ON_ERROR_STOP 1
RESET ROLE;

-- The compliance officer holds the decrypt grant.
GRANT USAGE ON SCHEMA demo TO compliance_officer;
GRANT SELECT ON demo.customers TO compliance_officer;
SET ROLE compliance_officer;
SELECT customer_id, ai_guard.decrypt_text(card_number, 'demo.customers.card_number') AS card_number
  FROM demo.customers ORDER BY customer_id LIMIT 3;
-- a ciphertext moved to another column fails authentication
\set ON_ERROR_STOP 0
SELECT ai_guard.decrypt_text(card_number, 'demo.customers.iban') FROM demo.customers WHERE customer_id = 2;
\set ON_ERROR_STOP 1
RESET ROLE;

-- Row binding: with a row column (here the primary key) each value is sealed
-- for its row, so a ciphertext copied to another row does not decrypt there.
CREATE TABLE demo.payouts (customer_id bigint PRIMARY KEY, iban text);
INSERT INTO demo.payouts SELECT customer_id, 'DE0000000000000000' || customer_id
  FROM demo.customers WHERE customer_id <= 3;
SELECT ai_guard.encrypt_column('demo.payouts', 'iban', 'customer_pii', 'payouts.iban', 'customer_id');
SELECT customer_id, ai_guard.decrypt_text(iban, 'payouts.iban:' || customer_id) AS iban
  FROM demo.payouts ORDER BY 1;
-- copying row 1's ciphertext into row 2: the trigger sees bytes not sealed
-- for row 2 and seals them as they are; decrypting row 2 yields row 1's
-- ciphertext, never row 1's IBAN
UPDATE demo.payouts SET iban = (SELECT iban FROM demo.payouts WHERE customer_id = 1) WHERE customer_id = 2;
SELECT ai_guard.key_version(ai_guard.decrypt(iban, 'payouts.iban:2')) IS NOT NULL AS row2_holds_a_ciphertext_not_an_iban
  FROM demo.payouts WHERE customer_id = 2;

-- Deterministic encryption still finds rows by equality, without decrypting.
SELECT customer_id, full_name FROM demo.customers
 WHERE iban = ai_guard.encrypt(:'lookup_iban', 'customer_lookup', 'demo.customers.iban');

-- Rotation: new values use version 2, old ones still decrypt; reencrypt
-- moves the column to the newest version in batches.
SELECT ai_guard.rotate_key('customer_pii') AS new_version;
SELECT ai_guard.key_version(card_number) AS version, count(*) FROM demo.customers GROUP BY 1 ORDER BY 1;
SELECT ai_guard.reencrypt('demo.customers', 'card_number', 500) AS rows_moved;
SELECT ai_guard.key_version(card_number) AS version, count(*) FROM demo.customers GROUP BY 1 ORDER BY 1;

-- Keyed pseudonyms for the data scientist: stable within a purpose class
-- (joins work), different for another purpose, impossible without the key.
SET ROLE data_scientist;
SET ai_guard.purpose = 'training:churn-v3';
SELECT ai_guard.pseudonymize('alice@example.com', 'customer_pseudonyms') AS churn_pseudonym;
SET ai_guard.purpose = 'training:fraud-v1';
SELECT ai_guard.pseudonymize('alice@example.com', 'customer_pseudonyms') AS same_class_same_pseudonym;
SET ai_guard.purpose = 'analytics:q3';
SELECT ai_guard.pseudonymize('alice@example.com', 'customer_pseudonyms') AS other_purpose_other_pseudonym;
RESET ai_guard.purpose;
RESET ROLE;

-- Revoke takes effect at once, also in sessions already open.
SELECT ai_guard.revoke_key('customer_pii', 'compliance_officer', 'decrypt');
SET ROLE compliance_officer;
\set ON_ERROR_STOP 0
SELECT ai_guard.decrypt_text(card_number, 'demo.customers.card_number') FROM demo.customers WHERE customer_id = 1;
\set ON_ERROR_STOP 1
RESET ROLE;
