-- Transparent column encryption: encrypt_column, the trigger, reencrypt.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE ROLE regress_cryptocol_owner;
CREATE ROLE regress_cryptocol_app;
CREATE ROLE regress_cryptocol_analyst;
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;

SELECT ai_guard.create_key('regress_col', 'aes-256-gcm') > 0 AS created;
SELECT ai_guard.create_key('regress_col_siv', 'aes-256-siv') > 0 AS created;
SELECT ai_guard.create_key('regress_col_hmac', 'hmac-sha256') > 0 AS created;
SELECT ai_guard.grant_key('regress_col', 'regress_cryptocol_owner', 'encrypt');
SELECT ai_guard.grant_key('regress_col', 'regress_cryptocol_owner', 'decrypt');
SELECT ai_guard.grant_key('regress_col_siv', 'regress_cryptocol_owner', 'encrypt');
SELECT ai_guard.grant_key('regress_col', 'regress_cryptocol_app', 'encrypt');
SELECT ai_guard.grant_key('regress_col', 'regress_cryptocol_analyst', 'decrypt');

CREATE SCHEMA regress_cryptocol AUTHORIZATION regress_cryptocol_owner;
GRANT USAGE ON SCHEMA regress_cryptocol TO regress_cryptocol_app, regress_cryptocol_analyst;
SET ROLE regress_cryptocol_owner;
CREATE TABLE regress_cryptocol.emp (
	id int PRIMARY KEY,
	name text NOT NULL,
	ssn text,
	email varchar(100),
	photo bytea,
	salary numeric
);
INSERT INTO regress_cryptocol.emp VALUES
  (1, 'Ada', '123-45-6789', 'ada@example.com', '\x0102', 100),
  (2, 'Bob', NULL, 'bob@example.com', NULL, 200),
  (3, 'Cy', '', 'cy@example.com', '\x', 300);
GRANT SELECT, INSERT, UPDATE ON regress_cryptocol.emp TO regress_cryptocol_app, regress_cryptocol_analyst;

-- refusals: not owner's key grant, wrong column, wrong type, hmac key, system column
SELECT pg_temp.try(q) FROM (VALUES
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'nosuch', 'regress_col')$$),
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'salary', 'regress_col')$$),
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'ctid', 'regress_col')$$),
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'ssn', 'regress_col_hmac')$$),
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'ssn', 'regress_nosuchkey')$$),
  ($$SELECT ai_guard.encrypt_column('pg_catalog.pg_class', 'relname', 'regress_col')$$)
) AS t(q);

-- encrypt three columns: text, varchar (deterministic key) and bytea
SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'ssn', 'regress_col');
SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'email', 'regress_col_siv', 'emp.email');
SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'photo', 'regress_col');
SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'ssn', 'regress_col');
RESET ROLE;
SELECT rel, column_name, key_name, context FROM ai_guard.encrypted_columns ORDER BY 1, 2;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'regress_cryptocol.emp'::regclass AND attnum > 0 ORDER BY attnum;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'regress_cryptocol.emp'::regclass ORDER BY 1;

SET ROLE regress_cryptocol_owner;
-- existing values are ciphertext now; NULL stays NULL
SELECT id, ai_guard.key_version(ssn) AS ssn_v, length(ssn) AS ssn_len,
       ai_guard.key_version(email) AS email_v, photo IS NULL AS photo_null
  FROM regress_cryptocol.emp ORDER BY id;
SELECT id, ai_guard.decrypt_text(ssn, 'regress_cryptocol.emp.ssn') AS ssn,
       ai_guard.decrypt(photo, 'regress_cryptocol.emp.photo') AS photo
  FROM regress_cryptocol.emp ORDER BY id;
-- the wrong context does not decrypt
SELECT ai_guard.decrypt_text(ssn, 'regress_cryptocol.emp.email') FROM regress_cryptocol.emp WHERE id = 1;
RESET ROLE;

-- an application role with only the encrypt grant writes plaintext, the trigger encrypts
SET ROLE regress_cryptocol_app;
INSERT INTO regress_cryptocol.emp (id, name, ssn) VALUES (4, 'Di', '987-65-4321');
UPDATE regress_cryptocol.emp SET ssn = '111-22-3333' WHERE id = 2;
SELECT id, ai_guard.key_version(ssn) AS v, length(ssn) AS len FROM regress_cryptocol.emp WHERE id IN (2, 4) ORDER BY id;
-- cannot read it back
SELECT pg_temp.try($$SELECT ai_guard.decrypt_text(ssn, 'regress_cryptocol.emp.ssn') FROM regress_cryptocol.emp WHERE id = 4$$);
-- writing the email column needs the siv key's encrypt grant, which it lacks
SELECT pg_temp.try($$INSERT INTO regress_cryptocol.emp (id, name, email) VALUES (5, 'Ed', 'ed@example.com')$$);
-- updating another column does not touch the ciphertext
UPDATE regress_cryptocol.emp SET salary = salary + 1 WHERE id = 4;
RESET ROLE;

