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

-- a relation that becomes governed keeps no raw values in its statistics
CREATE FUNCTION @extschema@._governed_added()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_governed_added'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._governed_added() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._governed_added() IS
'internal: trigger that removes the value statistics of the non-public columns of a relation that becomes governed';

CREATE TRIGGER governed_relations_added
	AFTER INSERT OR UPDATE ON @extschema@.governed_relations
	FOR EACH ROW EXECUTE FUNCTION @extschema@._governed_added();
ALTER TABLE @extschema@.governed_relations ENABLE ALWAYS TRIGGER governed_relations_added;

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
	record_hash       pg_catalog.text,
	rows_read         pg_catalog.jsonb
);
CREATE INDEX ON @extschema@.pulls (started_at);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pulls', '');
REVOKE ALL ON @extschema@.pulls FROM PUBLIC;
COMMENT ON TABLE @extschema@.pulls IS
'one record per governed read (the training-pull audit); written only by the ai_guard audit writer';
COMMENT ON COLUMN @extschema@.pulls.rows_read IS
'rows the statement examined per governed relation (a JSON object): rows its scans returned plus rows their conditions removed, at least the rows delivered';

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
	-- fields added later are hashed only when set: older records keep their hash
	|| CASE WHEN p.rows_read IS NULL THEN '{}'::pg_catalog.text[]
	        ELSE ARRAY[p.rows_read::text] END
$$;
REVOKE ALL ON FUNCTION @extschema@._pull_fields(@extschema@.pulls) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._pull_fields(@extschema@.pulls) IS
'internal: the canonical fields of a pull record that the chain hashes';

-- records left "started": a pull still running, or one cut off (its backend
-- is gone: a crash, a kill) that will never be completed
CREATE FUNCTION @extschema@.unfinished_pulls(
	OUT pull_id pg_catalog.int8, OUT started_at pg_catalog.timestamptz,
	OUT session_role pg_catalog.name, OUT "current_role" pg_catalog.name,
	OUT backend_pid pg_catalog.int4, OUT purpose pg_catalog.text,
	OUT relations pg_catalog.text[], OUT state pg_catalog.text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT p.pull_id, p.started_at, p.session_role, p."current_role", p.backend_pid,
       p.purpose, p.relations,
       CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(p.backend_pid) a
                          WHERE a.backend_start <= p.started_at)
            THEN 'in progress' ELSE 'cut off' END
  FROM @extschema@.pulls p
 WHERE p.status = 'started'
 ORDER BY p.pull_id
$$;
REVOKE ALL ON FUNCTION @extschema@.unfinished_pulls() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.unfinished_pulls() IS
'pull records still "started": in progress (their backend still runs) or cut off (their backend is gone, so they will never complete)';

CREATE FUNCTION @extschema@.verify_audit(
	OUT intact pg_catalog.bool, OUT records pg_catalog.int8,
	OUT broken_seq pg_catalog.int8, OUT broken_pull_id pg_catalog.int8,
	OUT problem pg_catalog.text, OUT in_progress pg_catalog.int8,
	OUT cut_off pg_catalog.int8)
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
	-- 0. pulls still "started": running now, or cut off and never to complete
	SELECT pg_catalog.count(*) FILTER (WHERE u.state = 'in progress'),
	       pg_catalog.count(*) FILTER (WHERE u.state = 'cut off')
	  INTO in_progress, cut_off
	  FROM @extschema@.unfinished_pulls() u;
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
		                        AND a.event NOT IN ('members', 'relation')
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
	-- 5. row membership equals what the chain hashed; none added or deleted
	SELECT m.pull_id INTO r FROM @extschema@.pull_members m
	 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.audit_log a
	                    WHERE a.pull_id = m.pull_id AND a.event = 'members'
	                      AND a.content_hash = @extschema@._record_hash('',
	                                             @extschema@._members_fields(m)))
	 LIMIT 1;
	IF NOT FOUND THEN
		SELECT x.pull_id INTO r FROM @extschema@.pull_relations x
		 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.audit_log a
		                    WHERE a.pull_id = x.pull_id AND a.event = 'relation'
		                      AND a.content_hash = @extschema@._record_hash('',
		                                             @extschema@._relation_fields(x)))
		 LIMIT 1;
	END IF;
	IF FOUND THEN
		broken_pull_id := r.pull_id;
		problem := format('the row membership of pull %s was altered', r.pull_id);
		RETURN;
	END IF;
	SELECT a.pull_id INTO r FROM @extschema@.audit_log a
	 WHERE a.event IN ('members', 'relation')
	 GROUP BY a.pull_id, a.event
	HAVING count(*) <> CASE a.event
	         WHEN 'members' THEN (SELECT count(*) FROM @extschema@.pull_members m
	                               WHERE m.pull_id = a.pull_id)
	         ELSE (SELECT count(*) FROM @extschema@.pull_relations x
	                WHERE x.pull_id = a.pull_id) END
	 LIMIT 1;
	IF FOUND THEN
		broken_pull_id := r.pull_id;
		problem := format('the row membership of pull %s was deleted', r.pull_id);
		RETURN;
	END IF;
	intact := true;
