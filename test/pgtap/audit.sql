-- pgTAP: the audit's SQL surface on the demo data set: objects, privileges,
-- a governed read of demo.tickets and its record. Runs in one transaction
-- that is rolled back (the audit records themselves are not: they are
-- written by the audit writer in its own transactions, which is the point).
BEGIN;
SELECT plan(18);

SELECT has_table('ai_guard', 'pulls', 'ai_guard.pulls exists');
SELECT has_column('ai_guard', 'pulls', 'current_role', 'pulls has current_role');
SELECT columns_are('ai_guard', 'pulls', ARRAY[
	'pull_id', 'status', 'kind', 'started_at', 'ended_at', 'session_role', 'current_role',
	'client_addr', 'application_name', 'backend_pid', 'database', 'purpose', 'query',
	'client_query', 'query_id', 'nesting_level', 'param_count', 'param_types', 'relations',
	'columns_returned', 'columns_filtered', 'columns_pii', 'columns_encrypted', 'masks',
	'target', 'rows', 'bytes', 'digest', 'snapshot_xmin', 'snapshot_xmax', 'snapshot_xip',
	'detail', 'prev_hash', 'record_hash', 'rows_read'], 'pulls has the documented columns');
SELECT has_function('ai_guard', 'verify_audit', 'verify_audit() exists');
SELECT has_function('ai_guard', 'audit_head', 'audit_head() exists');
SELECT has_function('ai_guard', 'last_pull_id', 'last_pull_id() exists');
SELECT ok(NOT has_table_privilege('public', 'ai_guard.pulls', 'SELECT'),
	'PUBLIC cannot read the audit records');
SELECT ok(NOT has_function_privilege('public', 'ai_guard.grant_purpose(regrole, text, timestamptz)', 'EXECUTE'),
	'PUBLIC cannot grant purposes');
SELECT ok(has_function_privilege('public', 'ai_guard.govern(regclass)', 'EXECUTE'),
	'anyone may call govern() (ownership is checked in C)');
SELECT is((SELECT setting FROM pg_settings WHERE name = 'ai_guard.require_purpose'), 'on',
	'require_purpose is on by default');
SELECT is((SELECT context FROM pg_settings WHERE name = 'ai_guard.audit_failure'), 'superuser',
	'audit_failure is superuser-only');

SELECT ai_guard.govern('demo.tickets');
-- a superuser is recorded, not refused (require_purpose could not stop one)
SELECT lives_ok('SELECT count(*) FROM demo.tickets',
	'a superuser''s read without a purpose goes through');
SELECT ai_guard.audit_flush();
SELECT is((SELECT status || ':' || coalesce(purpose, '') FROM ai_guard.pulls
	        WHERE pull_id = ai_guard.last_pull_id()), 'completed:',
	'and is recorded, with no purpose');

CREATE ROLE regress_audit_tap;
GRANT USAGE ON SCHEMA demo TO regress_audit_tap;
GRANT SELECT ON demo.tickets TO regress_audit_tap;
SELECT ai_guard.grant_purpose('regress_audit_tap'::regrole, 'evaluation');
SET LOCAL ROLE regress_audit_tap;
SELECT throws_ok('SELECT count(*) FROM demo.tickets', '42501', NULL,
	'a governed read without a purpose is refused');
SET LOCAL ai_guard.purpose = 'evaluation:pgtap';
SELECT is((SELECT count(*) FROM demo.tickets WHERE channel IS NOT NULL), 1000::bigint,
	'with a granted purpose the read goes through');
SELECT ai_guard.audit_flush();
RESET ROLE;
SELECT results_eq(
	$$SELECT status, kind, rows, relations, columns_filtered
	    FROM ai_guard.pulls WHERE pull_id = ai_guard.last_pull_id()$$,
	$$VALUES ('completed'::text, 'read'::text, 1::bigint, ARRAY['demo.tickets'],
	          ARRAY['demo.tickets.channel'])$$,
	'the pull is recorded: outcome, rows, relation, filtered column');
SELECT is((SELECT intact FROM ai_guard.verify_audit()), true, 'the chain verifies');
SELECT throws_ok('DELETE FROM ai_guard.pulls', '42501', NULL,
	'audit records cannot be deleted');

SELECT * FROM finish();
ROLLBACK;