-- a ciphertext sealed for this column is kept as is (copies, data-only restores)
SET ROLE regress_cryptocol_owner;
CREATE TEMP TABLE before AS SELECT id, ssn FROM regress_cryptocol.emp;
INSERT INTO regress_cryptocol.emp (id, name, ssn) SELECT 10, 'copy', ssn FROM regress_cryptocol.emp WHERE id = 1;
SELECT (SELECT ssn FROM regress_cryptocol.emp WHERE id = 10) = (SELECT ssn FROM before WHERE id = 1) AS kept_verbatim;
UPDATE regress_cryptocol.emp SET ssn = ssn WHERE id = 1;
SELECT (SELECT ssn FROM regress_cryptocol.emp WHERE id = 1) = (SELECT ssn FROM before WHERE id = 1) AS unchanged;
-- ... but a ciphertext of another column (other context) is encrypted again
INSERT INTO regress_cryptocol.emp (id, name, ssn)
  VALUES (11, 'foreign', ai_guard.encrypt('555-55-5555', 'regress_col', 'some.other.column'));
SELECT ai_guard.decrypt(ai_guard.decrypt(ssn, 'regress_cryptocol.emp.ssn'), 'some.other.column') = '555-55-5555'::bytea AS double_sealed
  FROM regress_cryptocol.emp WHERE id = 11;
-- deterministic email column: equality lookups on ciphertext
SELECT id FROM regress_cryptocol.emp
 WHERE email = ai_guard.encrypt('bob@example.com'::bytea, 'regress_col_siv', 'emp.email');
RESET ROLE;

-- the analyst with the decrypt grant reads, but cannot write the column
SET ROLE regress_cryptocol_analyst;
SELECT id, ai_guard.decrypt_text(ssn, 'regress_cryptocol.emp.ssn') AS ssn
  FROM regress_cryptocol.emp WHERE id <= 4 ORDER BY id;
SELECT pg_temp.try($$UPDATE regress_cryptocol.emp SET ssn = 'x' WHERE id = 1$$);
-- and cannot turn encryption on for a table it does not own
SELECT pg_temp.try($$SELECT ai_guard.encrypt_column('regress_cryptocol.emp', 'name', 'regress_col')$$);
SELECT pg_temp.try($$SELECT ai_guard.reencrypt('regress_cryptocol.emp', 'ssn')$$);
RESET ROLE;

-- rotation, then reencrypt moves every value to the new version, in batches
SELECT ai_guard.rotate_key('regress_col');
SET ROLE regress_cryptocol_owner;
SELECT ai_guard.key_version(ssn) AS v, count(*) FROM regress_cryptocol.emp WHERE ssn IS NOT NULL GROUP BY 1 ORDER BY 1;
SELECT ai_guard.reencrypt('regress_cryptocol.emp', 'ssn', 2, 1) AS first_batch;
SELECT ai_guard.key_version(ssn) AS v, count(*) FROM regress_cryptocol.emp WHERE ssn IS NOT NULL GROUP BY 1 ORDER BY 1;
SELECT ai_guard.reencrypt('regress_cryptocol.emp', 'ssn', 2) AS the_rest;
SELECT ai_guard.key_version(ssn) AS v, count(*) FROM regress_cryptocol.emp WHERE ssn IS NOT NULL GROUP BY 1 ORDER BY 1;
SELECT ai_guard.reencrypt('regress_cryptocol.emp', 'ssn') AS nothing_left;
SELECT id, ai_guard.decrypt_text(ssn, 'regress_cryptocol.emp.ssn') AS ssn
  FROM regress_cryptocol.emp WHERE id <= 4 ORDER BY id;
