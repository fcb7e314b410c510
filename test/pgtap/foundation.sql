-- pgTAP: the extension's shape and its GUCs.
BEGIN;
SELECT plan(9);

SELECT has_extension('ai_guard', 'ai_guard is installed');
SELECT has_schema('ai_guard', 'schema ai_guard exists');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'ai_guard'),
          false, 'ai_guard is not relocatable');
SELECT is(ai_guard.version(),
          (SELECT extversion FROM pg_extension WHERE extname = 'ai_guard'),
          'library version matches the installed SQL version');
SELECT has_function('ai_guard', 'version', ARRAY[]::text[], 'ai_guard.version() exists');
SELECT is((SELECT context FROM pg_settings WHERE name = 'ai_guard.purpose'),
          'user', 'ai_guard.purpose is user-settable');
SELECT lives_ok($$SET LOCAL ai_guard.purpose = 'training:churn-v3'$$,
                'a well-formed purpose is accepted');
SELECT throws_ok($$SET LOCAL ai_guard.purpose = 'Training'$$, '22023', NULL,
                 'a malformed purpose class is refused with 22023');
SELECT throws_ok($$SET LOCAL ai_guard.unknown_setting = 'x'$$, '42602', NULL,
                 'the ai_guard prefix is reserved');

SELECT * FROM finish();
ROLLBACK;
