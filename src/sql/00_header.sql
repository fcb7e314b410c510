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
