-- ai_guard 0.2 -> 0.3 upgrade: changes to the objects that 0.2 created
--
-- The Makefile builds ai_guard--0.2--0.3.sql from this file followed by
-- every fragment of src/sql that 0.2 did not have (the names 0.2 had are
-- listed in src/sql/upgrade/0.2.fragments). So:
--   - a NEW fragment (src/sql/NN_*.sql) needs nothing here;
--   - a CHANGE to a fragment listed in 0.2.fragments needs its statement
--     here too (CREATE OR REPLACE FUNCTION, ALTER TABLE ... ADD COLUMN at the
--     end of the table, new GRANT/REVOKE/COMMENT, pg_extension_config_dump
--     of a new table ...), written so that the result equals a fresh install;
--   - test/scripts/upgrade_path.sh (in the test command) installs 0.1,
--     updates it through 0.2 to 0.3 and compares every object of the
--     extension, with its definition, with a fresh install.
-- See docs/UPGRADING.md.

\echo Use "ALTER EXTENSION ai_guard UPDATE TO '0.3'" to load this file. \quit
