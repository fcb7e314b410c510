-- pgTAP: column encryption on the demo data (1,000 customers), as the
-- personas would use it.  Everything is rolled back.
BEGIN;
SELECT plan(27);

SELECT has_function('ai_guard', 'encrypt', ARRAY['bytea', 'text', 'text'], 'encrypt(bytea, text, text)');
SELECT has_function('ai_guard', 'encrypt', ARRAY['text', 'text', 'text'], 'encrypt(text, text, text)');
SELECT has_function('ai_guard', 'decrypt', ARRAY['bytea', 'text'], 'decrypt(bytea, text)');
SELECT has_function('ai_guard', 'decrypt_text', ARRAY['bytea', 'text'], 'decrypt_text(bytea, text)');
SELECT has_table('ai_guard', 'encrypted_columns', 'encrypted_columns exists');
SELECT is((SELECT context FROM pg_settings WHERE name = 'ai_guard.master_key_file'),
          'sighup', 'master_key_file is set in the server configuration only');
SELECT is((SELECT context FROM pg_settings WHERE name = 'ai_guard.decrypt_requires_ssl'),
          'superuser', 'decrypt_requires_ssl is superuser-only');
SELECT ok(NOT has_function_privilege('public', 'ai_guard.create_key(text, text, boolean)', 'EXECUTE'),
          'PUBLIC cannot create keys');
SELECT ok(NOT has_table_privilege('public', 'ai_guard.key_versions', 'SELECT'),
          'PUBLIC cannot read wrapped keys');

CREATE TEMP TABLE before AS SELECT customer_id, card_number, iban FROM demo.customers;
SELECT ok(ai_guard.create_key('tap_cards', 'aes-256-gcm') > 0, 'create a randomized key');
SELECT ok(ai_guard.create_key('tap_iban', 'aes-256-siv') > 0, 'create a deterministic key');
SELECT lives_ok($$SELECT ai_guard.encrypt_column('demo.customers', 'card_number', 'tap_cards')$$,
                'encrypt_column on 1,000 card numbers');
SELECT lives_ok($$SELECT ai_guard.encrypt_column('demo.customers', 'iban', 'tap_iban', 'iban')$$,
                'encrypt_column with a deterministic key and an explicit context');
SELECT is((SELECT count(*) FROM demo.customers WHERE ai_guard.key_version(card_number) = 1),
          1000::bigint, 'every card number is ciphertext');
SELECT is((SELECT count(*) FROM demo.customers c JOIN before b USING (customer_id)
            WHERE ai_guard.decrypt_text(c.card_number, 'demo.customers.card_number') = b.card_number),
          1000::bigint, 'every card number decrypts to its old value');
SELECT is((SELECT count(DISTINCT card_number) FROM demo.customers), 1000::bigint,
          'randomized: no two ciphertexts are equal');
SELECT is((SELECT count(*) FROM demo.customers c JOIN before b USING (customer_id)
            WHERE c.iban = ai_guard.encrypt(b.iban, 'tap_iban', 'iban')),
          1000::bigint, 'deterministic: the IBAN is found by encrypting the lookup value');
SELECT is((SELECT string_agg(rel::text || '.' || column_name || ':' || key_name, ',' ORDER BY column_name)
             FROM ai_guard.encrypted_columns),
          'demo.customers.card_number:tap_cards,demo.customers.iban:tap_iban',
          'encrypted_columns lists both columns');

-- an ingesting role (like data_engineer) without a key grant: refused; with it: encrypted
CREATE ROLE regress_tap_ingest;
GRANT USAGE ON SCHEMA demo TO regress_tap_ingest;
GRANT SELECT, UPDATE ON demo.customers TO regress_tap_ingest;
SET LOCAL ROLE regress_tap_ingest;
SELECT throws_ok($$UPDATE demo.customers SET card_number = '4111111111111111' WHERE customer_id = 1$$,
                 '42501', NULL, 'writing an encrypted column needs the encrypt grant');
RESET ROLE;
SELECT ok(ai_guard.grant_key('tap_cards', 'regress_tap_ingest', 'encrypt'), 'grant encrypt to the ingesting role');
SET LOCAL ROLE regress_tap_ingest;
SELECT lives_ok($$UPDATE demo.customers SET card_number = '4111111111111111' WHERE customer_id = 1$$,
                'with the grant the ingesting role writes plaintext');
SELECT throws_ok($$SELECT ai_guard.decrypt_text(card_number, 'demo.customers.card_number') FROM demo.customers WHERE customer_id = 1$$,
                 '42501', NULL, 'but cannot decrypt it');
RESET ROLE;
SELECT is((SELECT ai_guard.decrypt_text(card_number, 'demo.customers.card_number') FROM demo.customers WHERE customer_id = 1),
          '4111111111111111', 'the trigger encrypted the new value');

-- a ciphertext copied to another column does not decrypt there
SELECT throws_ok($$SELECT ai_guard.decrypt_text(card_number, 'demo.customers.iban') FROM demo.customers WHERE customer_id = 2$$,
                 '22000', NULL, 'a ciphertext moved to another column fails to decrypt');

-- rotation and re-encryption
SELECT is(ai_guard.rotate_key('tap_cards'), 2, 'rotate to version 2');
SELECT is(ai_guard.reencrypt('demo.customers', 'card_number', 250), 1000::bigint,
          'reencrypt moves all 1,000 rows in batches of 250');
SELECT is((SELECT count(*) FROM demo.customers c JOIN before b USING (customer_id)
            WHERE ai_guard.key_version(c.card_number) = 2
              AND ai_guard.decrypt_text(c.card_number, 'demo.customers.card_number') = b.card_number),
          999::bigint, 'all rows on version 2 and still decrypting (one was updated)');

SELECT * FROM finish();
ROLLBACK;
