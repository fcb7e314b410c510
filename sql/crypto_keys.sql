-- Keys and encryption: keyring, round trips, privileges, bad input.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE ROLE regress_crypto_reader;
CREATE ROLE regress_crypto_writer;
CREATE ROLE regress_crypto_team;
CREATE ROLE regress_crypto_member IN ROLE regress_crypto_team;
CREATE ROLE regress_crypto_nobody;
CREATE ROLE regress_crypto_admin;
-- runs a statement, returns its SQLSTATE and message (or ok)
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;

-- the master key is configured by the test cluster, and invisible to SQL users
SELECT current_setting('ai_guard.master_key_file') <> '' AS master_key_file_set;
SET ROLE regress_crypto_nobody;
SHOW ai_guard.master_key_file;
SELECT current_setting('ai_guard.master_key_command');
SET ai_guard.decrypt_requires_ssl = off;
RESET ROLE;

-- key creation: every algorithm, bad names and algorithms
SELECT ai_guard.create_key('regress_gcm', 'aes-256-gcm') > 0 AS created;
SELECT ai_guard.create_key('regress_siv', 'aes-256-siv') > 0 AS created;
SELECT ai_guard.create_key('regress_hmac', 'hmac-sha256') > 0 AS created;
SELECT ai_guard.create_key('regress_gcm', 'aes-256-gcm');
SELECT ai_guard.create_key('regress_bad', 'aes-128-ecb');
SELECT ai_guard.create_key('bad name', 'aes-256-gcm');
SELECT ai_guard.create_key('', 'aes-256-gcm');
SELECT ai_guard.create_key(repeat('k', 64), 'aes-256-gcm');
SELECT ai_guard.create_key('regress_link', 'aes-256-gcm', true);
SELECT ai_guard.create_key(NULL, 'aes-256-gcm') IS NULL AS null_name_is_null;
SELECT name, algorithm, linkable, current_version FROM ai_guard.keys
 WHERE name LIKE 'regress%' ORDER BY name;
-- what is stored is wrapped: 1 + 12 + 16 + key length, never the raw key
SELECT k.name, v.version, length(v.wrapped) AS wrapped_len, length(v.master_key_id) AS mk_id_len
  FROM ai_guard.key_versions v JOIN ai_guard.keys k USING (key_id)
 WHERE k.name LIKE 'regress%' ORDER BY k.name, v.version;

-- round trip for every encryption algorithm, text and bytea
SELECT ai_guard.decrypt_text(ai_guard.encrypt('123-45-6789', 'regress_gcm', 'hr.emp.ssn'), 'hr.emp.ssn');
SELECT ai_guard.decrypt_text(ai_guard.encrypt('123-45-6789', 'regress_siv', 'hr.emp.ssn'), 'hr.emp.ssn');
SELECT ai_guard.decrypt(ai_guard.encrypt('\x00ff10'::bytea, 'regress_gcm'));
SELECT ai_guard.decrypt(ai_guard.encrypt('\x00ff10'::bytea, 'regress_siv'));
-- empty values, and the envelope overhead (GCM 40 bytes, SIV 29)
SELECT length(ai_guard.encrypt(''::bytea, 'regress_gcm')) AS gcm_empty,
       length(ai_guard.encrypt(''::bytea, 'regress_siv')) AS siv_empty,
       length(ai_guard.decrypt(ai_guard.encrypt(''::bytea, 'regress_gcm'))) AS gcm_rt,
       length(ai_guard.decrypt(ai_guard.encrypt(''::bytea, 'regress_siv'))) AS siv_rt;
-- the header: magic "AG", format 1, algorithm, key version 1
SELECT substr(ai_guard.encrypt('x', 'regress_gcm'), 1, 4) AS gcm_head,
       substr(ai_guard.encrypt('x', 'regress_siv'), 1, 4) AS siv_head,
       ai_guard.key_version(ai_guard.encrypt('x', 'regress_gcm')) AS version;
