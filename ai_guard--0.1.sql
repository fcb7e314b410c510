-- ai_guard install script, assembled by the Makefile from the fragments in src/sql

\echo Use "CREATE EXTENSION ai_guard" to load this file. \quit

/*
 * Loading the library runs _PG_init, which raises an error unless the library
 * is in shared_preload_libraries: CREATE EXTENSION then fails as a whole.
 */
CREATE FUNCTION @extschema@.version()
RETURNS text
AS 'MODULE_PATHNAME', 'ai_guard_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.version() IS
'version of the loaded ai_guard library';

/*
 * Every role may use the schema: masking functions run as the reader of a
 * masked view, and the privileged functions check their caller in C. Each
 * table and privileged function is closed to PUBLIC on its own.
 */
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

/*
 * governed_relations: the one list of relations whose reads are governed
 * (audited, purpose-checked). Each capability adds its relations with its own
 * reason: govern() with 'govern', track() with 'track', create_masked_view()
 * with 'masked_view'. A relation stays governed while any reason remains.
 * regclass values are dumped by name, so the list survives pg_dump/restore.
 */
CREATE TABLE @extschema@.governed_relations (
	rel         pg_catalog.regclass NOT NULL,
	reason      pg_catalog.text NOT NULL
	            CHECK (reason IN ('govern', 'track', 'masked_view')),
	added_by    pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	added_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (rel, reason)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.governed_relations', '');
REVOKE ALL ON @extschema@.governed_relations FROM PUBLIC;

COMMENT ON TABLE @extschema@.governed_relations IS
'relations whose reads ai_guard governs, and why';

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

/*
 * ---- PII masking, detection, classification, masked views (masking_sql.c) ----
 */

/* USAGE on the schema is granted to PUBLIC in 05_catalog.sql. */

/* the key of noise(): 32 random bytes, readable by no ordinary role */
CREATE FUNCTION @extschema@._new_masking_secret()
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'ai_guard_new_masking_secret'
LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION @extschema@._new_masking_secret() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._new_masking_secret() IS
'internal: fresh random key material for the masking secret';

CREATE TABLE @extschema@.masking_secret (
	secret      pg_catalog.bytea NOT NULL
	            CHECK (pg_catalog.length(secret) = 32)
);
REVOKE ALL ON @extschema@.masking_secret FROM PUBLIC;
INSERT INTO @extschema@.masking_secret
	SELECT @extschema@._new_masking_secret();
COMMENT ON TABLE @extschema@.masking_secret IS
'key of noise(); not dumped on purpose (a restored database gets a new key)';

/* masked views made by create_masked_view, rebuilt when their table changes */
CREATE TABLE @extschema@.masked_views (
	view            pg_catalog.regclass PRIMARY KEY,
	base            pg_catalog.regclass NOT NULL,
	created_by      pg_catalog.name NOT NULL,
	dropped_schema  pg_catalog.name,
	dropped_name    pg_catalog.name,
	dropped_owner   pg_catalog.name
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.masked_views', '');
REVOKE ALL ON @extschema@.masked_views FROM PUBLIC;
GRANT SELECT ON @extschema@.masked_views TO PUBLIC;
COMMENT ON TABLE @extschema@.masked_views IS
'masked views and their base tables (kept up to date by event triggers)';

/* roles given masked access: granted SELECT on every masked view */
CREATE TABLE @extschema@.masked_access (
	role        pg_catalog.regrole PRIMARY KEY
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.masked_access', '');
REVOKE ALL ON @extschema@.masked_access FROM PUBLIC;
GRANT SELECT ON @extschema@.masked_access TO PUBLIC;
COMMENT ON TABLE @extschema@.masked_access IS
'roles that read masked views instead of base tables';

CREATE FUNCTION @extschema@.mask_email(value pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_mask_email'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mask_email(pg_catalog.text) IS
'e-mail address with the local part masked and the domain kept: a***@example.com';

CREATE FUNCTION @extschema@.mask_phone(value pg_catalog.text,
	keep_last pg_catalog.int4 DEFAULT 2)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_mask_phone'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mask_phone(pg_catalog.text, pg_catalog.int4) IS
'phone number with every digit but the last keep_last (default 2) replaced by X';

CREATE FUNCTION @extschema@.mask_card(value pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_mask_card'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mask_card(pg_catalog.text) IS
'payment card number with every digit but the last four replaced by X';

CREATE FUNCTION @extschema@.mask_iban(value pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_mask_iban'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mask_iban(pg_catalog.text) IS
'IBAN with the country code and the last four characters kept, the rest X';

CREATE FUNCTION @extschema@.partial(value pg_catalog.text,
	keep_prefix pg_catalog.int4, pad pg_catalog.text, keep_suffix pg_catalog.int4)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_partial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.partial(pg_catalog.text, pg_catalog.int4, pg_catalog.text, pg_catalog.int4) IS
'first keep_prefix and last keep_suffix characters around pad; only pad if they would show the whole value';

CREATE FUNCTION @extschema@.generalize(value pg_catalog.date, unit pg_catalog.text)
RETURNS pg_catalog.date
AS 'MODULE_PATHNAME', 'ai_guard_generalize_date'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.generalize(pg_catalog.date, pg_catalog.text) IS
'date truncated to its year, month or decade';

CREATE FUNCTION @extschema@.generalize(value pg_catalog.timestamp, unit pg_catalog.text)
RETURNS pg_catalog.timestamp
AS 'MODULE_PATHNAME', 'ai_guard_generalize_ts'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.generalize(pg_catalog.timestamp, pg_catalog.text) IS
'timestamp truncated to its year, month or decade';

CREATE FUNCTION @extschema@.generalize(value pg_catalog.timestamptz, unit pg_catalog.text)
RETURNS pg_catalog.timestamptz
AS 'MODULE_PATHNAME', 'ai_guard_generalize_tstz'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.generalize(pg_catalog.timestamptz, pg_catalog.text) IS
'timestamp with time zone truncated to its year, month or decade (in the session time zone)';

CREATE FUNCTION @extschema@.generalize(value pg_catalog.numeric, bucket pg_catalog.numeric)
RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'ai_guard_generalize_numeric'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.generalize(pg_catalog.numeric, pg_catalog.numeric) IS
'lower bound of the bucket of width bucket that holds value: floor(value / bucket) * bucket';

CREATE FUNCTION @extschema@.noise(value pg_catalog.float8, ratio pg_catalog.float8)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'ai_guard_noise'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.noise(pg_catalog.float8, pg_catalog.float8) IS
'value times (1 + ratio * u), u in [-1, 1) keyed by a server secret, the value and the purpose class: the same every time within a purpose';

CREATE FUNCTION @extschema@.detect_pii(value pg_catalog.text,
	OUT kind pg_catalog.text, OUT start pg_catalog.int4, OUT length pg_catalog.int4)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ai_guard_detect_pii'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2;
COMMENT ON FUNCTION @extschema@.detect_pii(pg_catalog.text) IS
'PII and secrets found in free text: kind, start (in characters, 1-based, as substr) and length (in characters)';

CREATE FUNCTION @extschema@.redact_pii(value pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_redact_pii'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.redact_pii(pg_catalog.text) IS
'free text with each finding of detect_pii replaced by its tag: [EMAIL], [PHONE], [CARD], ...';

CREATE FUNCTION @extschema@.scan_table(rel pg_catalog.regclass,
	sample_rows pg_catalog.int4 DEFAULT 1000,
	OUT column_name pg_catalog.name, OUT suggested_label pg_catalog.text,
	OUT basis pg_catalog.text, OUT hit_ratio pg_catalog.float8,
	OUT sampled pg_catalog.int8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ai_guard_scan_table'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.scan_table(pg_catalog.regclass, pg_catalog.int4) IS
'suggested classification of each column from its name and a sample of its values, with the share of sampled values that matched';

CREATE FUNCTION @extschema@.apply_classification(rel pg_catalog.regclass,
	sample_rows pg_catalog.int4 DEFAULT 1000,
	OUT column_name pg_catalog.name, OUT label pg_catalog.text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ai_guard_apply_classification'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.apply_classification(pg_catalog.regclass, pg_catalog.int4) IS
'writes the suggestions of scan_table as ai_guard security labels on columns that have none; returns what it wrote';

CREATE FUNCTION @extschema@.create_masked_view(rel pg_catalog.regclass,
	view_schema pg_catalog.name)
RETURNS pg_catalog.regclass
AS 'MODULE_PATHNAME', 'ai_guard_create_masked_view'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.create_masked_view(pg_catalog.regclass, pg_catalog.name) IS
'creates (or rebuilds) view_schema.<table>, a security_barrier view that applies each column''s mask and leaves out unclassified columns';

CREATE FUNCTION @extschema@.grant_masked_access(role pg_catalog.regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_grant_masked_access'
LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION @extschema@.grant_masked_access(pg_catalog.regrole) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_masked_access(pg_catalog.regrole) IS
'lets role read every masked view (now and later) and revokes its direct privileges on their base tables';

CREATE FUNCTION @extschema@.revoke_masked_access(role pg_catalog.regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_revoke_masked_access'
LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION @extschema@.revoke_masked_access(pg_catalog.regrole) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.revoke_masked_access(pg_catalog.regrole) IS
'takes back what grant_masked_access gave';

CREATE FUNCTION @extschema@._masking_ddl_start()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'ai_guard_masking_ddl_start'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@._masking_ddl_start() IS
'internal: drops masked views that would block ALTER TABLE, notes tables to rebuild';

CREATE FUNCTION @extschema@._masking_ddl_end()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'ai_guard_masking_ddl_end'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@._masking_ddl_end() IS
'internal: rebuilds the masked views of tables whose columns or labels changed';

CREATE FUNCTION @extschema@._masking_sql_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'ai_guard_masking_sql_drop'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@._masking_sql_drop() IS
'internal: forgets dropped masked views';

CREATE EVENT TRIGGER ai_guard_masking_ddl_start ON ddl_command_start
	WHEN TAG IN ('ALTER TABLE', 'ALTER FOREIGN TABLE')
	EXECUTE FUNCTION @extschema@._masking_ddl_start();
CREATE EVENT TRIGGER ai_guard_masking_ddl_end ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'ALTER FOREIGN TABLE', 'SECURITY LABEL')
	EXECUTE FUNCTION @extschema@._masking_ddl_end();
CREATE EVENT TRIGGER ai_guard_masking_sql_drop ON sql_drop
	EXECUTE FUNCTION @extschema@._masking_sql_drop();

/*---------------------------------------------------------------------------
 * Provenance: row-level tags, ingest batches, consent and quarantine
 * (src/provenance.c, docs/provenance.md)
 *
 * A tracked table carries six extra columns, stamped by a C trigger:
 *   ai_guard_row_id      bigint       stable row id (ai_guard.row_id_seq)
 *   ai_guard_batch       bigint       the ingest batch (ai_guard.batches)
 *   ai_guard_ingested_at timestamptz  when the row was written
 *   ai_guard_digest      bytea        SHA-256 of the row's data columns
 *   ai_guard_updated_by  text         who last updated the row (NULL if never)
 *   ai_guard_updated_at  timestamptz  when
 * Source, license, consent and the ingesting role live once per batch.
 *---------------------------------------------------------------------------
 */

CREATE SEQUENCE @extschema@.row_id_seq CACHE 100;
CREATE SEQUENCE @extschema@.batch_id_seq;
CREATE SEQUENCE @extschema@.quarantine_id_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.row_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.quarantine_id_seq', '');

/* the purpose classes a data subject can consent to */
CREATE TABLE @extschema@.consent_classes (
	class       pg_catalog.text PRIMARY KEY
	            CHECK (class ~ '^[a-z0-9_-]{1,63}$'),
	description pg_catalog.text NOT NULL
);
INSERT INTO @extschema@.consent_classes VALUES
	('training', 'training machine-learning models'),
	('evaluation', 'evaluating and testing models'),
	('analytics', 'aggregate reporting and analytics'),
	('research', 'research not aimed at a product');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent_classes',
	$$WHERE class NOT IN ('training', 'evaluation', 'analytics', 'research')$$);
GRANT SELECT ON @extschema@.consent_classes TO PUBLIC;
COMMENT ON TABLE @extschema@.consent_classes IS
'purpose classes that consent lists and ai_guard.purpose name';

CREATE TABLE @extschema@.batches (
	batch_id     pg_catalog.int8 PRIMARY KEY,
	kind         pg_catalog.text NOT NULL
	             CHECK (kind IN ('ingest', 'backfill', 'implicit', 'derived')),
	source       pg_catalog.text NOT NULL,
	license      pg_catalog.text NOT NULL,
	consent      pg_catalog.text[] NOT NULL,
	ingested_by  pg_catalog.text NOT NULL,
	started_at   pg_catalog.timestamptz NOT NULL,
	ended_at     pg_catalog.timestamptz,
	row_count    pg_catalog.int8 NOT NULL DEFAULT 0,
	derived_from pg_catalog.int8[]
);
CREATE INDEX ON @extschema@.batches (source);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.batches', '');
REVOKE ALL ON @extschema@.batches FROM PUBLIC;
COMMENT ON TABLE @extschema@.batches IS
'ingest batches: where rows of tracked tables came from, under which license and consent, who wrote them and how many';

/* which batches wrote rows into which relation (for derived tags) */
CREATE TABLE @extschema@.relation_batches (
	rel      pg_catalog.regclass NOT NULL,
	batch_id pg_catalog.int8 NOT NULL,
	PRIMARY KEY (rel, batch_id)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.relation_batches', '');
REVOKE ALL ON @extschema@.relation_batches FROM PUBLIC;
COMMENT ON TABLE @extschema@.relation_batches IS
'batches that have written rows into each tracked relation';

CREATE TABLE @extschema@.tracked_relations (
	rel             pg_catalog.regclass PRIMARY KEY,
	root            pg_catalog.regclass NOT NULL,
	row_id_column   pg_catalog.name NOT NULL DEFAULT 'ai_guard_row_id',
	batch_column    pg_catalog.name NOT NULL DEFAULT 'ai_guard_batch',
	digest_column   pg_catalog.name NOT NULL DEFAULT 'ai_guard_digest',
	rls_was_enabled pg_catalog.bool NOT NULL,
	tracked_by      pg_catalog.text NOT NULL,
	tracked_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tracked_relations', '');
GRANT SELECT ON @extschema@.tracked_relations TO PUBLIC;
COMMENT ON TABLE @extschema@.tracked_relations IS
'tracked tables (a partitioned or inheritance tree has one row per member, all with the same root) and the columns holding their tags';

CREATE TABLE @extschema@.quarantines (
	quarantine_id pg_catalog.int8 PRIMARY KEY,
	source        pg_catalog.text,
	batch_id      pg_catalog.int8,
	reason        pg_catalog.text NOT NULL,
	created_by    pg_catalog.text NOT NULL,
	created_at    pg_catalog.timestamptz NOT NULL,
	released_by   pg_catalog.text,
	released_at   pg_catalog.timestamptz,
	release_note  pg_catalog.text,
	CHECK ((source IS NULL) <> (batch_id IS NULL))
);
CREATE INDEX ON @extschema@.quarantines (batch_id) WHERE released_at IS NULL;
CREATE INDEX ON @extschema@.quarantines (source) WHERE released_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.quarantines', '');
REVOKE ALL ON @extschema@.quarantines FROM PUBLIC;
COMMENT ON TABLE @extschema@.quarantines IS
'quarantines of sources and batches: rows of a quarantined batch are hidden from governed reads until released';

/* roles allowed to write provenance columns directly (replays, migrations) */
CREATE TABLE @extschema@.tag_writers (
	role       pg_catalog.regrole PRIMARY KEY,
	granted_by pg_catalog.text NOT NULL,
	granted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tag_writers', '');
REVOKE ALL ON @extschema@.tag_writers FROM PUBLIC;
COMMENT ON TABLE @extschema@.tag_writers IS
'roles whose explicit values for the provenance columns are kept instead of overwritten';

CREATE TYPE @extschema@.row_tags AS (
	row_id      pg_catalog.int8,
	source      pg_catalog.text,
	license     pg_catalog.text,
	consent     pg_catalog.text[],
	batch_id    pg_catalog.int8,
	ingested_at pg_catalog.timestamptz,
	digest      pg_catalog.bytea,
	ingested_by pg_catalog.text,
	updated_by  pg_catalog.text,
	updated_at  pg_catalog.timestamptz
);
COMMENT ON TYPE @extschema@.row_tags IS 'the provenance tags of one row';

GRANT USAGE ON SEQUENCE @extschema@.row_id_seq TO PUBLIC;

/*---- functions ----*/

CREATE FUNCTION @extschema@.track(rel pg_catalog.regclass)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_track'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.track(pg_catalog.regclass) IS
'makes a table (with its partitions or inheritance children) tracked: adds the provenance columns, backfills existing rows with source ''unknown'', installs the stamping trigger and the consent policy; returns the backfill batch id';

CREATE FUNCTION @extschema@.untrack(rel pg_catalog.regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_untrack'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.untrack(pg_catalog.regclass) IS
'stops tracking a table: drops the provenance columns, trigger and policies (refused while it holds quarantined rows)';

CREATE FUNCTION @extschema@.begin_ingest(source pg_catalog.text,
	license pg_catalog.text, consent pg_catalog.text[])
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_begin_ingest'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.begin_ingest(pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'opens this session''s ingest context: rows written into tracked tables until end_ingest() belong to the returned batch';

CREATE FUNCTION @extschema@.end_ingest()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_end_ingest'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.end_ingest() IS
'closes this session''s ingest context; returns the batch''s row count';

CREATE FUNCTION @extschema@.current_batch()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_current_batch'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.current_batch() IS
'the batch id of this session''s open ingest context, or NULL';

CREATE FUNCTION @extschema@._stamp()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_stamp'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@._stamp() IS
'BEFORE INSERT OR UPDATE row trigger of tracked tables: writes the provenance columns';

CREATE FUNCTION @extschema@._count()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_count'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@._count() IS
'AFTER INSERT statement trigger of tracked tables: adds the rows just written to their batches'' row counts';

CREATE FUNCTION @extschema@.row_digest(pg_catalog.record)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'ai_guard_row_digest'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.row_digest(pg_catalog.record) IS
'SHA-256 content digest of a row''s data columns in ai_guard''s canonical form (provenance columns excluded)';

CREATE FUNCTION @extschema@.tags(pg_catalog.record)
RETURNS @extschema@.row_tags
AS 'MODULE_PATHNAME', 'ai_guard_tags'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION @extschema@.tags(pg_catalog.record) IS
'the provenance tags of a row of a tracked table, as in SELECT (ai_guard.tags(t)).source FROM t';

CREATE FUNCTION @extschema@.row_visible(batch_id pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_row_visible'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.row_visible(pg_catalog.int8) IS
'the consent policy of tracked tables: true if the batch''s consent includes the class of ai_guard.purpose and the batch is not quarantined';

CREATE FUNCTION @extschema@.verify_rows(rel pg_catalog.regclass,
	OUT rel pg_catalog.regclass, OUT row_id pg_catalog.int8,
	OUT row_ctid pg_catalog.tid, OUT stored_digest pg_catalog.bytea,
	OUT actual_digest pg_catalog.bytea)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ai_guard_verify_rows'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.verify_rows(pg_catalog.regclass) IS
'rows of a tracked table (and its partitions or children) whose content no longer matches their digest';

CREATE FUNCTION @extschema@.quarantine(source pg_catalog.text, reason pg_catalog.text)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_quarantine_source'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.quarantine(pg_catalog.text, pg_catalog.text) IS
'hides every row from this source (present and future batches) from governed reads; returns the quarantine id';

CREATE FUNCTION @extschema@.quarantine_batch(batch_id pg_catalog.int8, reason pg_catalog.text)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_quarantine_batch'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.quarantine_batch(pg_catalog.int8, pg_catalog.text) IS
'hides the rows of one batch (and of batches derived from it) from governed reads; returns the quarantine id';

CREATE FUNCTION @extschema@.release(quarantine_id pg_catalog.int8,
	note pg_catalog.text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_release'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.release(pg_catalog.int8, pg_catalog.text) IS
'ends a quarantine: its rows are visible to governed reads again';

CREATE FUNCTION @extschema@.grant_tag_write(role pg_catalog.regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_grant_tag_write'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.grant_tag_write(pg_catalog.regrole) IS
'lets a role write the provenance columns directly (replays, migrations); superuser only';

CREATE FUNCTION @extschema@.revoke_tag_write(role pg_catalog.regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_revoke_tag_write'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.revoke_tag_write(pg_catalog.regrole) IS
'withdraws grant_tag_write; superuser only';

REVOKE ALL ON FUNCTION @extschema@.quarantine(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.quarantine_batch(pg_catalog.int8, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.release(pg_catalog.int8, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.grant_tag_write(pg_catalog.regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.revoke_tag_write(pg_catalog.regrole) FROM PUBLIC;

/* compliance reads the batch and quarantine catalogs through these views */
CREATE VIEW @extschema@.batch_summary AS
SELECT b.batch_id, b.kind, b.source, b.license, b.consent, b.ingested_by,
       b.started_at, b.ended_at, b.row_count, b.derived_from,
       EXISTS (SELECT 1 FROM @extschema@.quarantines q
                WHERE q.released_at IS NULL
                  AND (q.batch_id = b.batch_id OR q.source = b.source
                       OR q.batch_id = ANY (b.derived_from))) AS quarantined
  FROM @extschema@.batches b;
REVOKE ALL ON @extschema@.batch_summary FROM PUBLIC;
COMMENT ON VIEW @extschema@.batch_summary IS
'batches with their current quarantine state';

/*
 * Dropping a tracked table removes its catalog rows: a dangling regclass in a
 * dumped extension table would make pg_restore fail.
 */
CREATE FUNCTION @extschema@._provenance_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	dropped pg_catalog.oid[];
BEGIN
	SELECT pg_catalog.array_agg(d.objid) INTO dropped
	  FROM pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid OPERATOR(pg_catalog.=) 0;
	IF dropped IS NULL THEN
		RETURN;
	END IF;
	DELETE FROM @extschema@.relation_batches
	 WHERE rel::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
	DELETE FROM @extschema@.governed_relations
	 WHERE reason OPERATOR(pg_catalog.=) 'track'
	   AND rel::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
	DELETE FROM @extschema@.tracked_relations
	 WHERE rel::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
END
$$;
REVOKE ALL ON FUNCTION @extschema@._provenance_sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._provenance_sql_drop() IS
'sql_drop event trigger: forgets tracked tables that are dropped';
CREATE EVENT TRIGGER ai_guard_provenance_sql_drop ON sql_drop
	EXECUTE FUNCTION @extschema@._provenance_sql_drop();
/*
 * The training-pull audit (src/audit_hook.c, src/audit_writer.c): one record
 * per governed read, written by a background worker in its own transaction
 * and flushed before the first governed row reaches the client, hash-chained.
 */



/*---- purposes ----*/

CREATE TABLE @extschema@.purpose_grants (
	role        pg_catalog.name NOT NULL,
	purpose     pg_catalog.text NOT NULL,
	valid_until pg_catalog.timestamptz,
	granted_by  pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	granted_at  pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (role, purpose)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.purpose_grants', '');
REVOKE ALL ON @extschema@.purpose_grants FROM PUBLIC;
COMMENT ON TABLE @extschema@.purpose_grants IS
'purposes (a class such as training, or a full purpose such as training:churn-v3) granted to roles for reading governed data';

CREATE FUNCTION @extschema@.grant_purpose(role pg_catalog.regrole,
	purpose pg_catalog.text,
	valid_until pg_catalog.timestamptz DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_grant_purpose'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.grant_purpose(pg_catalog.regrole, pg_catalog.text, pg_catalog.timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_purpose(pg_catalog.regrole, pg_catalog.text, pg_catalog.timestamptz) IS
'allows a role (and its members) to read governed data for a purpose class or a full purpose, until valid_until (NULL: no end)';

CREATE FUNCTION @extschema@.revoke_purpose(role pg_catalog.regrole,
	purpose pg_catalog.text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ai_guard_revoke_purpose'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.revoke_purpose(pg_catalog.regrole, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.revoke_purpose(pg_catalog.regrole, pg_catalog.text) IS
'withdraws a purpose grant; returns false if there was none';

/*---- governing relations ----*/

CREATE FUNCTION @extschema@.govern(rel pg_catalog.regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_govern'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.govern(pg_catalog.regclass) IS
'marks a table, partitioned table, view, materialized view or foreign table governed: its reads need a purpose and are audited (owner or superuser)';

CREATE FUNCTION @extschema@.ungovern(rel pg_catalog.regclass)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ai_guard_ungovern'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ungovern(pg_catalog.regclass) IS
'removes the govern() mark of a relation (other reasons such as tracking stay); returns false if it had none';

-- every change of governed_relations resets the per-backend caches
CREATE FUNCTION @extschema@._governed_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_governed_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._governed_changed() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._governed_changed() IS
'internal: trigger that invalidates the cached set of governed relations in every backend';

CREATE TRIGGER governed_relations_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.governed_relations
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._governed_changed();
ALTER TABLE @extschema@.governed_relations ENABLE ALWAYS TRIGGER governed_relations_changed;

-- dropped relations leave the list, so that no dangling oid breaks a dump
CREATE FUNCTION @extschema@._on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.governed_relations g
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid = 0
	   AND g.rel::pg_catalog.oid = d.objid;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@._on_sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._on_sql_drop() IS
'internal: event trigger that forgets governed relations when they are dropped';

CREATE EVENT TRIGGER ai_guard_sql_drop ON sql_drop
	EXECUTE FUNCTION @extschema@._on_sql_drop();

/*---- the audit records ----*/

CREATE SEQUENCE @extschema@.pulls_pull_id_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pulls_pull_id_seq', '');
REVOKE ALL ON SEQUENCE @extschema@.pulls_pull_id_seq FROM PUBLIC;

CREATE TABLE @extschema@.pulls (
	pull_id           pg_catalog.int8 PRIMARY KEY
	                  DEFAULT pg_catalog.nextval('@extschema@.pulls_pull_id_seq'),
	status            pg_catalog.text NOT NULL
	                  CHECK (status IN ('started', 'completed', 'failed', 'refused')),
	kind              pg_catalog.text NOT NULL
	                  CHECK (kind IN ('read', 'copy', 'derivation')),
	started_at        pg_catalog.timestamptz NOT NULL,
	ended_at          pg_catalog.timestamptz,
	session_role      pg_catalog.name NOT NULL,
	"current_role"    pg_catalog.name NOT NULL,
	client_addr       pg_catalog.inet,
	application_name  pg_catalog.text,
	backend_pid       pg_catalog.int4 NOT NULL,
	database          pg_catalog.name NOT NULL,
	purpose           pg_catalog.text,
	query             pg_catalog.text,
	client_query      pg_catalog.text,
	query_id          pg_catalog.int8,
	nesting_level     pg_catalog.int4 NOT NULL,
	param_count       pg_catalog.int4 NOT NULL,
	param_types       pg_catalog.text[],
	relations         pg_catalog.text[] NOT NULL,
	columns_returned  pg_catalog.text[],
	columns_filtered  pg_catalog.text[],
	columns_pii       pg_catalog.text[],
	columns_encrypted pg_catalog.text[],
	masks             pg_catalog.text[],
	target            pg_catalog.text,
	rows              pg_catalog.int8,
	bytes             pg_catalog.int8,
	digest            pg_catalog.text,
	snapshot_xmin     pg_catalog.int8,
	snapshot_xmax     pg_catalog.int8,
	snapshot_xip      pg_catalog.int8[],
	detail            pg_catalog.text,
	prev_hash         pg_catalog.text,
	record_hash       pg_catalog.text
);
CREATE INDEX ON @extschema@.pulls (started_at);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pulls', '');
REVOKE ALL ON @extschema@.pulls FROM PUBLIC;
COMMENT ON TABLE @extschema@.pulls IS
'one record per governed read (the training-pull audit); written only by the ai_guard audit writer';

-- the chain: one entry per write of a pull record, each hashing the previous
CREATE TABLE @extschema@.audit_log (
	seq          pg_catalog.int8 PRIMARY KEY,
	pull_id      pg_catalog.int8 NOT NULL,
	event        pg_catalog.text NOT NULL,
	content_hash pg_catalog.text NOT NULL,
	prev_hash    pg_catalog.text NOT NULL,
	record_hash  pg_catalog.text NOT NULL
);
CREATE INDEX ON @extschema@.audit_log (pull_id, seq);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log', '');
REVOKE ALL ON @extschema@.audit_log FROM PUBLIC;
COMMENT ON TABLE @extschema@.audit_log IS
'hash chain over every write of ai_guard.pulls, in order; checked by verify_audit()';

CREATE TABLE @extschema@.audit_state (
	singleton  pg_catalog.bool PRIMARY KEY DEFAULT true CHECK (singleton),
	seq        pg_catalog.int8 NOT NULL,
	head       pg_catalog.text NOT NULL,
	updated_at pg_catalog.timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_state', '');
REVOKE ALL ON @extschema@.audit_state FROM PUBLIC;
COMMENT ON TABLE @extschema@.audit_state IS
'the head of the audit chain: the last sequence number and hash';

-- nobody but the writer changes the audit tables, not even their owner
CREATE FUNCTION @extschema@._audit_protect()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_audit_protect'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._audit_protect() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._audit_protect() IS
'internal: trigger that refuses every change of the audit tables not made by the ai_guard audit writer';

CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pulls
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.pulls
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.audit_log
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.audit_state
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.audit_state
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
ALTER TABLE @extschema@.pulls ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.pulls ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE @extschema@.audit_log ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.audit_log ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE @extschema@.audit_state ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.audit_state ENABLE ALWAYS TRIGGER protect_truncate;

CREATE FUNCTION @extschema@._record_hash(prev pg_catalog.text, fields pg_catalog.text[])
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_record_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._record_hash(pg_catalog.text, pg_catalog.text[]) IS
'internal: the chain hash of a record, SHA-256 over the previous hash and the length-framed fields (hex)';

-- the canonical form of a pull record: every column but the chain columns,
-- formatted independently of session settings
CREATE FUNCTION @extschema@._pull_fields(p @extschema@.pulls)
RETURNS pg_catalog.text[]
LANGUAGE sql STABLE
AS $$
SELECT ARRAY[
	p.pull_id::text, p.status, p.kind,
	pg_catalog.to_char(pg_catalog.timezone('UTC', p.started_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	pg_catalog.to_char(pg_catalog.timezone('UTC', p.ended_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	p.session_role::text, p."current_role"::text, p.client_addr::text,
	p.application_name, p.backend_pid::text, p.database::text, p.purpose,
	p.query, p.client_query, p.query_id::text, p.nesting_level::text,
	p.param_count::text, p.param_types::text, p.relations::text,
	p.columns_returned::text, p.columns_filtered::text, p.columns_pii::text,
	p.columns_encrypted::text, p.masks::text, p.target, p.rows::text,
	p.bytes::text, p.digest, p.snapshot_xmin::text, p.snapshot_xmax::text,
	p.snapshot_xip::text, p.detail]
$$;
REVOKE ALL ON FUNCTION @extschema@._pull_fields(@extschema@.pulls) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._pull_fields(@extschema@.pulls) IS
'internal: the canonical fields of a pull record that the chain hashes';

CREATE FUNCTION @extschema@.verify_audit(
	OUT intact pg_catalog.bool, OUT records pg_catalog.int8,
	OUT broken_seq pg_catalog.int8, OUT broken_pull_id pg_catalog.int8,
	OUT problem pg_catalog.text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r      record;
	v_prev text := '';
	v_seq  int8 := 0;
	v_ch   text;
	st     record;
BEGIN
	intact := false;
	records := 0;
	-- 1. the chain itself: consecutive, linked, each hash recomputes
	FOR r IN SELECT * FROM @extschema@.audit_log ORDER BY seq LOOP
		IF r.seq <> v_seq + 1 THEN
			broken_seq := v_seq + 1;
			problem := format('chain entry %s is missing (next present is %s)', v_seq + 1, r.seq);
			RETURN;
		END IF;
		IF r.prev_hash <> v_prev THEN
			broken_seq := r.seq; broken_pull_id := r.pull_id;
			problem := format('chain entry %s does not link to the previous entry', r.seq);
			RETURN;
		END IF;
		IF r.record_hash IS DISTINCT FROM @extschema@._record_hash(r.prev_hash,
				ARRAY[r.seq::text, r.pull_id::text, r.event, r.content_hash]) THEN
			broken_seq := r.seq; broken_pull_id := r.pull_id;
			problem := format('chain entry %s was altered', r.seq);
			RETURN;
		END IF;
		v_prev := r.record_hash;
		v_seq := r.seq;
	END LOOP;
	records := v_seq;
	-- 2. the head: a truncated tail is noticed
	SELECT * INTO st FROM @extschema@.audit_state;
	IF FOUND AND (st.seq <> v_seq OR st.head <> v_prev) THEN
		broken_seq := v_seq + 1;
		problem := format('the chain ends at entry %s but its recorded head is entry %s', v_seq, st.seq);
		RETURN;
	ELSIF NOT FOUND AND v_seq > 0 THEN
		problem := 'the chain head record is missing';
		RETURN;
	END IF;
	-- 3. every record equals what its latest chain entry hashed
	FOR r IN
		SELECT p.pull_id, p.record_hash AS p_hash, l.seq, l.record_hash AS l_hash,
		       l.content_hash,
		       @extschema@._record_hash('', @extschema@._pull_fields(p)) AS now_hash
		  FROM @extschema@.pulls p
		  LEFT JOIN LATERAL (SELECT * FROM @extschema@.audit_log a
		                      WHERE a.pull_id = p.pull_id
		                      ORDER BY a.seq DESC LIMIT 1) l ON true
		 ORDER BY p.pull_id
	LOOP
		IF r.seq IS NULL THEN
			broken_pull_id := r.pull_id;
			problem := format('pull %s has no chain entry', r.pull_id);
			RETURN;
		END IF;
		IF r.content_hash <> r.now_hash OR r.p_hash IS DISTINCT FROM r.l_hash THEN
			broken_seq := r.seq; broken_pull_id := r.pull_id;
			problem := format('pull %s was altered after chain entry %s', r.pull_id, r.seq);
			RETURN;
		END IF;
	END LOOP;
	-- 4. no record was deleted
	SELECT a.seq, a.pull_id INTO r FROM @extschema@.audit_log a
	 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.pulls p WHERE p.pull_id = a.pull_id)
	 ORDER BY a.seq LIMIT 1;
	IF FOUND THEN
		broken_seq := r.seq; broken_pull_id := r.pull_id;
		problem := format('pull %s was deleted', r.pull_id);
		RETURN;
	END IF;
	intact := true;
END;
$$;
-- anyone may check the chain: it tells whether and where it broke, not what
-- the records hold (a pulled file's verification needs it)
GRANT EXECUTE ON FUNCTION @extschema@.verify_audit() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.verify_audit() IS
'checks the audit hash chain and every pull record against it; returns intact, the number of chain entries, and the first broken entry and problem';

CREATE FUNCTION @extschema@.audit_head(OUT seq pg_catalog.int8, OUT head pg_catalog.text,
	OUT updated_at pg_catalog.timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.seq, s.head, s.updated_at FROM @extschema@.audit_state s
	UNION ALL
	SELECT 0, '', NULL WHERE NOT EXISTS (SELECT 1 FROM @extschema@.audit_state)
$$;
GRANT EXECUTE ON FUNCTION @extschema@.audit_head() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_head() IS
'the current head of the audit chain (sequence number and hash), to anchor outside the database';

CREATE FUNCTION @extschema@.last_pull_id()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_last_pull_id'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.last_pull_id() IS
'the id of the latest governed read of this session (NULL if none)';

/*
 * One pull record, for the role that made the pull (its session role) or a
 * role that may read every record: how a data scientist's client fetches
 * the record of its own pull for a manifest without seeing anyone else's.
 */
CREATE FUNCTION @extschema@.pull(pull_id pg_catalog.int8)
RETURNS SETOF @extschema@.pulls
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.* FROM @extschema@.pulls p
	 WHERE p.pull_id OPERATOR(pg_catalog.=) $1
	   AND (p.session_role OPERATOR(pg_catalog.=) SESSION_USER
	        OR pg_catalog.has_table_privilege(SESSION_USER,
	                                          '@extschema@.pulls', 'SELECT'))
$$;
COMMENT ON FUNCTION @extschema@.pull(pg_catalog.int8) IS
'the record of one pull, if the caller made it or may read every record';

/*---- compliance views ----*/

CREATE VIEW @extschema@.pii_access AS
SELECT pg_catalog.date_trunc('day', p.started_at) AS day,
       p.session_role, p."current_role", p.purpose, c.col AS pii_column,
       pg_catalog.count(*) AS pulls,
       pg_catalog.sum(p.rows) AS rows,
       pg_catalog.min(p.started_at) AS first_at,
       pg_catalog.max(p.started_at) AS last_at
  FROM @extschema@.pulls p
 CROSS JOIN LATERAL pg_catalog.unnest(p.columns_pii) AS c(col)
 WHERE p.status IN ('started', 'completed', 'failed')
 GROUP BY 1, 2, 3, 4, 5;
REVOKE ALL ON @extschema@.pii_access FROM PUBLIC;
COMMENT ON VIEW @extschema@.pii_access IS
'reads of PII columns by day, role and purpose';

CREATE VIEW @extschema@.pulls_by_purpose AS
SELECT p.purpose, p.kind,
       pg_catalog.count(*) AS pulls,
       pg_catalog.count(*) FILTER (WHERE p.status = 'completed') AS completed,
       pg_catalog.count(*) FILTER (WHERE p.status = 'failed') AS failed,
       pg_catalog.count(*) FILTER (WHERE p.status = 'refused') AS refused,
       pg_catalog.sum(p.rows) AS rows,
       pg_catalog.sum(p.bytes) AS bytes,
       pg_catalog.count(DISTINCT p.session_role) AS roles,
       pg_catalog.min(p.started_at) AS first_at,
       pg_catalog.max(p.started_at) AS last_at
  FROM @extschema@.pulls p
 GROUP BY 1, 2;
REVOKE ALL ON @extschema@.pulls_by_purpose FROM PUBLIC;
COMMENT ON VIEW @extschema@.pulls_by_purpose IS
'governed reads per purpose and kind: counts by outcome, rows and bytes';

CREATE VIEW @extschema@.refused_reads AS
SELECT p.pull_id, p.started_at, p.session_role, p."current_role", p.client_addr,
       p.application_name, p.purpose, p.relations, p.query, p.detail
  FROM @extschema@.pulls p
 WHERE p.status = 'refused';
REVOKE ALL ON @extschema@.refused_reads FROM PUBLIC;
COMMENT ON VIEW @extschema@.refused_reads IS
'governed reads that ai_guard refused (no purpose, purpose not granted, audit unavailable)';

CREATE FUNCTION @extschema@.audit_flush()
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_audit_flush'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.audit_flush() IS
'waits until every audit record queued so far in this database, completions included, is committed';
