-- Creates the extension for the tests that follow; runs first.
CREATE EXTENSION ai_guard;
SELECT extversion FROM pg_extension WHERE extname = 'ai_guard';
SELECT ai_guard.version();
-- fixed schema, not relocatable
SELECT n.nspname, e.extrelocatable
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'ai_guard';
ALTER EXTENSION ai_guard SET SCHEMA public;
-- the library came from shared_preload_libraries
SHOW shared_preload_libraries;