SELECT pg_temp.try(q) FROM (VALUES
  ($$SELECT ai_guard.reencrypt('regress_cryptocol.emp', 'name')$$),
  ($$SELECT ai_guard.reencrypt('regress_cryptocol.emp', 'ssn', 0)$$),
  ($$SELECT ai_guard.reencrypt('regress_cryptocol.emp', 'email')$$)
) AS t(q);
RESET ROLE;
-- the online variant commits per batch
SELECT ai_guard.rotate_key('regress_col');
SET ROLE regress_cryptocol_owner;
CALL ai_guard.reencrypt_in_batches('regress_cryptocol.emp', 'photo', 1);
SELECT id, ai_guard.key_version(photo) AS v FROM regress_cryptocol.emp WHERE photo IS NOT NULL ORDER BY id;
-- dropping a column or the table forgets it
ALTER TABLE regress_cryptocol.emp DROP COLUMN photo CASCADE;
SELECT column_name FROM ai_guard.encrypted_columns WHERE rel = 'regress_cryptocol.emp'::regclass ORDER BY 1;
DROP TABLE before;
DROP TABLE regress_cryptocol.emp;
RESET ROLE;
SELECT count(*) AS left_over FROM ai_guard.encrypted_columns;

-- row binding: with row_column, each value is bound to its row as well
SET ROLE regress_cryptocol_owner;
CREATE TABLE regress_cryptocol.acct (id int PRIMARY KEY, iban text, note text, born date NOT NULL DEFAULT '2000-01-01');
INSERT INTO regress_cryptocol.acct VALUES (1, 'DE01', 'a'), (2, 'DE02', 'b');
SELECT pg_temp.try(q) FROM (VALUES
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.acct', 'iban', 'regress_col', NULL, 'nosuch')$$),
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.acct', 'iban', 'regress_col', NULL, 'iban')$$),
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.acct', 'iban', 'regress_col', NULL, 'note')$$),
  ($$SELECT ai_guard.encrypt_column('regress_cryptocol.acct', 'iban', 'regress_col', NULL, 'born')$$)
) AS t(q);
SELECT ai_guard.encrypt_column('regress_cryptocol.acct', 'iban', 'regress_col', 'acct.iban', 'id');
RESET ROLE;
SELECT column_name, context, row_column FROM ai_guard.encrypted_columns
 WHERE rel = 'regress_cryptocol.acct'::regclass;
SET ROLE regress_cryptocol_owner;
INSERT INTO regress_cryptocol.acct (id, iban) VALUES (3, 'DE03');
SELECT id, ai_guard.decrypt_text(iban, 'acct.iban:' || id) FROM regress_cryptocol.acct ORDER BY id;
-- a ciphertext copied to another row no longer decrypts as that row's value
UPDATE regress_cryptocol.acct SET iban = (SELECT iban FROM regress_cryptocol.acct WHERE id = 1) WHERE id = 2;
SELECT pg_temp.try($$SELECT ai_guard.decrypt_text(iban, 'acct.iban:2') FROM regress_cryptocol.acct WHERE id = 2$$) AS copied_value;
-- (it was sealed again as opaque bytes: row 1's ciphertext, not its IBAN)
SELECT ai_guard.decrypt_text(ai_guard.decrypt(iban, 'acct.iban:2'), 'acct.iban:1') AS inner_value
  FROM regress_cryptocol.acct WHERE id = 2;
-- changing the row key re-seals the row's own value for the new key
UPDATE regress_cryptocol.acct SET id = 30 WHERE id = 3;
SELECT id, ai_guard.decrypt_text(iban, 'acct.iban:' || id) FROM regress_cryptocol.acct WHERE id = 30;
-- reencrypt uses each row's context
RESET ROLE;
SELECT ai_guard.rotate_key('regress_col');
SET ROLE regress_cryptocol_owner;
SELECT ai_guard.reencrypt('regress_cryptocol.acct', 'iban') AS moved;
SELECT id, ai_guard.key_version(iban) AS v, ai_guard.decrypt_text(iban, 'acct.iban:' || id)
  FROM regress_cryptocol.acct WHERE id <> 2 ORDER BY id;
DROP TABLE regress_cryptocol.acct;
RESET ROLE;

-- clean up
DROP SCHEMA regress_cryptocol;
DELETE FROM ai_guard.key_grants WHERE key_id IN (SELECT key_id FROM ai_guard.keys WHERE name LIKE 'regress%');
DELETE FROM ai_guard.key_versions WHERE key_id IN (SELECT key_id FROM ai_guard.keys WHERE name LIKE 'regress%');
DELETE FROM ai_guard.keys WHERE name LIKE 'regress%';
DROP ROLE regress_cryptocol_owner, regress_cryptocol_app, regress_cryptocol_analyst;
