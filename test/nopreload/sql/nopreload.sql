-- Without shared_preload_libraries, CREATE EXTENSION fails as a whole.
SHOW shared_preload_libraries;
CREATE EXTENSION ai_guard;
-- nothing half-installed
SELECT count(*) FROM pg_extension WHERE extname = 'ai_guard';
SELECT count(*) FROM pg_namespace WHERE nspname = 'ai_guard';
-- and a second attempt gives the same clear error, not a crash
CREATE EXTENSION ai_guard;
-- LOAD is refused the same way
LOAD 'ai_guard';
SELECT 1 AS still_connected;