-- deterministic mode: equal input and context give equal ciphertexts
SELECT ai_guard.encrypt('alice@example.com', 'regress_siv', 'c') =
       ai_guard.encrypt('alice@example.com', 'regress_siv', 'c') AS siv_equal,
       ai_guard.encrypt('alice@example.com', 'regress_siv', 'c') =
       ai_guard.encrypt('alice@example.com', 'regress_siv', 'd') AS siv_other_context_equal,
       ai_guard.encrypt('alice@example.com', 'regress_gcm', 'c') =
       ai_guard.encrypt('alice@example.com', 'regress_gcm', 'c') AS gcm_equal;
-- NULL in, NULL out
SELECT ai_guard.encrypt(NULL::text, 'regress_gcm') IS NULL AS a,
       ai_guard.decrypt(NULL) IS NULL AS b,
       ai_guard.decrypt_text(NULL, 'x') IS NULL AS c,
       ai_guard.key_version(NULL) IS NULL AS d;

-- wrong context, flipped bytes, truncation, foreign and empty input
CREATE TEMP TABLE ct AS
  SELECT ai_guard.encrypt('payroll 2026', 'regress_gcm', 'row:1') AS g,
         ai_guard.encrypt('payroll 2026', 'regress_siv', 'row:1') AS s;
