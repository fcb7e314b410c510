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
