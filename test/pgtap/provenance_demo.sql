-- pgTAP: provenance on the demo data set (demo.customers, 1,000 rows from
-- three sources whose source/license/consent are columns of the table).
BEGIN;
SELECT plan(24);

SELECT has_function('ai_guard', 'track', ARRAY['regclass'], 'track(regclass) exists');
SELECT has_function('ai_guard', 'tags', ARRAY['record'], 'tags(record) exists');
SELECT has_function('ai_guard', 'verify_rows', ARRAY['regclass'], 'verify_rows(regclass) exists');
SELECT has_table('ai_guard', 'batches', 'the batches catalog exists');
SELECT is((SELECT context FROM pg_settings WHERE name = 'ai_guard.require_ingest_context'),
          'superuser', 'require_ingest_context is superuser-only');

-- ingest the customers per source into a tracked training table
CREATE TABLE demo.training_customers (LIKE demo.customers);
SELECT lives_ok($$SELECT ai_guard.track('demo.training_customers')$$, 'an empty table is tracked');
CREATE TEMP TABLE ingested (source text, batch bigint, rows bigint);
DO $$
DECLARE r record; b bigint; n bigint;
BEGIN
	FOR r IN SELECT DISTINCT source, license, consent FROM demo.customers ORDER BY source LOOP
		b := ai_guard.begin_ingest(r.source, r.license, r.consent);
		INSERT INTO demo.training_customers
		SELECT * FROM demo.customers WHERE source = r.source;
		n := ai_guard.end_ingest();
		INSERT INTO ingested VALUES (r.source, b, n);
	END LOOP;
END $$;
SELECT is((SELECT count(*) FROM ingested), 3::bigint, 'three sources, three batches');
SELECT is((SELECT sum(rows) FROM ingested), 1000::numeric, 'the batches count every row');
SELECT is((SELECT count(*) FROM demo.training_customers t
            WHERE (ai_guard.tags(t)).source = t.source
              AND (ai_guard.tags(t)).license = t.license
              AND (ai_guard.tags(t)).consent = (SELECT array_agg(c ORDER BY c) FROM unnest(t.consent) c)),
          1000::bigint, 'every row carries its source, license and consent');
SELECT is((SELECT count(DISTINCT ai_guard_row_id) FROM demo.training_customers), 1000::bigint,
          'every row has its own row id');
SELECT is((SELECT count(*) FROM ai_guard.verify_rows('demo.training_customers')), 0::bigint,
          'no row is tampered');
SELECT results_eq(
	$$SELECT b.source, b.row_count FROM ai_guard.batches b JOIN ingested i ON i.batch = b.batch_id ORDER BY 1$$,
	$$SELECT source, count(*) FROM demo.customers GROUP BY 1 ORDER BY 1$$,
	'the batches catalog matches the sources');

-- consent per purpose class, for a non-owner
CREATE ROLE regress_provenance_scientist;
GRANT USAGE ON SCHEMA demo TO regress_provenance_scientist;
GRANT SELECT ON demo.training_customers TO regress_provenance_scientist;
SELECT ai_guard.grant_purpose('regress_provenance_scientist', c)
  FROM unnest(ARRAY['training', 'analytics']) AS c;
SELECT count(*) FILTER (WHERE 'training' = ANY (consent)) AS n_training,
       count(*) FILTER (WHERE 'analytics' = ANY (consent)) AS n_analytics,
       count(*) FILTER (WHERE 'training' = ANY (consent) AND source <> 'web_signup_us') AS n_training_left
  FROM demo.customers \gset
SET LOCAL ROLE regress_provenance_scientist;
SET LOCAL ai_guard.purpose = 'training:churn-v3';
SELECT is((SELECT count(*) FROM demo.training_customers), :n_training::bigint,
          'training sees the rows consented to training');
SELECT is((SELECT count(*) FROM demo.training_customers WHERE NOT ('training' = ANY (consent))),
          0::bigint, 'no row without training consent is visible for training');
SET LOCAL ai_guard.purpose = 'analytics:dashboard';
SELECT is((SELECT count(*) FROM demo.training_customers), :n_analytics::bigint,
          'analytics sees the rows consented to analytics');
RESET ai_guard.purpose;
SELECT throws_ok('SELECT count(*) FROM demo.training_customers', '42501', NULL,
                 'no declared purpose: the read is refused');
RESET ROLE;

-- quarantine a source: hidden at once
SELECT lives_ok($$SELECT ai_guard.quarantine('web_signup_us', 'pgTAP poisoning drill')$$,
                'a source is quarantined');
SET LOCAL ROLE regress_provenance_scientist;
SET LOCAL ai_guard.purpose = 'training:churn-v3';
SELECT is((SELECT count(*) FROM demo.training_customers), :n_training_left::bigint,
          'the quarantined source is hidden from training reads');
RESET ROLE;
SELECT throws_ok($$SELECT ai_guard.untrack('demo.training_customers')$$, '55000', NULL,
                 'a table with quarantined rows cannot be untracked');

-- tracking the loaded table backfills every row as unknown
SELECT lives_ok($$SELECT ai_guard.track('demo.customers')$$, 'demo.customers is tracked');
SELECT is((SELECT count(*) FROM demo.customers c WHERE (ai_guard.tags(c)).source = 'unknown'),
          1000::bigint, 'existing rows are backfilled with source unknown');
SELECT throws_ok($$SELECT ai_guard.track('demo.customers')$$, '42710', NULL,
                 'tracking twice is refused');
SELECT throws_ok($$SELECT ai_guard.track('pg_catalog.pg_tables')$$, '42809', NULL,
                 'a view cannot be tracked');

-- tamper after a trigger bypass
SET LOCAL session_replication_role = replica;
UPDATE demo.customers SET email = 'attacker@example.com' WHERE customer_id IN (1, 2, 3);
RESET session_replication_role;
SELECT is((SELECT array_agg(c.customer_id ORDER BY c.customer_id)
             FROM ai_guard.verify_rows('demo.customers') v
             JOIN demo.customers c ON c.ctid = v.row_ctid),
          ARRAY[1, 2, 3]::bigint[], 'verify_rows finds exactly the rows changed behind the trigger');

SELECT * FROM finish();
ROLLBACK;
