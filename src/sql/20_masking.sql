
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

CREATE FUNCTION @extschema@.drop_masked_view(view pg_catalog.regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_drop_masked_view'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.drop_masked_view(pg_catalog.regclass) IS
'drops a masked view (its owner); masked views cannot be dropped, replaced or altered by hand';