END;
$$;
-- anyone may check the chain: it tells whether and where it broke, not what
-- the records hold (a pulled file's verification needs it)
GRANT EXECUTE ON FUNCTION @extschema@.verify_audit() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.verify_audit() IS
'checks the audit hash chain and every pull record against it; returns intact, the number of chain entries, the first broken entry and problem, and how many pulls are still in progress or were cut off';

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
/*
 * Trusted functions (src/leak_policy.c): user-defined functions that the
 * platform team lets see the column values of governed reads.  Every other
 * function that is not built in, not ai_guard's and not LEAKPROOF is
 * refused there (ai_guard.refuse_untrusted_functions).
 */

CREATE TABLE @extschema@.trusted_functions (
	fn         pg_catalog.regprocedure PRIMARY KEY,
	trusted_by pg_catalog.name NOT NULL,
	trusted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	reason     pg_catalog.text,
	-- what the function did when it was trusted (language, body, settings):
	-- CREATE OR REPLACE with another body withdraws the trust
	fingerprint pg_catalog.text NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.trusted_functions', '');
REVOKE ALL ON @extschema@.trusted_functions FROM PUBLIC;
COMMENT ON TABLE @extschema@.trusted_functions IS
'user-defined functions trusted to see the column values of governed reads, with who trusted them, when, why, and the definition trusted';

CREATE FUNCTION @extschema@.trust_function(fn pg_catalog.regprocedure,
	reason pg_catalog.text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_trust_function'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.trust_function(pg_catalog.regprocedure, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.trust_function(pg_catalog.regprocedure, pg_catalog.text) IS
'lets a user-defined function see the column values of governed reads; records who trusted it, when and why';

CREATE FUNCTION @extschema@.distrust_function(fn pg_catalog.regprocedure)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_distrust_function'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.distrust_function(pg_catalog.regprocedure) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.distrust_function(pg_catalog.regprocedure) IS
'withdraws the trust given with trust_function(); returns false if the function was not trusted';

-- a dropped function is forgotten: its OID may come back as another function
CREATE FUNCTION @extschema@._forget_trusted_functions()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.trusted_functions t
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND t.fn::pg_catalog.oid = d.objid;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@._forget_trusted_functions() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._forget_trusted_functions() IS
'internal: event trigger that forgets trusted functions when they are dropped';

CREATE EVENT TRIGGER ai_guard_forget_trusted ON sql_drop
	EXECUTE FUNCTION @extschema@._forget_trusted_functions();
/*
 * Row membership (src/lineage.c): which rows of tracked relations each pull
 * delivered, written by the audit writer next to the pull's record and
 * hash-chained with it; read by the impact queries (55_impact.sql).
 */

/*---- membership catalog ----*/

-- one row per pull and tracked relation it read
CREATE TABLE @extschema@.pull_relations (
	pull_id     pg_catalog.int8 NOT NULL,
	relation    pg_catalog.text NOT NULL,
	membership  pg_catalog.text NOT NULL
	            CHECK (membership IN ('exact', 'unknown')),
	reason      pg_catalog.text,
	row_count   pg_catalog.int8,
	batches     pg_catalog.int8[],
	PRIMARY KEY (pull_id, relation)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pull_relations', '');
REVOKE ALL ON @extschema@.pull_relations FROM PUBLIC;
COMMENT ON TABLE @extschema@.pull_relations IS
'tracked relations each pull read: whether its rows are known exactly (else why not), how many distinct rows, and the ingest batches they came from';

-- the row ids themselves, in segments of 2^20 ids (src/core/rowset.h encoding)
CREATE TABLE @extschema@.pull_members (
	pull_id      pg_catalog.int8 NOT NULL,
	relation     pg_catalog.text NOT NULL,
	segment      pg_catalog.int8 NOT NULL,
	row_count    pg_catalog.int8 NOT NULL,
	first_row_id pg_catalog.int8 NOT NULL,
	last_row_id  pg_catalog.int8 NOT NULL,
	row_ids      pg_catalog.bytea NOT NULL,
	PRIMARY KEY (pull_id, relation, segment)
);
CREATE INDEX ON @extschema@.pull_members (relation, first_row_id);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pull_members', '');
REVOKE ALL ON @extschema@.pull_members FROM PUBLIC;
COMMENT ON TABLE @extschema@.pull_members IS
'row ids of tracked relations delivered by each pull, as compact sets of up to 2^20 consecutive ids (segment = row id >> 20)';

-- like the pull records, written only by the audit writer
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pull_relations
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.pull_relations
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pull_members
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.pull_members
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
ALTER TABLE @extschema@.pull_relations ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.pull_relations ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE @extschema@.pull_members ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.pull_members ENABLE ALWAYS TRIGGER protect_truncate;

-- the canonical forms the chain hashes (events 'members' and 'relation')
CREATE FUNCTION @extschema@._members_fields(m @extschema@.pull_members)
RETURNS pg_catalog.text[]
LANGUAGE sql IMMUTABLE
AS $$
SELECT ARRAY[m.pull_id::text, m.relation, m.segment::text, m.row_count::text,
	m.first_row_id::text, m.last_row_id::text,
	pg_catalog.encode(pg_catalog.sha256(m.row_ids), 'hex')]
$$;
REVOKE ALL ON FUNCTION @extschema@._members_fields(@extschema@.pull_members) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._members_fields(@extschema@.pull_members) IS
'internal: the canonical fields of a row-membership segment that the chain hashes';

CREATE FUNCTION @extschema@._relation_fields(r @extschema@.pull_relations)
RETURNS pg_catalog.text[]
LANGUAGE sql IMMUTABLE
AS $$
SELECT ARRAY[r.pull_id::text, r.relation, r.membership, r.reason,
	r.row_count::text, r.batches::text]
$$;
REVOKE ALL ON FUNCTION @extschema@._relation_fields(@extschema@.pull_relations) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._relation_fields(@extschema@.pull_relations) IS
'internal: the canonical fields of a pull''s relation record that the chain hashes';

-- a change of the tracked set resets the planner's per-backend cache
CREATE TRIGGER tracked_relations_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.tracked_relations
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._governed_changed();
ALTER TABLE @extschema@.tracked_relations ENABLE ALWAYS TRIGGER tracked_relations_changed;

/*---- reading row id sets ----*/

CREATE FUNCTION @extschema@.rowset_ids(row_ids pg_catalog.bytea)
RETURNS SETOF pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_rowset_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rowset_ids(pg_catalog.bytea) IS
'the row ids of an encoded set (ai_guard.pull_members.row_ids), ascending';

CREATE FUNCTION @extschema@.rowset_count_in(row_ids pg_catalog.bytea, ids pg_catalog.int8[])
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_rowset_count_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rowset_count_in(pg_catalog.bytea, pg_catalog.int8[]) IS
'how many of the given row ids an encoded set holds (without expanding it)';

CREATE FUNCTION @extschema@.pull_row_ids(pull_id pg_catalog.int8, rel pg_catalog.regclass)
RETURNS SETOF pg_catalog.int8
LANGUAGE sql STABLE
AS $$
	SELECT @extschema@.rowset_ids(m.row_ids)
	  FROM @extschema@.pull_members m
	  JOIN @extschema@.tracked_relations t ON t.rel OPERATOR(pg_catalog.=) $2
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.root
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE m.pull_id OPERATOR(pg_catalog.=) $1
	   AND m.relation OPERATOR(pg_catalog.=) pg_catalog.format('%I.%I', n.nspname, c.relname)
	 ORDER BY m.segment
$$;
COMMENT ON FUNCTION @extschema@.pull_row_ids(pg_catalog.int8, pg_catalog.regclass) IS
'the row ids of a tracked relation that a pull delivered (needs SELECT on ai_guard.pull_members)';
/*
 * Row budgets (src/budget.c): how many governed rows a role may pull for a
 * purpose per interval.  A pull that would go beyond is refused, recorded,
 * and announced on the notification channel ai_guard_alerts.
 */

CREATE TABLE @extschema@.budgets (
	role      pg_catalog.name NOT NULL,
	purpose   pg_catalog.text NOT NULL,
	max_rows  pg_catalog.int8 NOT NULL CHECK (max_rows >= 0),
	per       pg_catalog.interval NOT NULL CHECK (per > '0'::pg_catalog.interval),
	set_by    pg_catalog.name NOT NULL,
	set_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (role, purpose)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.budgets', '');
REVOKE ALL ON @extschema@.budgets FROM PUBLIC;
COMMENT ON TABLE @extschema@.budgets IS
'row budgets: at most max_rows governed rows per interval for a role (its current_role in pulls) and a purpose class or full purpose';

CREATE FUNCTION @extschema@.set_budget(role pg_catalog.regrole,
	purpose pg_catalog.text, max_rows pg_catalog.int8, per pg_catalog.interval)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_set_budget'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.set_budget(pg_catalog.regrole, pg_catalog.text, pg_catalog.int8, pg_catalog.interval) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.set_budget(pg_catalog.regrole, pg_catalog.text, pg_catalog.int8, pg_catalog.interval) IS
'sets (or replaces) the row budget of a role for a purpose class or full purpose: at most max_rows governed rows per interval';

CREATE FUNCTION @extschema@.drop_budget(role pg_catalog.regrole, purpose pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_drop_budget'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.drop_budget(pg_catalog.regrole, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.drop_budget(pg_catalog.regrole, pg_catalog.text) IS
'removes a row budget; returns false if there was none';

-- what a pull counts against a budget: the rows it delivered, and for a pull
-- that failed one more, the value its error message may quote (one failed
-- pull per value would otherwise cost nothing); what a failed pull did
-- besides (notifications, large objects, writes) was rolled back with it
CREATE FUNCTION @extschema@._pull_charge(p @extschema@.pulls)
RETURNS pg_catalog.int8
LANGUAGE sql IMMUTABLE
AS $$
SELECT COALESCE(p.rows, 0) + CASE WHEN p.status = 'failed' THEN 1 ELSE 0 END
$$;
-- callable by whoever reads budget_usage: it only computes on a pulls row
GRANT EXECUTE ON FUNCTION @extschema@._pull_charge(@extschema@.pulls) TO PUBLIC;
COMMENT ON FUNCTION @extschema@._pull_charge(@extschema@.pulls) IS
'internal: the rows a pull counts against a row budget: those delivered, and one more for a failed pull (the value its error may quote)';

CREATE VIEW @extschema@.budget_usage AS
SELECT b.role, b.purpose, b.max_rows, b.per,
       u.rows AS used_rows,
       GREATEST(b.max_rows - u.rows, 0) AS rows_left,
       u.pulls, u.refused
  FROM @extschema@.budgets b
 CROSS JOIN LATERAL (
	SELECT COALESCE(pg_catalog.sum(@extschema@._pull_charge(p)), 0)::pg_catalog.int8 AS rows,
	       pg_catalog.count(*) FILTER (WHERE p.status <> 'refused') AS pulls,
	       pg_catalog.count(*) FILTER (WHERE p.status = 'refused') AS refused
	  FROM @extschema@.pulls p
	 WHERE p."current_role" = b.role
	   AND p.started_at > pg_catalog.now() - b.per
	   AND (p.purpose = b.purpose OR pg_catalog.split_part(p.purpose, ':', 1) = b.purpose)) u;
REVOKE ALL ON @extschema@.budget_usage FROM PUBLIC;
COMMENT ON VIEW @extschema@.budget_usage IS
'consumption of each row budget in its current interval: rows pulled, rows left, pulls made and refused';

/*---------------------------------------------------------------------------
 * Models and their lineage, OpenLineage export (docs/lineage.md)
 *
 * A model is registered with the pulls it was trained on. lineage() walks
 * model -> pulls -> relations -> ingest batches -> sources, licenses and
 * consent. A relation's batches are exact when the audit writer recorded the
 * pull's row membership (pull_relations.batches, 45_membership.sql), and
 * otherwise "possible": every batch that had written rows into the relation
 * before the pull ended (relation_batches), a superset of the truth.
 * openlineage_event() describes one pull as an OpenLineage RunEvent.
 *
 * Who sees what: a role that may read ai_guard.pulls (compliance) or a
 * superuser sees every model and pull; any other role sees the models whose
 * pulls it made itself, and the events of its own pulls (as ai_guard.pull()).
 *---------------------------------------------------------------------------
 */

/*---- catalog ----*/

CREATE SEQUENCE @extschema@.models_model_id_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.models_model_id_seq', '');
REVOKE ALL ON SEQUENCE @extschema@.models_model_id_seq FROM PUBLIC;

CREATE TABLE @extschema@.models (
	model_id      pg_catalog.int8 PRIMARY KEY
	              DEFAULT pg_catalog.nextval('@extschema@.models_model_id_seq'),
	name          pg_catalog.text NOT NULL
	              CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
	version       pg_catalog.text NOT NULL
	              CHECK (pg_catalog.length(version) BETWEEN 1 AND 100),
	metadata      pg_catalog.jsonb NOT NULL DEFAULT '{}'
	              CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
	registered_by pg_catalog.name NOT NULL,
	registered_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (name, version)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.models', '');
REVOKE ALL ON @extschema@.models FROM PUBLIC;
COMMENT ON TABLE @extschema@.models IS
'registered models: name, version, free metadata (a model card), who registered them and when; written by register_model()';

CREATE TABLE @extschema@.model_pulls (
	model_id pg_catalog.int8 NOT NULL
	         REFERENCES @extschema@.models ON DELETE CASCADE,
	pull_id  pg_catalog.int8 NOT NULL,
	PRIMARY KEY (model_id, pull_id)
);
CREATE INDEX ON @extschema@.model_pulls (pull_id);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_pulls', '');
REVOKE ALL ON @extschema@.model_pulls FROM PUBLIC;
COMMENT ON TABLE @extschema@.model_pulls IS
'the pulls (ai_guard.pulls) each registered model was trained on';

/*---- internal helpers ----*/

-- may the session see every pull? (as ai_guard.pull() decides)
CREATE FUNCTION @extschema@._sees_all_pulls()
RETURNS pg_catalog.bool
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.has_table_privilege(SESSION_USER, '@extschema@.pulls', 'SELECT')
$$;
REVOKE ALL ON FUNCTION @extschema@._sees_all_pulls() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._sees_all_pulls() IS
'internal: true if the session role may read every pull record (SELECT on ai_guard.pulls, or superuser)';

/*
 * The ingest batches of the rows a pull read, per relation: exact where the
 * audit writer recorded membership, else every batch written into the
 * relation (its partitions and children included) before the pull ended.
 */
CREATE FUNCTION @extschema@._pull_batches(p_pull_id pg_catalog.int8,
	p_relations pg_catalog.text[], p_until pg_catalog.timestamptz,
	OUT relation pg_catalog.text, OUT batch_id pg_catalog.int8,
	OUT membership pg_catalog.text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pr.relation, b.batch_id, 'exact'::pg_catalog.text
	  FROM @extschema@.pull_relations pr
	 CROSS JOIN LATERAL pg_catalog.unnest(pr.batches) AS b(batch_id)
	 WHERE pr.pull_id OPERATOR(pg_catalog.=) p_pull_id
	   AND pr.membership OPERATOR(pg_catalog.=) 'exact'
	   AND b.batch_id IS NOT NULL
	UNION
	SELECT r.relation, rb.batch_id, 'possible'::pg_catalog.text
	  FROM pg_catalog.unnest(p_relations) AS r(relation)
	  JOIN @extschema@.tracked_relations t
	    ON t.root::pg_catalog.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(r.relation)::pg_catalog.oid
	    OR t.rel::pg_catalog.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(r.relation)::pg_catalog.oid
	  JOIN @extschema@.relation_batches rb
	    ON rb.rel::pg_catalog.oid OPERATOR(pg_catalog.=) t.rel::pg_catalog.oid
	  JOIN @extschema@.batches bb ON bb.batch_id OPERATOR(pg_catalog.=) rb.batch_id
	 WHERE bb.started_at OPERATOR(pg_catalog.<=) p_until
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.pull_relations pr
	                    WHERE pr.pull_id OPERATOR(pg_catalog.=) p_pull_id
	                      AND pr.relation OPERATOR(pg_catalog.=) r.relation
	                      AND pr.membership OPERATOR(pg_catalog.=) 'exact')
$$;
REVOKE ALL ON FUNCTION @extschema@._pull_batches(pg_catalog.int8, pg_catalog.text[], pg_catalog.timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._pull_batches(pg_catalog.int8, pg_catalog.text[], pg_catalog.timestamptz) IS
'internal: the ingest batches behind each tracked relation a pull read; membership exact (recorded row membership) or possible (batches written into the relation before the pull ended)';

/*---- registering models ----*/

CREATE FUNCTION @extschema@.register_model(name pg_catalog.text,
	version pg_catalog.text, pulls pg_catalog.int8[],
	metadata pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_ids      int8[];
	v_id       int8;
	v_model    int8;
	v_all      bool := @extschema@._sees_all_pulls();
	r          record;
	v_flushed  bool := false;
BEGIN
	IF name IS NULL OR version IS NULL THEN
		RAISE EXCEPTION 'model name and version must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF btrim(name) = '' OR btrim(version) = '' THEN
		RAISE EXCEPTION 'model name and version must not be empty'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF length(name) > 200 OR length(version) > 100 THEN
		RAISE EXCEPTION 'model name or version is too long'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'A name may have up to 200 characters, a version up to 100.';
	END IF;
	IF name ~ '[[:cntrl:]]' OR version ~ '[[:cntrl:]]' THEN
		RAISE EXCEPTION 'model name and version must not contain control characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF position(':' IN name) > 0 THEN
		RAISE EXCEPTION 'model name must not contain ":"'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'ai-guard lineage NAME:VERSION separates name and version with ":".';
	END IF;
	IF metadata IS NULL THEN
		metadata := '{}';
	ELSIF jsonb_typeof(metadata) <> 'object' THEN
		RAISE EXCEPTION 'model metadata must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	ELSIF pg_column_size(metadata) > 1048576 THEN
		RAISE EXCEPTION 'model metadata is too large'
			USING ERRCODE = 'program_limit_exceeded',
			      DETAIL = 'Metadata may take up to 1 MB; keep large artifacts outside the database and reference them.';
	END IF;
	IF pulls IS NULL THEN
		RAISE EXCEPTION 'pulls must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Give the ids of the pulls the model was trained on, as in ARRAY[12, 13].';
	END IF;
	IF array_position(pulls, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'pulls must not contain NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT array_agg(DISTINCT u ORDER BY u) INTO v_ids FROM unnest(pulls) AS u;
	IF v_ids IS NULL THEN
		RAISE EXCEPTION 'a model needs at least one pull'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF cardinality(v_ids) > 100000 THEN
		RAISE EXCEPTION 'a model can have at most 100000 pulls'
			USING ERRCODE = 'program_limit_exceeded';
	END IF;

	-- every pull exists, is the caller's (unless it may read every record)
	-- and completed; a completion may still be queued: flush once and look again
	<<check>>
	LOOP
		FOR r IN
			SELECT u.id, p.status, p.session_role
			  FROM unnest(v_ids) AS u(id)
			  LEFT JOIN @extschema@.pulls p ON p.pull_id = u.id
			 ORDER BY u.id
		LOOP
			IF r.status IS NULL THEN
				RAISE EXCEPTION 'pull % does not exist', r.id
					USING ERRCODE = 'undefined_object';
			END IF;
			IF NOT v_all AND r.session_role <> SESSION_USER THEN
				RAISE EXCEPTION 'permission denied for pull %', r.id
					USING ERRCODE = 'insufficient_privilege',
					      DETAIL = 'The pull was made by another role.',
					      HINT = 'A role may register only its own pulls, unless it may read ai_guard.pulls.';
			END IF;
			IF r.status <> 'completed' THEN
				IF r.status = 'started' AND NOT v_flushed THEN
					PERFORM @extschema@.audit_flush();
					v_flushed := true;
					CONTINUE check;
				END IF;
				RAISE EXCEPTION 'pull % is not completed', r.id
					USING ERRCODE = 'object_not_in_prerequisite_state',
					      DETAIL = format('Its status is "%s"; only completed pulls can train a model.', r.status);
			END IF;
		END LOOP;
		EXIT check;
	END LOOP;

	BEGIN
		INSERT INTO @extschema@.models (name, version, metadata, registered_by)
		VALUES (register_model.name, register_model.version,
		        register_model.metadata, SESSION_USER)
		RETURNING model_id INTO v_model;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'model "%" version "%" already exists',
			register_model.name, register_model.version
			USING ERRCODE = 'unique_violation',
			      HINT = 'Register the retrained model under a new version.';
	END;
	INSERT INTO @extschema@.model_pulls (model_id, pull_id)
	SELECT v_model, u FROM unnest(v_ids) AS u;
	RETURN v_model;
END;
$$;
GRANT EXECUTE ON FUNCTION @extschema@.register_model(pg_catalog.text, pg_catalog.text, pg_catalog.int8[], pg_catalog.jsonb) TO PUBLIC;
COMMENT ON FUNCTION @extschema@.register_model(pg_catalog.text, pg_catalog.text, pg_catalog.int8[], pg_catalog.jsonb) IS
'registers model name/version as trained on the given completed pulls (the caller''s own, unless it may read ai_guard.pulls); returns the model id';

CREATE FUNCTION @extschema@.visible_models(
	OUT model_id pg_catalog.int8, OUT name pg_catalog.text, OUT version pg_catalog.text,
	OUT metadata pg_catalog.jsonb, OUT registered_by pg_catalog.name,
	OUT registered_at pg_catalog.timestamptz, OUT pulls pg_catalog.int8)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.model_id, m.name, m.version, m.metadata, m.registered_by, m.registered_at,
	       (SELECT pg_catalog.count(*) FROM @extschema@.model_pulls mp
	         WHERE mp.model_id OPERATOR(pg_catalog.=) m.model_id)
	  FROM @extschema@.models m
	 WHERE @extschema@._sees_all_pulls()
	    OR NOT EXISTS (SELECT 1 FROM @extschema@.model_pulls mp
	                     JOIN @extschema@.pulls p ON p.pull_id OPERATOR(pg_catalog.=) mp.pull_id
	                    WHERE mp.model_id OPERATOR(pg_catalog.=) m.model_id
	                      AND p.session_role OPERATOR(pg_catalog.<>) SESSION_USER)
$$;
GRANT EXECUTE ON FUNCTION @extschema@.visible_models() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.visible_models() IS
'the registered models the caller may see (every model for a role that may read ai_guard.pulls; otherwise those built from the caller''s own pulls), with their number of pulls';

/*---- lineage ----*/

/*
 * The model of that name and version (NULL: the latest registered) that the
 * session may see, or an error; a model the caller may not see is reported
 * as missing.
 */
CREATE FUNCTION @extschema@._visible_model(p_name pg_catalog.text,
	p_version pg_catalog.text)
RETURNS @extschema@.models
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m @extschema@.models;
BEGIN
	IF p_name IS NULL THEN
		RAISE EXCEPTION 'model name must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO m FROM @extschema@.models x
	 WHERE x.name = p_name
	   AND (p_version IS NULL OR x.version = p_version)
	   AND (@extschema@._sees_all_pulls()
	        OR NOT EXISTS (SELECT 1 FROM @extschema@.model_pulls mp
	                         JOIN @extschema@.pulls p ON p.pull_id = mp.pull_id
	                        WHERE mp.model_id = x.model_id
	                          AND p.session_role <> SESSION_USER))
	 ORDER BY x.registered_at DESC, x.model_id DESC
	 LIMIT 1;
	IF NOT FOUND THEN
		IF p_version IS NULL THEN
			RAISE EXCEPTION 'model "%" does not exist', p_name
				USING ERRCODE = 'undefined_object';
		END IF;
		RAISE EXCEPTION 'model "%" version "%" does not exist', p_name, p_version
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN m;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@._visible_model(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._visible_model(pg_catalog.text, pg_catalog.text) IS
'internal: the model a lineage question is about, if the session may see it';

CREATE FUNCTION @extschema@.lineage(name pg_catalog.text,
	version pg_catalog.text DEFAULT NULL,
	OUT node pg_catalog.text, OUT kind pg_catalog.text, OUT label pg_catalog.text,
	OUT parent pg_catalog.text, OUT detail pg_catalog.jsonb)
RETURNS SETOF record
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m @extschema@.models;
BEGIN
	m := @extschema@._visible_model(lineage.name, lineage.version);
	/*
	 * One set-based query for the whole graph, sorted depth first by a key:
	 * model [0]; pull [n]; relation [n, r, 0|1, ord] (a base table read
	 * through a masked view right after the view); batch relation || [batch];
	 * its source, license and consent batch || [1|2|3].
	 */
	RETURN QUERY
	WITH p AS (
		SELECT x.*, row_number() OVER (ORDER BY x.pull_id) AS pos
		  FROM @extschema@.model_pulls mp
		  JOIN @extschema@.pulls x ON x.pull_id = mp.pull_id
		 WHERE mp.model_id = m.model_id
	), r0 AS (
		SELECT p.pull_id, p.pos, coalesce(p.ended_at, p.started_at) AS until,
		       u.rel, u.ord, to_regclass(u.rel) AS oid,
		       (SELECT to_jsonb(array_agg(c)) FROM unnest(p.columns_returned || p.columns_filtered) c
		         WHERE left(c, length(u.rel) + 1) = u.rel || '.') AS columns
		  FROM p, unnest(p.relations) WITH ORDINALITY AS u(rel, ord)
	), r AS (
		SELECT r0.*,
		       pr.membership AS pr_membership, pr.reason AS pr_reason,
		       pr.row_count AS pr_row_count, pr.batches AS pr_batches,
		       EXISTS (SELECT 1 FROM @extschema@.tracked_relations t
		                WHERE t.rel::oid = r0.oid::oid) AS tracked,
		       EXISTS (SELECT 1 FROM @extschema@.masked_views mv
		                WHERE mv.view::oid = r0.oid::oid) AS is_view,
		       v.rel AS view_rel, v.ord AS view_ord
		  FROM r0
		  LEFT JOIN @extschema@.pull_relations pr
		    ON pr.pull_id = r0.pull_id AND pr.relation = r0.rel
		  LEFT JOIN LATERAL (
			-- a base table read through a masked view hangs below the view
			SELECT v0.rel, v0.ord FROM r0 v0
			  JOIN @extschema@.masked_views mv ON mv.view::oid = v0.oid::oid
			 WHERE v0.pull_id = r0.pull_id AND mv.base::oid = r0.oid::oid
			 ORDER BY v0.ord LIMIT 1) v ON true
	), rk AS (
		SELECT r.*, ARRAY[r.pos, coalesce(r.view_ord, r.ord),
		                  CASE WHEN r.view_rel IS NULL THEN 0 ELSE 1 END, r.ord] AS k
		  FROM r
	), b0 AS (
		-- exact: the batches recorded with the pull's row membership
		SELECT rk.pull_id, rk.rel, rk.k, e.batch_id, 'exact'::text AS membership
		  FROM rk, unnest(rk.pr_batches) AS e(batch_id)
		 WHERE rk.pr_membership = 'exact' AND e.batch_id IS NOT NULL
		UNION
		-- possible: every batch written into the relation before the pull ended
		SELECT rk.pull_id, rk.rel, rk.k, rb.batch_id, 'possible'::text
		  FROM rk
		  JOIN @extschema@.tracked_relations t
		    ON t.root::oid = rk.oid::oid OR t.rel::oid = rk.oid::oid
		  JOIN @extschema@.relation_batches rb ON rb.rel::oid = t.rel::oid
		  JOIN @extschema@.batches bb ON bb.batch_id = rb.batch_id
		 WHERE rk.pr_membership IS DISTINCT FROM 'exact'
		   AND bb.started_at <= rk.until
	), b AS (
		SELECT b0.*, bb.source, bb.license, bb.consent, bb.kind AS batch_kind,
		       bb.row_count, bb.started_at, bb.ingested_by,
		       EXISTS (SELECT 1 FROM @extschema@.quarantines q
		                WHERE q.released_at IS NULL
		                  AND (q.batch_id = bb.batch_id OR q.source = bb.source
		                       OR q.batch_id = ANY (bb.derived_from))) AS quarantined,
		       EXISTS (SELECT 1 FROM @extschema@.quarantines q
		                WHERE q.released_at IS NULL AND q.source = bb.source) AS source_quarantined
		  FROM b0 LEFT JOIN @extschema@.batches bb ON bb.batch_id = b0.batch_id
	), g AS (
		SELECT ARRAY[0::int8] AS k, 'model:' || m.model_id AS node, 'model'::text AS kind,
		       m.name || ':' || m.version AS label, NULL::text AS parent,
		       jsonb_build_object('model_id', m.model_id, 'name', m.name,
		           'version', m.version, 'metadata', m.metadata,
		           'registered_by', m.registered_by, 'registered_at', m.registered_at) AS detail
		UNION ALL
		SELECT ARRAY[p.pos], 'pull:' || p.pull_id, 'pull',
		       'pull ' || p.pull_id || coalesce(' (' || p.purpose || ')', ''),
		       'model:' || m.model_id,
		       jsonb_build_object('pull_id', p.pull_id, 'status', p.status,
		           'kind', p.kind, 'purpose', p.purpose, 'session_role', p.session_role,
		           'current_role', p."current_role", 'started_at', p.started_at,
		           'ended_at', p.ended_at, 'rows', p.rows, 'bytes', p.bytes,
		           'digest', p.digest, 'columns_returned', p.columns_returned,
		           'columns_pii', p.columns_pii, 'masks', p.masks)
		  FROM p
		UNION ALL
		SELECT rk.k, 'relation:' || rk.rel,
		       CASE WHEN rk.is_view THEN 'masked_view' ELSE 'relation' END,
		       rk.rel,
		       coalesce('relation:' || rk.view_rel, 'pull:' || rk.pull_id),
		       jsonb_build_object('relation', rk.rel,
		           'exists', rk.oid IS NOT NULL,
		           'tracked', rk.tracked OR rk.pr_membership IS NOT NULL,
		           'membership', CASE WHEN rk.pr_membership IS NOT NULL THEN rk.pr_membership
		                              WHEN rk.tracked THEN 'unknown' END,
		           'membership_reason', rk.pr_reason,
		           'row_count', rk.pr_row_count,
		           'columns', rk.columns)
		  FROM rk
		UNION ALL
		SELECT b.k || b.batch_id, 'batch:' || b.batch_id, 'batch', 'batch ' || b.batch_id,
		       'relation:' || b.rel,
		       jsonb_build_object('batch_id', b.batch_id,
		           'membership', b.membership, 'kind', b.batch_kind,
		           'source', b.source, 'license', b.license, 'consent', b.consent,
		           'ingested_by', b.ingested_by, 'started_at', b.started_at,
		           'rows', b.row_count, 'quarantined', b.quarantined)
		  FROM b
		UNION ALL
		SELECT b.k || ARRAY[b.batch_id, s.n], s.node, s.kind, s.label, 'batch:' || b.batch_id, s.detail
		  FROM b CROSS JOIN LATERAL (VALUES
		       (1::int8, 'source:' || b.source, 'source'::text, b.source,
		        jsonb_build_object('quarantined', b.source_quarantined)),
		       (2, 'license:' || b.license, 'license', b.license, '{}'::jsonb),
		       (3, 'consent:' || array_to_string(b.consent, ','), 'consent',
		        CASE WHEN cardinality(b.consent) = 0 THEN '(no consent)'
		             ELSE array_to_string(b.consent, ', ') END,
		        jsonb_build_object('consent', b.consent))) AS s(n, node, kind, label, detail)
		 WHERE b.source IS NOT NULL
	)
	SELECT g.node, g.kind, g.label, g.parent, g.detail FROM g ORDER BY g.k;
END;
$$;
GRANT EXECUTE ON FUNCTION @extschema@.lineage(pg_catalog.text, pg_catalog.text) TO PUBLIC;
COMMENT ON FUNCTION @extschema@.lineage(pg_catalog.text, pg_catalog.text) IS
'the lineage graph of a model (version NULL: the latest registered) as edges node -> parent: model, pulls, relations, ingest batches (exact or possible), sources, licenses, consent; compliance sees every model, other roles the models built from their own pulls';

/*---- provenance of one pull (for manifests) ----*/

/*
 * The ingest batches behind a pull, with source, license and consent: for
 * the role that made the pull or a role that may read every record (as
 * ai_guard.pull()); other pulls return no rows.
 */
CREATE FUNCTION @extschema@.pull_provenance(pull_id pg_catalog.int8,
	OUT relation pg_catalog.text, OUT membership pg_catalog.text,
	OUT batch_id pg_catalog.int8, OUT source pg_catalog.text,
	OUT license pg_catalog.text, OUT consent pg_catalog.text[],
	OUT quarantined pg_catalog.bool)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pb.relation, pb.membership, pb.batch_id, b.source, b.license, b.consent,
	       EXISTS (SELECT 1 FROM @extschema@.quarantines q
	                WHERE q.released_at IS NULL
	                  AND (q.batch_id OPERATOR(pg_catalog.=) b.batch_id
	                       OR q.source OPERATOR(pg_catalog.=) b.source
	                       OR q.batch_id OPERATOR(pg_catalog.=) ANY (b.derived_from)))
	  FROM @extschema@.pulls p
	 CROSS JOIN LATERAL @extschema@._pull_batches(p.pull_id, p.relations,
	                    coalesce(p.ended_at, p.started_at)) pb
	  LEFT JOIN @extschema@.batches b ON b.batch_id OPERATOR(pg_catalog.=) pb.batch_id
	 WHERE p.pull_id OPERATOR(pg_catalog.=) $1
	   AND (p.session_role OPERATOR(pg_catalog.=) SESSION_USER
	        OR @extschema@._sees_all_pulls())
	 ORDER BY pb.relation, pb.batch_id
$$;
GRANT EXECUTE ON FUNCTION @extschema@.pull_provenance(pg_catalog.int8) TO PUBLIC;
COMMENT ON FUNCTION @extschema@.pull_provenance(pg_catalog.int8) IS
'the ingest batches (source, license, consent, quarantine) behind the rows of one pull, exact or possible, if the caller made the pull or may read every record';

/*---- OpenLineage ----*/

/*
 * The OpenLineage namespace of this database's datasets and jobs, following
 * OpenLineage's naming for PostgreSQL (postgres://host:port).
 */
CREATE FUNCTION @extschema@._ol_namespace()
RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT 'postgres://'
	       || coalesce(pg_catalog.host(pg_catalog.inet_server_addr()), 'localhost')
	       || ':' || pg_catalog.current_setting('port')
$$;
REVOKE ALL ON FUNCTION @extschema@._ol_namespace() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._ol_namespace() IS
'internal: the OpenLineage namespace of this server (postgres://host:port; localhost over a Unix socket)';

-- a run id for a pull: a version-8 UUID from SHA-256 over the hash of the
-- pull's first audit chain entry (unique to that pull in any cluster, kept
-- by pg_dump, the same for its START and COMPLETE), or without one over the
-- cluster's system identifier and the database
CREATE FUNCTION @extschema@._ol_run_id(p_database pg_catalog.text, p_pull_id pg_catalog.int8)
RETURNS pg_catalog.uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT (substr(h, 1, 12) || '8' || substr(h, 14, 3)
	        || substr('89ab', (strpos('0123456789abcdef', substr(h, 17, 1)) - 1) % 4 + 1, 1)
	        || substr(h, 18, 15))::uuid
	  FROM (SELECT encode(sha256(convert_to('ai_guard pull '
	                || coalesce((SELECT a.record_hash FROM @extschema@.audit_log a
	                              WHERE a.pull_id = p_pull_id ORDER BY a.seq LIMIT 1),
	                            (pg_control_system()).system_identifier || ' ' || p_database)
	                || ' ' || p_pull_id, 'UTF8')), 'hex') AS h) s
$$;
REVOKE ALL ON FUNCTION @extschema@._ol_run_id(pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._ol_run_id(pg_catalog.text, pg_catalog.int8) IS
'internal: the OpenLineage run id of a pull, a UUID (version 8) derived from the hash of its first audit chain entry';

CREATE FUNCTION @extschema@._ol_time(t pg_catalog.timestamptz)
RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.to_char(pg_catalog.timezone('UTC', t), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
REVOKE ALL ON FUNCTION @extschema@._ol_time(pg_catalog.timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._ol_time(pg_catalog.timestamptz) IS
'internal: a timestamp as RFC 3339 in UTC';

CREATE FUNCTION @extschema@.openlineage_event(pull_id pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p           @extschema@.pulls;
	v_ns        text := @extschema@._ol_namespace();
	v_producer  text := 'urn:ai_guard:' || @extschema@.version();
	v_ol        text := 'https://openlineage.io/spec/';
	v_facets    text := 'https://openlineage.io/spec/facets/';
	v_custom    text := 'urn:ai_guard:openlineage:AiGuardRunFacet:1-0-0#/$defs/AiGuardRunFacet';
	v_type      text;
	v_inputs    jsonb := '[]';
	v_fields    jsonb := '{}';
	v_outfields jsonb := '[]';
	v_indirect  jsonb := '[]';
	v_batches   jsonb;
	v_output    jsonb;
	v_run       jsonb;
	v_job       jsonb;
	v_custom_f  jsonb;
	v_views     jsonb;
	v_quar      jsonb;
	v_models    jsonb;
	v_masked    text[] := '{}';
	r           record;
	c           record;
	v_cols      jsonb;
	v_tags      jsonb;
	v_in        jsonb;
	v_xfm       jsonb;
	v_label     text;
BEGIN
	IF openlineage_event.pull_id IS NULL THEN
		RAISE EXCEPTION 'pull id must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO p FROM @extschema@.pulls x
	 WHERE x.pull_id = openlineage_event.pull_id
	   AND (x.session_role = SESSION_USER OR @extschema@._sees_all_pulls());
	IF NOT FOUND THEN
		-- another role's pull is reported as missing: ids reveal nothing
		RAISE EXCEPTION 'pull % does not exist', openlineage_event.pull_id
			USING ERRCODE = 'undefined_object';
	END IF;

	v_type := CASE p.status
	          WHEN 'completed' THEN 'COMPLETE'
	          WHEN 'failed' THEN 'FAIL'
	          WHEN 'refused' THEN 'ABORT'
	          ELSE 'START' END;

	/* inputs: each governed relation read, with its schema and classification */
	FOR r IN
		SELECT u.rel, u.ord, to_regclass(u.rel) AS oid,
		       (SELECT mv.base FROM @extschema@.masked_views mv
		         WHERE mv.view::oid = to_regclass(u.rel)::oid) AS base
		  FROM unnest(p.relations) WITH ORDINALITY AS u(rel, ord)
		 ORDER BY u.ord
	LOOP
		IF r.oid IS NOT NULL THEN
			SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
			           'name', a.attname::text,
			           'type', format_type(a.atttypid, a.atttypmod),
			           'ordinal_position', a.pos,
			           'description', 'ai_guard: ' || s.label)) ORDER BY a.pos), '[]'),
			       coalesce(jsonb_agg(jsonb_build_object(
			           'key', 'ai_guard.classification', 'value', s.label,
			           'field', a.attname::text, 'source', 'ai_guard')
			           ORDER BY a.pos) FILTER (WHERE s.label IS NOT NULL), '[]')
			  INTO v_cols, v_tags
			  FROM (SELECT att.*, row_number() OVER (ORDER BY att.attnum) AS pos
			          FROM pg_attribute att
			         WHERE att.attrelid = r.oid AND att.attnum > 0
			           AND NOT att.attisdropped) a
			  LEFT JOIN pg_seclabel s
			    ON s.objoid = a.attrelid AND s.classoid = 'pg_class'::regclass
			   AND s.objsubid = a.attnum AND s.provider = 'ai_guard';
		ELSE
			-- dropped since: the columns the pull named
			SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
			           'name', substr(col, length(r.rel) + 2))), '[]')
			  INTO v_cols
			  FROM unnest(p.columns_returned || p.columns_filtered) col
			 WHERE left(col, length(r.rel) + 1) = r.rel || '.';
			v_tags := '[]';
		END IF;
		IF r.base IS NOT NULL THEN
			v_tags := v_tags || jsonb_build_array(jsonb_build_object(
				'key', 'ai_guard.masked_view_of', 'value', r.base::text, 'source', 'ai_guard'));
		END IF;
		v_in := jsonb_build_object(
			'namespace', v_ns,
			'name', p.database || '.' || r.rel,
			'facets', jsonb_build_object(
				'schema', jsonb_build_object(
					'_producer', v_producer,
					'_schemaURL', v_facets || '1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
					'fields', v_cols),
				'tags', jsonb_build_object(
					'_producer', v_producer,
					'_schemaURL', v_facets || '1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet',
					'tags', v_tags)));
		v_inputs := v_inputs || jsonb_build_array(v_in);
	END LOOP;

	/*
	 * column lineage: each returned column, from its relation; a column of a
	 * masked view also from its base table's column, marked masking when the
	 * base column's label masks it (any pii class, or a mask= rule)
	 */
	FOR c IN
		SELECT col, rel, substr(col, length(rel) + 2) AS field, ord
		  FROM (SELECT col, ord,
		               (SELECT u.rel FROM unnest(p.relations) u(rel)
		                 WHERE left(col, length(u.rel) + 1) = u.rel || '.'
		                 ORDER BY length(u.rel) DESC LIMIT 1) AS rel
		          FROM unnest(p.columns_returned) WITH ORDINALITY AS x(col, ord)) s
		 WHERE rel IS NOT NULL
		 ORDER BY ord
	LOOP
		v_in := jsonb_build_array(jsonb_build_object(
			'namespace', v_ns, 'name', p.database || '.' || c.rel, 'field', c.field,
			'transformations', jsonb_build_array(jsonb_build_object(
				'type', 'DIRECT', 'subtype', 'IDENTITY', 'masking', false))));
		-- through a masked view: the base column and its mask
		FOR r IN
			SELECT mv.base, u.rel AS base_name
			  FROM @extschema@.masked_views mv
			  LEFT JOIN unnest(p.relations) u(rel) ON to_regclass(u.rel)::oid = mv.base::oid
			 WHERE mv.view::oid = to_regclass(c.rel)::oid
		LOOP
			SELECT s.label INTO v_label
			  FROM pg_attribute a
			  JOIN pg_seclabel s ON s.objoid = a.attrelid AND s.objsubid = a.attnum
			   AND s.classoid = 'pg_class'::regclass AND s.provider = 'ai_guard'
			 WHERE a.attrelid = r.base AND a.attname = c.field;
			IF v_label LIKE 'pii:%' OR v_label LIKE '% mask=%' THEN
				v_xfm := jsonb_build_object('type', 'DIRECT', 'subtype', 'TRANSFORMATION',
					'masking', true,
					'description', 'ai_guard masked view: ' || v_label);
				v_masked := v_masked || c.col;
				-- the base column is accounted for here, not as an indirect use
				v_masked := v_masked || (coalesce(r.base_name, r.base::text) || '.' || c.field);
			ELSE
				v_xfm := jsonb_build_object('type', 'DIRECT', 'subtype', 'IDENTITY',
					'masking', false);
			END IF;
			v_in := v_in || jsonb_build_array(jsonb_build_object(
				'namespace', v_ns,
				'name', p.database || '.' || coalesce(r.base_name, r.base::text),
				'field', c.field,
				'transformations', jsonb_build_array(v_xfm)));
		END LOOP;
		IF v_fields ? c.field THEN
			-- the same column name from several relations (a join): one output field
			-- (a masked view's base column may also be listed on its own)
			v_fields := jsonb_set(v_fields, ARRAY[c.field, 'inputFields'],
				(SELECT jsonb_agg(d.e ORDER BY d.o)
				   FROM (SELECT DISTINCT ON (x.e ->> 'name', x.e ->> 'field') x.e, x.o
				           FROM jsonb_array_elements((v_fields -> c.field -> 'inputFields') || v_in)
				                WITH ORDINALITY AS x(e, o)
				          ORDER BY x.e ->> 'name', x.e ->> 'field', x.o) d));
		ELSE
			v_fields := v_fields || jsonb_build_object(c.field,
				jsonb_build_object('inputFields', v_in));
			v_outfields := v_outfields || jsonb_build_array(jsonb_build_object(
				'name', c.field, 'ordinal_position', jsonb_array_length(v_outfields) + 1));
		END IF;
		IF c.col = ANY (v_masked) THEN
			v_fields := jsonb_set(v_fields, ARRAY[c.field, 'masked'], 'true');
		END IF;
	END LOOP;
	-- columns used otherwise (predicates, joins, sorting, expressions)
	SELECT coalesce(jsonb_agg(jsonb_build_object(
	           'namespace', v_ns, 'name', p.database || '.' || rel,
	           'field', substr(col, length(rel) + 2),
	           'transformations', jsonb_build_array(jsonb_build_object(
	               'type', 'INDIRECT',
	               'description', 'referenced by the query (filter, join, sort or expression)')))
	           ORDER BY ord), '[]')
	  INTO v_indirect
	  FROM (SELECT col, ord,
	               (SELECT u.rel FROM unnest(p.relations) u(rel)
	                 WHERE left(col, length(u.rel) + 1) = u.rel || '.'
	                 ORDER BY length(u.rel) DESC LIMIT 1) AS rel
	          FROM unnest(p.columns_filtered) WITH ORDINALITY AS x(col, ord)) s
	 WHERE rel IS NOT NULL AND NOT (col = ANY (v_masked));

	/* output: the rows delivered (or the relation a derivation wrote) */
	v_output := jsonb_build_object(
		'namespace', v_ns,
		'name', CASE WHEN p.kind = 'derivation' AND p.target IS NOT NULL
		             THEN p.database || '.' || p.target
		             ELSE p.database || '.ai_guard.pull.' || p.pull_id END,
		'facets', jsonb_build_object(
			'schema', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
				'fields', v_outfields),
			'columnLineage', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet',
				'fields', v_fields,
				'dataset', v_indirect)),
		'outputFacets', jsonb_build_object(
			'outputStatistics', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet',
				'rowCount', coalesce(p.rows, 0),
				'size', coalesce(p.bytes, 0))));
	IF p.digest IS NOT NULL THEN
		v_output := jsonb_set(v_output, '{facets,version}', jsonb_build_object(
			'_producer', v_producer,
			'_schemaURL', v_facets || '1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
			'datasetVersion', 'sha256:' || p.digest));
	END IF;

	/* the custom facet: what ai_guard knows and enforced */
	SELECT coalesce(jsonb_agg(jsonb_build_object(
	           'relation', pb.relation, 'batch_id', pb.batch_id,
	           'membership', pb.membership, 'source', b.source,
	           'license', b.license, 'consent', to_jsonb(b.consent))
	           ORDER BY pb.relation, pb.batch_id), '[]')
	  INTO v_batches
	  FROM @extschema@._pull_batches(p.pull_id, p.relations,
	                                 coalesce(p.ended_at, p.started_at)) pb
	  LEFT JOIN @extschema@.batches b ON b.batch_id = pb.batch_id;
	SELECT coalesce(jsonb_agg(u.rel ORDER BY u.ord), '[]') INTO v_views
	  FROM unnest(p.relations) WITH ORDINALITY AS u(rel, ord)
	  JOIN @extschema@.masked_views mv ON mv.view::oid = to_regclass(u.rel)::oid;
	SELECT coalesce(jsonb_agg(DISTINCT jsonb_strip_nulls(jsonb_build_object(
	           'quarantine_id', q.quarantine_id, 'source', q.source,
	           'batch_id', q.batch_id))), '[]')
	  INTO v_quar
	  FROM @extschema@._pull_batches(p.pull_id, p.relations,
	                                 coalesce(p.ended_at, p.started_at)) pb
	  JOIN @extschema@.batches b ON b.batch_id = pb.batch_id
	  JOIN @extschema@.quarantines q
	    ON q.released_at IS NULL
	   AND (q.batch_id = b.batch_id OR q.source = b.source
	        OR q.batch_id = ANY (b.derived_from));
	SELECT coalesce(jsonb_agg(jsonb_build_object('name', m.name, 'version', m.version)
	           ORDER BY m.model_id), '[]')
	  INTO v_models
	  FROM @extschema@.model_pulls mp
	  JOIN @extschema@.models m ON m.model_id = mp.model_id
	 WHERE mp.pull_id = p.pull_id;

	v_custom_f := jsonb_build_object(
		'_producer', v_producer,
		'_schemaURL', v_custom,
		'pull_id', p.pull_id,
		'status', p.status,
		'kind', p.kind,
		'purpose', p.purpose,
		'session_role', p.session_role,
		'current_role', p."current_role",
		'database', p.database,
		'started_at', @extschema@._ol_time(p.started_at),
		'ended_at', @extschema@._ol_time(p.ended_at),
		'rows', p.rows,
		'bytes', p.bytes,
		'digest', CASE WHEN p.digest IS NULL THEN NULL ELSE jsonb_build_object(
			'algorithm', 'sha256', 'encoding', 'COPY text format, server encoding, delivery order',
			'value', p.digest) END,
		'snapshot', jsonb_build_object('xmin', p.snapshot_xmin, 'xmax', p.snapshot_xmax,
			'xip', to_jsonb(coalesce(p.snapshot_xip, '{}'))),
		'record_hash', p.record_hash,
		'detail', p.detail,
		'membership', CASE
			WHEN jsonb_array_length(v_batches) = 0 THEN 'none'
			WHEN NOT jsonb_path_exists(v_batches, '$[*] ? (@.membership == "possible")') THEN 'exact'
			WHEN NOT jsonb_path_exists(v_batches, '$[*] ? (@.membership == "exact")') THEN 'possible'
			ELSE 'partial' END,
		'batches', v_batches,
		'sources', (SELECT coalesce(jsonb_agg(DISTINCT e ->> 'source'), '[]')
		              FROM jsonb_array_elements(v_batches) e WHERE e ->> 'source' IS NOT NULL),
		'licenses', (SELECT coalesce(jsonb_agg(DISTINCT e ->> 'license'), '[]')
		               FROM jsonb_array_elements(v_batches) e WHERE e ->> 'license' IS NOT NULL),
		'consent', (SELECT coalesce(jsonb_agg(DISTINCT k), '[]')
		              FROM jsonb_array_elements(v_batches) e,
		                   jsonb_array_elements_text(coalesce(e -> 'consent', '[]')) k),
		'policies', jsonb_build_object(
			'purpose_class', split_part(p.purpose, ':', 1),
			'masked_views', v_views,
			'masks', to_jsonb(coalesce(p.masks, '{}')),
			'pii_columns', to_jsonb(coalesce(p.columns_pii, '{}')),
			'encrypted_columns', to_jsonb(coalesce(p.columns_encrypted, '{}')),
			'consent_filtered', (SELECT coalesce(jsonb_agg(u.rel ORDER BY u.rel), '[]')
			                       FROM unnest(p.relations) u(rel)
			                       JOIN @extschema@.tracked_relations t
			                         ON t.rel::oid = to_regclass(u.rel)::oid),
			'active_quarantines', v_quar),
		'models', v_models);
	v_custom_f := jsonb_strip_nulls(v_custom_f);

	v_run := jsonb_build_object(
		'runId', @extschema@._ol_run_id(p.database, p.pull_id)::text,
		'facets', jsonb_build_object(
			'processing_engine', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet',
				'name', 'PostgreSQL',
				'version', current_setting('server_version'),
				'openlineageAdapterVersion', @extschema@.version()),
			'ai_guard', v_custom_f));
	v_job := jsonb_build_object(
		'namespace', v_ns,
		'name', p.database || '.ai_guard.' || CASE p.kind WHEN 'copy' THEN 'copy'
		        WHEN 'derivation' THEN 'derivation' ELSE 'pull' END
		        || coalesce('.' || p.purpose, ''),
		'facets', jsonb_build_object(
			'jobType', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
				'processingType', 'BATCH',
				'integration', 'AI_GUARD',
				'jobType', 'QUERY')));
	IF p.query IS NOT NULL THEN
		v_job := jsonb_set(v_job, '{facets,sql}', jsonb_build_object(
			'_producer', v_producer,
			'_schemaURL', v_facets || '1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet',
			'query', p.query,
			'dialect', 'postgres'));
	END IF;

	RETURN jsonb_build_object(
		'eventType', v_type,
		'eventTime', @extschema@._ol_time(coalesce(p.ended_at, p.started_at)),
		'producer', v_producer,
		'schemaURL', v_ol || '2-0-2/OpenLineage.json#/$defs/RunEvent',
		'run', v_run,
		'job', v_job,
		'inputs', v_inputs,
		'outputs', CASE WHEN p.status = 'refused' THEN '[]'::jsonb
		                ELSE jsonb_build_array(v_output) END);
END;
$$;
GRANT EXECUTE ON FUNCTION @extschema@.openlineage_event(pg_catalog.int8) TO PUBLIC;
COMMENT ON FUNCTION @extschema@.openlineage_event(pg_catalog.int8) IS
'an OpenLineage RunEvent (spec 2-0-2) describing one pull: job, run, input datasets with schema and classification, output statistics and column lineage (masked columns marked), and an ai_guard facet with digest, purpose, batches, licenses, consent and policies; for the role that made the pull or may read every record';
/*
 * Impact queries over row membership (src/lineage.c, 45_membership.sql) and
 * models (50_models.sql): which pulls and models contained given rows, one
 * person's rows, or rows of a quarantined source.  They run with the
 * caller's rights: reading the answers needs SELECT on the audit tables
 * (ai_guard.pulls, pull_members, pull_relations), as a compliance role has.
 */

CREATE FUNCTION @extschema@._tracked_root_name(rel pg_catalog.regclass)
RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
	  FROM @extschema@.tracked_relations t
	  JOIN pg_catalog.pg_class c ON c.oid = t.root
	  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	 WHERE t.rel = $1
$$;
COMMENT ON FUNCTION @extschema@._tracked_root_name(pg_catalog.regclass) IS
'internal: the name under which pulls record a tracked relation (its root), NULL if not tracked';

CREATE FUNCTION @extschema@.erasure_impact(rel pg_catalog.regclass,
	row_ids pg_catalog.int8[])
RETURNS TABLE (pull_id pg_catalog.int8, membership pg_catalog.text,
	matched_rows pg_catalog.int8, model_name pg_catalog.text,
	model_version pg_catalog.text, session_role pg_catalog.name,
	purpose pg_catalog.text, started_at pg_catalog.timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_rel text;
	v_ids int8[];
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'relation must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	v_rel := @extschema@._tracked_root_name(rel);
	IF v_rel IS NULL THEN
		RAISE EXCEPTION 'relation % is not tracked', rel
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Row membership is recorded for relations made tracked with ai_guard.track().';
	END IF;
	SELECT pg_catalog.array_agg(DISTINCT x ORDER BY x) INTO v_ids
	  FROM pg_catalog.unnest(row_ids) AS x WHERE x > 0;
	RETURN QUERY
	WITH hits AS (
		SELECT m.pull_id,
		       pg_catalog.sum(@extschema@.rowset_count_in(m.row_ids, v_ids))::int8 AS matched
		  FROM @extschema@.pull_members m
		 WHERE v_ids IS NOT NULL AND m.relation = v_rel
		   AND m.last_row_id >= v_ids[1]
		   AND m.first_row_id <= v_ids[pg_catalog.array_upper(v_ids, 1)]
		 GROUP BY m.pull_id
	), found AS (
		SELECT h.pull_id, 'exact'::text AS membership, h.matched
		  FROM hits h WHERE h.matched > 0
		UNION ALL
		-- a pull whose rows of rel are unknown may have contained them
		SELECT r.pull_id, 'unknown'::text, NULL::int8
		  FROM @extschema@.pull_relations r
		 WHERE r.relation = v_rel AND r.membership = 'unknown' AND v_ids IS NOT NULL
		UNION ALL
		-- so may one that read rel but recorded no membership (the server
		-- stopped before it ended, or it predates row membership)
		SELECT p.pull_id, 'unknown'::text, NULL::int8
		  FROM @extschema@.pulls p
		 WHERE v_ids IS NOT NULL AND p.status <> 'refused'
		   AND v_rel = ANY (p.relations)
		   AND NOT EXISTS (SELECT 1 FROM @extschema@.pull_relations r
		                    WHERE r.pull_id = p.pull_id AND r.relation = v_rel)
	)
	SELECT f.pull_id, f.membership, f.matched, mo.name, mo.version,
	       p.session_role, p.purpose, p.started_at
	  FROM found f
	  JOIN @extschema@.pulls p ON p.pull_id = f.pull_id
	  LEFT JOIN @extschema@.model_pulls mp ON mp.pull_id = f.pull_id
	  LEFT JOIN @extschema@.models mo ON mo.model_id = mp.model_id
	 ORDER BY f.pull_id, mo.name, mo.version;
END;
$$;
COMMENT ON FUNCTION @extschema@.erasure_impact(pg_catalog.regclass, pg_catalog.int8[]) IS
'the pulls (and the models trained on them) that delivered any of the given rows of a tracked relation: exact matches with how many rows, and pulls whose membership is unknown as possible matches';

CREATE FUNCTION @extschema@._subject_rows(value pg_catalog.text,
	OUT rel pg_catalog.regclass, OUT row_ids pg_catalog.int8[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ai_guard_subject_rows'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@._subject_rows(pg_catalog.text) IS
'internal: the rows of every tracked relation whose data-subject key column (label " subject") equals value; only for roles that may read ai_guard.pull_members (checked in C)';

CREATE FUNCTION @extschema@.subject_exposure(value pg_catalog.text)
RETURNS TABLE (relation pg_catalog.regclass, row_ids pg_catalog.int8[],
	pull_id pg_catalog.int8, membership pg_catalog.text,
	matched_rows pg_catalog.int8, model_name pg_catalog.text,
	model_version pg_catalog.text, session_role pg_catalog.name,
	purpose pg_catalog.text, started_at pg_catalog.timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.rel, s.row_ids, e.*
	  FROM @extschema@._subject_rows($1) s
	  LEFT JOIN LATERAL @extschema@.erasure_impact(s.rel, s.row_ids) e ON true
	 ORDER BY s.rel::pg_catalog.text, e.pull_id
$$;
COMMENT ON FUNCTION @extschema@.subject_exposure(pg_catalog.text) IS
'one data subject''s rows in every tracked relation (found through columns labelled " subject") and the pulls and models that contained them; needs SELECT on the audit tables';

CREATE FUNCTION @extschema@.quarantine_impact(quarantine_id pg_catalog.int8)
RETURNS TABLE (pull_id pg_catalog.int8, relation pg_catalog.text,
	membership pg_catalog.text, quarantined_batches pg_catalog.int8[],
	model_name pg_catalog.text, model_version pg_catalog.text,
	session_role pg_catalog.name, purpose pg_catalog.text,
	started_at pg_catalog.timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE qb(batch_id) AS (
		SELECT b.batch_id
		  FROM @extschema@.quarantines q
		  JOIN @extschema@.batches b
		    ON b.batch_id = q.batch_id OR b.source = q.source
		 WHERE q.quarantine_id = $1
		UNION
		-- rows derived from quarantined rows are tainted too
		SELECT d.batch_id FROM @extschema@.batches d, qb
		 WHERE qb.batch_id = ANY (d.derived_from)
	), tainted AS (
		SELECT pg_catalog.array_agg(batch_id) AS ids FROM qb
	), found AS (
		SELECT r.pull_id, r.relation, r.membership,
		       ARRAY(SELECT x FROM pg_catalog.unnest(r.batches) x
		              WHERE x = ANY (t.ids) ORDER BY x) AS batches
		  FROM @extschema@.pull_relations r, tainted t
		 WHERE r.membership = 'exact' AND r.batches OPERATOR(pg_catalog.&&) t.ids
		UNION ALL
		SELECT r.pull_id, r.relation, r.membership, NULL::int8[]
		  FROM @extschema@.pull_relations r, tainted t
		 WHERE r.membership = 'unknown'
		   AND EXISTS (SELECT 1 FROM @extschema@.relation_batches rb
		                WHERE @extschema@._tracked_root_name(rb.rel) = r.relation
		                  AND rb.batch_id = ANY (t.ids))
		UNION ALL
		-- pulls that read such a relation but recorded no membership
		SELECT p.pull_id, rel.name, 'unknown', NULL::int8[]
		  FROM (SELECT DISTINCT @extschema@._tracked_root_name(rb.rel) AS name
		          FROM @extschema@.relation_batches rb, tainted t
		         WHERE rb.batch_id = ANY (t.ids)) rel
		  JOIN @extschema@.pulls p
		    ON rel.name = ANY (p.relations) AND p.status <> 'refused'
		 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.pull_relations r
		                    WHERE r.pull_id = p.pull_id AND r.relation = rel.name)
	)
	SELECT f.pull_id, f.relation, f.membership, f.batches, mo.name, mo.version,
	       p.session_role, p.purpose, p.started_at
	  FROM found f
	  JOIN @extschema@.pulls p ON p.pull_id = f.pull_id
	  LEFT JOIN @extschema@.model_pulls mp ON mp.pull_id = f.pull_id
	  LEFT JOIN @extschema@.models mo ON mo.model_id = mp.model_id
	 ORDER BY f.pull_id, f.relation, mo.name, mo.version
$$;
COMMENT ON FUNCTION @extschema@.quarantine_impact(pg_catalog.int8) IS
'the pulls (and models trained on them) that delivered rows of a quarantined source or batch, or of batches derived from them; pulls with unknown membership of a relation holding such rows are listed as possible';
