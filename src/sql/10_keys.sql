
/*
 * ---- Keys and column encryption (src/keyring.c, src/crypto_sql.c) ----
 *
 * Data keys are stored wrapped by the server's master key; the tables hold
 * no usable key material without it, and are dumped with pg_dump so that a
 * restore onto a server with the same master key decrypts everything.
 * Ordinary roles have no privileges on these tables: the C functions read
 * and write them as their owner, after checking the caller's key grants.
 */

CREATE TABLE @extschema@.keys (
	key_id          serial PRIMARY KEY,
	name            pg_catalog.text NOT NULL UNIQUE
	                CHECK (name OPERATOR(pg_catalog.~) '^[A-Za-z0-9_.-]{1,63}$'),
	algorithm       pg_catalog.text NOT NULL
	                CHECK (algorithm IN ('aes-256-gcm', 'aes-256-siv', 'hmac-sha256')),
	linkable        pg_catalog.bool NOT NULL DEFAULT false,
	current_version pg_catalog.int4 NOT NULL DEFAULT 1,
	created_by      pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.keys', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.keys_key_id_seq', '');
REVOKE ALL ON @extschema@.keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.keys_key_id_seq FROM PUBLIC;
COMMENT ON TABLE @extschema@.keys IS
'data keys by name: algorithm, current version; key material is in key_versions, wrapped';