GRANT SELECT ON ct TO PUBLIC;
SELECT ai_guard.decrypt_text(g, 'row:2') FROM ct;
SELECT t.what, pg_temp.try(t.q) AS result FROM (VALUES
  ('gcm, wrong context', $$SELECT ai_guard.decrypt_text(g, 'row:2') FROM ct$$),
  ('gcm, no context', $$SELECT ai_guard.decrypt_text(g) FROM ct$$),
  ('siv, wrong context', $$SELECT ai_guard.decrypt_text(s, 'row:2') FROM ct$$),
  ('gcm, right context', $$SELECT ai_guard.decrypt_text(g, 'row:1') FROM ct$$),
  ('bit flipped in key version', $$SELECT ai_guard.decrypt_text(set_byte(g, 11, get_byte(g, 11) # 1), 'row:1') FROM ct$$),
  ('bit flipped in nonce', $$SELECT ai_guard.decrypt_text(set_byte(g, 15, get_byte(g, 15) # 1), 'row:1') FROM ct$$),
  ('bit flipped in tag', $$SELECT ai_guard.decrypt_text(set_byte(g, 30, get_byte(g, 30) # 1), 'row:1') FROM ct$$),
  ('bit flipped in ciphertext', $$SELECT ai_guard.decrypt_text(set_byte(g, 41, get_byte(g, 41) # 1), 'row:1') FROM ct$$),
  ('siv, bit flipped in tag', $$SELECT ai_guard.decrypt_text(set_byte(s, 20, get_byte(s, 20) # 1), 'row:1') FROM ct$$),
  ('siv, bit flipped in ciphertext', $$SELECT ai_guard.decrypt_text(set_byte(s, 30, get_byte(s, 30) # 1), 'row:1') FROM ct$$),
  ('algorithm byte swapped', $$SELECT ai_guard.decrypt_text(set_byte(g, 3, 2), 'row:1') FROM ct$$),
  ('unknown key id', $$SELECT ai_guard.decrypt_text(overlay(g placing '\x7fffff00'::bytea from 5 for 4), 'row:1') FROM ct$$),
  ('unknown key version', $$SELECT ai_guard.decrypt_text(overlay(g placing '\x00000009'::bytea from 9 for 4), 'row:1') FROM ct$$),
  ('truncated to 30 bytes', $$SELECT ai_guard.decrypt_text(substr(g, 1, 30), 'row:1') FROM ct$$),
  ('last byte cut', $$SELECT ai_guard.decrypt_text(substr(g, 1, length(g) - 1), 'row:1') FROM ct$$),
  ('byte appended', $$SELECT ai_guard.decrypt_text(g || '\x00'::bytea, 'row:1') FROM ct$$),
  ('empty', $$SELECT ai_guard.decrypt(''::bytea)$$),
  ('magic only', $$SELECT ai_guard.decrypt('\x4147'::bytea)$$),
  ('format version 2', $$SELECT ai_guard.decrypt('\x41470201000000010000000100000000000000000000000000000000000000'::bytea)$$),
  ('plain text', $$SELECT ai_guard.decrypt(convert_to('hello world, not a ciphertext', 'UTF8'))$$),
  ('pgp-like blob', $$SELECT ai_guard.decrypt(decode(repeat('c30d04070302', 20), 'hex'))$$),
  ('binary plaintext as text', $$SELECT ai_guard.decrypt_text(ai_guard.encrypt('\xff00fe'::bytea, 'regress_gcm'))$$),
  ('unknown key', $$SELECT ai_guard.encrypt('x', 'regress_nosuchkey')$$),
  ('hmac key to encrypt', $$SELECT ai_guard.encrypt('x', 'regress_hmac')$$),
  ('malformed key name', $$SELECT ai_guard.encrypt('x', 'bad name!')$$),
  ('empty key name', $$SELECT ai_guard.encrypt('x', '')$$)
) AS t(what, q);
SELECT ai_guard.key_version('\x00'::bytea) IS NULL AS not_an_envelope;

-- big values: 100 MB round trip
SELECT length(ai_guard.decrypt(ai_guard.encrypt(convert_to(repeat('x', 100 * 1024 * 1024), 'UTF8'), 'regress_gcm'))) AS gcm_100mb;
SELECT length(ai_guard.decrypt(ai_guard.encrypt(convert_to(repeat('y', 100 * 1024 * 1024), 'UTF8'), 'regress_siv'))) AS siv_100mb;

-- privileges: checked in C, role membership counts
SELECT ai_guard.grant_key('regress_gcm', 'regress_crypto_writer', 'encrypt');
SELECT ai_guard.grant_key('regress_gcm', 'regress_crypto_writer', 'encrypt');
SELECT ai_guard.grant_key('regress_gcm', 'regress_crypto_reader', 'decrypt');
SELECT ai_guard.grant_key('regress_gcm', 'regress_crypto_team', 'decrypt');
SELECT ai_guard.grant_key('regress_gcm', 'regress_crypto_reader', 'pseudonymize');
SELECT ai_guard.grant_key('regress_hmac', 'regress_crypto_reader', 'decrypt');
SELECT ai_guard.grant_key('regress_gcm', 'regress_crypto_reader', 'select');
SELECT ai_guard.grant_key('regress_nosuchkey', 'regress_crypto_reader', 'decrypt');
SELECT k.name, g.grantee, g.privilege FROM ai_guard.key_grants g JOIN ai_guard.keys k USING (key_id)
 WHERE k.name LIKE 'regress%' ORDER BY 1, 2::text, 3;

-- the search_path attack: operators planted by a caller are never used by
-- the keyring's own queries, which run as the key tables' owner
CREATE SCHEMA regress_crypto_evil AUTHORIZATION regress_crypto_writer;
SET ROLE regress_crypto_writer;
CREATE FUNCTION regress_crypto_evil.texteq(text, text) RETURNS boolean
  LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'hijacked text = as %', current_user; END$$;
CREATE FUNCTION regress_crypto_evil.int4eq(int, int) RETURNS boolean
  LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'hijacked int4 = as %', current_user; END$$;
CREATE OPERATOR regress_crypto_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_crypto_evil.texteq);
CREATE OPERATOR regress_crypto_evil.= (LEFTARG = int, RIGHTARG = int, FUNCTION = regress_crypto_evil.int4eq);
SET search_path = regress_crypto_evil, pg_catalog;
SELECT ai_guard.key_version(ai_guard.encrypt('x', 'regress_gcm')) AS not_hijacked;
RESET search_path;
RESET ROLE;
DROP SCHEMA regress_crypto_evil CASCADE;

SET ROLE regress_crypto_writer;
CREATE TEMP TABLE w AS SELECT ai_guard.encrypt('written by writer', 'regress_gcm', 'w') AS c;
SELECT ai_guard.decrypt_text(c, 'w') FROM w;
SELECT ai_guard.encrypt('x', 'regress_siv');
GRANT SELECT ON w TO PUBLIC;
SELECT c FROM w \gset
RESET ROLE;
SET ROLE regress_crypto_reader;
SELECT ai_guard.decrypt_text(:'c', 'w');
SELECT ai_guard.encrypt('x', 'regress_gcm');
RESET ROLE;
SET ROLE regress_crypto_member;
SELECT ai_guard.decrypt_text(:'c', 'w') AS via_membership;
RESET ROLE;
SET ROLE regress_crypto_nobody;
SELECT ai_guard.decrypt_text(:'c', 'w');
SELECT pg_temp.try($$SELECT ai_guard.decrypt_text(g, 'row:1') FROM ct$$);
-- key management and the key tables are closed to ordinary roles
SELECT ai_guard.create_key('regress_mine', 'aes-256-gcm');
SELECT ai_guard.grant_key('regress_gcm', 'regress_crypto_nobody', 'decrypt');
SELECT ai_guard.rotate_key('regress_gcm');
SELECT ai_guard.rewrap_keys();
SELECT * FROM ai_guard.key_versions;
SELECT * FROM ai_guard.key_grants;
INSERT INTO ai_guard.key_grants (key_id, grantee, privilege) VALUES (1, 'regress_crypto_nobody', 'decrypt');
RESET ROLE;

-- revoke takes effect at once (the other-session case is in test/scripts)
SELECT ai_guard.revoke_key('regress_gcm', 'regress_crypto_team', 'decrypt');
SELECT ai_guard.revoke_key('regress_gcm', 'regress_crypto_team', 'decrypt');
SET ROLE regress_crypto_member;
SELECT pg_temp.try(format('SELECT ai_guard.decrypt_text(%L, %L)', :'c', 'w'));
RESET ROLE;

-- a delegated key administrator: EXECUTE on the management functions
GRANT EXECUTE ON FUNCTION ai_guard.create_key(text, text, boolean) TO regress_crypto_admin;
GRANT EXECUTE ON FUNCTION ai_guard.grant_key(text, regrole, text) TO regress_crypto_admin;
SET ROLE regress_crypto_admin;
SELECT ai_guard.create_key('regress_delegated', 'aes-256-siv') > 0 AS created;
SELECT ai_guard.grant_key('regress_delegated', 'regress_crypto_admin', 'encrypt');
SELECT length(ai_guard.encrypt('x', 'regress_delegated')) AS len;
SELECT ai_guard.decrypt(ai_guard.encrypt('x', 'regress_delegated'));
RESET ROLE;

-- rotation: new values use the new version, old ones still decrypt
SELECT ai_guard.rotate_key('regress_gcm');
SELECT ai_guard.key_version(ai_guard.encrypt('x', 'regress_gcm')) AS new_version;
SELECT ai_guard.key_version(g) AS old_version, ai_guard.decrypt_text(g, 'row:1') FROM ct;
SELECT ai_guard.rotate_key('regress_nosuchkey');
SELECT ai_guard.rotate_key('regress_hmac');

-- rewrap with nothing to do: every version is under the current master key
SELECT ai_guard.rewrap_keys();

-- a wrapped key moved to another key's row does not unwrap (bound to name and version)
BEGIN;
UPDATE ai_guard.key_versions SET wrapped = (SELECT wrapped FROM ai_guard.key_versions v
       JOIN ai_guard.keys k USING (key_id) WHERE k.name = 'regress_siv')
 WHERE key_id = (SELECT key_id FROM ai_guard.keys WHERE name = 'regress_delegated');
SELECT ai_guard.decrypt(ai_guard.encrypt('x', 'regress_delegated'));
ROLLBACK;
SELECT ai_guard.decrypt(ai_guard.encrypt('x', 'regress_delegated'));

-- clean up
DELETE FROM ai_guard.key_grants WHERE key_id IN (SELECT key_id FROM ai_guard.keys WHERE name LIKE 'regress%');
DELETE FROM ai_guard.key_versions WHERE key_id IN (SELECT key_id FROM ai_guard.keys WHERE name LIKE 'regress%');
DELETE FROM ai_guard.keys WHERE name LIKE 'regress%';
DROP TABLE ct, w;
REVOKE EXECUTE ON FUNCTION ai_guard.create_key(text, text, boolean) FROM regress_crypto_admin;
REVOKE EXECUTE ON FUNCTION ai_guard.grant_key(text, regrole, text) FROM regress_crypto_admin;
DROP ROLE regress_crypto_reader, regress_crypto_writer, regress_crypto_member,
  regress_crypto_team, regress_crypto_nobody, regress_crypto_admin;