CREATE TABLE @extschema@.key_versions (
	key_id          pg_catalog.int4 NOT NULL,
	version         pg_catalog.int4 NOT NULL,
	wrapped         pg_catalog.bytea NOT NULL,
	master_key_id   pg_catalog.text NOT NULL,
	created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (key_id, version)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_versions', '');
REVOKE ALL ON @extschema@.key_versions FROM PUBLIC;
COMMENT ON TABLE @extschema@.key_versions IS
'every version of every data key, wrapped (AES-256-GCM) by the master key and bound to key name, algorithm and version';

CREATE TABLE @extschema@.key_grants (
	key_id          pg_catalog.int4 NOT NULL,
	grantee         pg_catalog.regrole NOT NULL,
	privilege       pg_catalog.text NOT NULL
	                CHECK (privilege IN ('encrypt', 'decrypt', 'pseudonymize')),
	granted_by      pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	granted_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (key_id, grantee, privilege)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_grants', '');
REVOKE ALL ON @extschema@.key_grants FROM PUBLIC;
COMMENT ON TABLE @extschema@.key_grants IS
'which roles may use which key for what; role membership counts';

/*
 * encrypted_columns: one row per column under encrypt_column(). Other parts
 * of ai_guard (the audit) read it to know which columns hold ciphertext.
 */
CREATE TABLE @extschema@.encrypted_columns (
	rel             pg_catalog.regclass NOT NULL,
	column_name     pg_catalog.name NOT NULL,
	key_name        pg_catalog.text NOT NULL,
	context         pg_catalog.text NOT NULL,
	row_column      pg_catalog.name,
	added_by        pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	added_at        pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (rel, column_name)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.encrypted_columns', '');
REVOKE ALL ON @extschema@.encrypted_columns FROM PUBLIC;
GRANT SELECT ON @extschema@.encrypted_columns TO PUBLIC;
COMMENT ON TABLE @extschema@.encrypted_columns IS
'columns kept encrypted by ai_guard.encrypt_column(), with their key and the context to decrypt them with (context || '':'' || row_column::text when row_column is set)';

/* any change to the key tables flushes every backend's key cache */
CREATE FUNCTION @extschema@.key_tables_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_key_tables_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.key_tables_changed() IS
'trigger: invalidates the per-backend key caches after a change to the key tables';
REVOKE ALL ON FUNCTION @extschema@.key_tables_changed() FROM PUBLIC;

CREATE TRIGGER key_cache_invalidate
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.keys
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.key_tables_changed();
CREATE TRIGGER key_cache_invalidate
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.key_versions
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.key_tables_changed();
CREATE TRIGGER key_cache_invalidate
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.key_grants
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.key_tables_changed();

/* ---- key management: for key administrators (EXECUTE is the privilege) ---- */

CREATE FUNCTION @extschema@.create_key(key_name pg_catalog.text,
	algorithm pg_catalog.text DEFAULT 'aes-256-gcm',
	linkable pg_catalog.bool DEFAULT false)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'ai_guard_create_key'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.create_key(pg_catalog.text, pg_catalog.text, pg_catalog.bool) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.create_key(pg_catalog.text, pg_catalog.text, pg_catalog.bool) IS
'creates a data key (aes-256-gcm, aes-256-siv or hmac-sha256), stored wrapped by the master key; returns its key id';

CREATE FUNCTION @extschema@.rotate_key(key_name pg_catalog.text)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'ai_guard_rotate_key'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.rotate_key(pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.rotate_key(pg_catalog.text) IS
'adds a new version of a key, used for new encryptions; old versions still decrypt; returns the new version';

CREATE FUNCTION @extschema@.grant_key(key_name pg_catalog.text,
	role pg_catalog.regrole, privilege pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_grant_key'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.grant_key(pg_catalog.text, pg_catalog.regrole, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_key(pg_catalog.text, pg_catalog.regrole, pg_catalog.text) IS
'lets a role (and its members) encrypt, decrypt or pseudonymize with a key; true if the grant is new';

CREATE FUNCTION @extschema@.revoke_key(key_name pg_catalog.text,
	role pg_catalog.regrole, privilege pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_revoke_key'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.revoke_key(pg_catalog.text, pg_catalog.regrole, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.revoke_key(pg_catalog.text, pg_catalog.regrole, pg_catalog.text) IS
'removes a key grant; open sessions see it from their next transaction; true if there was one';

CREATE FUNCTION @extschema@.rewrap_keys()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_rewrap_keys'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.rewrap_keys() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.rewrap_keys() IS
'after a master key change: re-wraps every data key version found under ai_guard.previous_master_key_file with the current master key; returns how many';

/* ---- encryption: callable by all, the key grant is checked in C ---- */

CREATE FUNCTION @extschema@.encrypt(data pg_catalog.bytea, key_name pg_catalog.text,
	context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'ai_guard_encrypt'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.encrypt(pg_catalog.bytea, pg_catalog.text, pg_catalog.text) IS
'encrypts with the current version of a key (needs the encrypt grant); context is authenticated and must be given again to decrypt';

CREATE FUNCTION @extschema@.encrypt(data pg_catalog.text, key_name pg_catalog.text,
	context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'ai_guard_encrypt_text'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.encrypt(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'encrypts text (its bytes in the database encoding); see encrypt(bytea, text, text)';

CREATE FUNCTION @extschema@.decrypt(ciphertext pg_catalog.bytea,
	context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'ai_guard_decrypt'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.decrypt(pg_catalog.bytea, pg_catalog.text) IS
'decrypts an ai_guard ciphertext with the key and version it names (needs the decrypt grant); fails if altered or if the context differs';

CREATE FUNCTION @extschema@.decrypt_text(ciphertext pg_catalog.bytea,
	context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_decrypt_text'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.decrypt_text(pg_catalog.bytea, pg_catalog.text) IS
'decrypt() returning text; fails if the plaintext is not valid in the database encoding';

CREATE FUNCTION @extschema@.key_version(ciphertext pg_catalog.bytea)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'ai_guard_key_version'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.key_version(pg_catalog.bytea) IS
'the key version an ai_guard ciphertext names, or NULL if the value is not one (reads the header only)';

/* ---- transparent column encryption ---- */

CREATE FUNCTION @extschema@.encrypt_column_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_encrypt_column_trigger'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.encrypt_column_trigger() IS
'trigger of encrypt_column(): encrypts new and updated values, keeps values already sealed for the column';

CREATE FUNCTION @extschema@.encrypt_column(rel pg_catalog.regclass,
	column_name pg_catalog.name, key_name pg_catalog.text,
	context pg_catalog.text DEFAULT NULL, row_column pg_catalog.name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_encrypt_column'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.encrypt_column(pg_catalog.regclass, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.name) IS
'turns a text, varchar or bytea column into bytea ciphertext under a key (table owner with the encrypt grant); the context defaults to schema.table.column, and with row_column (a NOT NULL column) each value is also bound to its row';

CREATE FUNCTION @extschema@.reencrypt(rel pg_catalog.regclass,
	column_name pg_catalog.name, batch_size pg_catalog.int4 DEFAULT 1000,
	max_batches pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_reencrypt'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.reencrypt(pg_catalog.regclass, pg_catalog.name, pg_catalog.int4, pg_catalog.int4) IS
'moves an encrypted column to its key''s newest version, batch_size rows at a time (skipping locked rows), at most max_batches batches; returns rows moved';

CREATE PROCEDURE @extschema@.reencrypt_in_batches(rel pg_catalog.regclass,
	column_name pg_catalog.name, batch_size pg_catalog.int4 DEFAULT 1000)
LANGUAGE plpgsql
AS $$
DECLARE
	moved pg_catalog.int8;
BEGIN
	LOOP
		moved := @extschema@.reencrypt(rel, column_name, batch_size, 1);
		EXIT WHEN moved = 0;
		COMMIT;
	END LOOP;
END;
$$;
COMMENT ON PROCEDURE @extschema@.reencrypt_in_batches(pg_catalog.regclass, pg_catalog.name, pg_catalog.int4) IS
'online re-encryption: calls reencrypt() one batch at a time and commits after each batch (CALL it outside a transaction block)';

/* dropping an encrypted table or column forgets it in encrypted_columns */
CREATE FUNCTION @extschema@.encrypted_columns_dropped()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.encrypted_columns c
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) c.rel::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0 OR
	        c.column_name OPERATOR(pg_catalog.=) d.address_names[3]::pg_catalog.name);
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.encrypted_columns_dropped() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.encrypted_columns_dropped() IS
'event trigger: removes dropped tables and columns from encrypted_columns';
CREATE EVENT TRIGGER ai_guard_encrypted_columns_dropped ON sql_drop
	EXECUTE FUNCTION @extschema@.encrypted_columns_dropped();

/* ---- keyed pseudonyms ---- */

CREATE FUNCTION @extschema@.pseudonymize(value pg_catalog.text, key_name pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_pseudonymize'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.pseudonymize(pg_catalog.text, pg_catalog.text) IS
'keyed HMAC-SHA-256 pseudonym (32 hex digits) with an hmac-sha256 key (needs the pseudonymize grant); stable within a purpose class, different across classes unless the key is linkable';
