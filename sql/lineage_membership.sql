-- lineage: which rows each pull delivered (row membership), exactly, and the
-- impact queries built on it (erasure, data subject, quarantine)
CREATE SCHEMA regress_lin;
CREATE TABLE regress_lin.customers (cid int PRIMARY KEY, name text, country text);
CREATE TABLE regress_lin.orders (oid int PRIMARY KEY, cid int, amount numeric);
SELECT ai_guard.track('regress_lin.customers') IS NOT NULL AS tracked;
SELECT ai_guard.track('regress_lin.orders') IS NOT NULL AS tracked;
SELECT ai_guard.begin_ingest('crm', 'proprietary', '{training}') AS crm \gset
INSERT INTO regress_lin.customers SELECT g, 'name ' || g, CASE WHEN g % 2 = 0 THEN 'FR' ELSE 'DE' END
  FROM generate_series(1, 20) g;
SELECT ai_guard.end_ingest();
SELECT ai_guard.begin_ingest('vendor', 'CC-BY-4.0', '{training}') AS vendor \gset
INSERT INTO regress_lin.orders SELECT g, 1 + g % 20, g * 1.5 FROM generate_series(1, 60) g;
SELECT ai_guard.end_ingest();
SECURITY LABEL FOR ai_guard ON COLUMN regress_lin.customers.cid IS 'public subject';
SECURITY LABEL FOR ai_guard ON COLUMN regress_lin.customers.country IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_lin.orders.cid IS 'public subject';
SECURITY LABEL FOR ai_guard ON COLUMN regress_lin.orders.amount IS 'internal';
CREATE SCHEMA regress_lin_m;
SELECT ai_guard.create_masked_view('regress_lin.orders', 'regress_lin_m') IS NOT NULL AS view_made;

-- the data scientist pulls; the checks run as the superuser, reading the
-- row ids of the tables directly (independently of the membership)
CREATE ROLE regress_lin_ds;
GRANT USAGE ON SCHEMA regress_lin TO regress_lin_ds;
GRANT SELECT ON ALL TABLES IN SCHEMA regress_lin TO regress_lin_ds;
GRANT USAGE ON SCHEMA regress_lin_m TO regress_lin_ds;
GRANT SELECT ON ALL TABLES IN SCHEMA regress_lin_m TO regress_lin_ds;
SELECT ai_guard.grant_purpose('regress_lin_ds', 'training');

-- true when pull p delivered exactly the rows of rel whose ids are expected
CREATE FUNCTION regress_lin.exact(p int8, rel regclass, expected int8[]) RETURNS boolean
LANGUAGE sql AS $$
	SELECT (SELECT membership = 'exact' AND row_count = cardinality(expected)
	          FROM ai_guard.pull_relations
	         WHERE pull_id = p AND relation = ai_guard._tracked_root_name(rel))
	   AND (SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM ai_guard.pull_row_ids(p, rel) x)
	       = (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') FROM unnest(expected) x)
$$;
CREATE FUNCTION regress_lin.ids(rel regclass, cond text) RETURNS int8[]
LANGUAGE plpgsql AS $$
DECLARE r int8[];
BEGIN
	EXECUTE format('SELECT array_agg(ai_guard_row_id) FROM %s WHERE %s', rel, cond) INTO r;
	RETURN coalesce(r, '{}');
END $$;
CREATE FUNCTION regress_lin.membership(p int8) RETURNS TABLE (relation text, membership text, row_count int8)
LANGUAGE sql AS $$
	SELECT relation, membership, row_count FROM ai_guard.pull_relations
	 WHERE pull_id = p ORDER BY relation
$$;

SET ROLE regress_lin_ds;
SET ai_guard.purpose = 'training:churn';
-- a filter
SELECT count(*) FROM regress_lin.orders WHERE amount > 80;
SELECT ai_guard.last_pull_id() AS p_filter \gset
-- a join
SELECT count(*) FROM (SELECT o.oid, c.name FROM regress_lin.orders o
  JOIN regress_lin.customers c ON c.cid = o.cid WHERE c.country = 'FR' AND o.oid <= 30) j;
SELECT ai_guard.last_pull_id() AS p_join \gset
-- ORDER BY and LIMIT: only the rows delivered
SELECT oid FROM regress_lin.orders ORDER BY amount DESC LIMIT 3;
SELECT ai_guard.last_pull_id() AS p_limit \gset
-- aggregates: every row that fed the groups shown
SELECT c.country, count(*), sum(o.amount) FROM regress_lin.orders o
  JOIN regress_lin.customers c USING (cid) GROUP BY c.country HAVING c.country = 'DE';
SELECT ai_guard.last_pull_id() AS p_agg \gset
-- an outer join: the customers without orders over 100 are still delivered
SELECT count(*) FROM regress_lin.customers c
  LEFT JOIN regress_lin.orders o ON o.cid = c.cid AND o.amount > 85;
SELECT ai_guard.last_pull_id() AS p_outer \gset
-- the masked view, inside a subquery with LIMIT
SELECT count(*) FROM (SELECT * FROM regress_lin_m.orders WHERE cid = 3 LIMIT 2) s;
SELECT ai_guard.last_pull_id() AS p_view \gset
-- a cursor: only the rows fetched before it closed
BEGIN;
DECLARE c CURSOR FOR SELECT oid FROM regress_lin.orders WHERE oid > 50 ORDER BY oid;
FETCH 4 FROM c;
CLOSE c;
COMMIT;
SELECT ai_guard.last_pull_id() AS p_cursor \gset
-- shapes membership cannot follow: recorded as unknown, never guessed
SELECT count(*) FROM (SELECT DISTINCT cid FROM regress_lin.orders) d;
SELECT ai_guard.last_pull_id() AS p_distinct \gset
SELECT count(*) FROM regress_lin.customers
 WHERE cid IN (SELECT cid FROM regress_lin.orders WHERE amount > 80);
SELECT ai_guard.last_pull_id() AS p_sublink \gset
RESET ROLE;

SELECT ai_guard.audit_flush();
SELECT regress_lin.exact(:p_filter, 'regress_lin.orders',
                         regress_lin.ids('regress_lin.orders', 'amount > 80')) AS filter_exact;
SELECT regress_lin.exact(:p_join, 'regress_lin.orders',
         regress_lin.ids('regress_lin.orders', 'oid <= 30 AND cid % 2 = 0')) AS join_orders_exact,
       regress_lin.exact(:p_join, 'regress_lin.customers',
         regress_lin.ids('regress_lin.customers',
           'cid IN (SELECT cid FROM regress_lin.orders WHERE oid <= 30) AND country = ''FR''')) AS join_customers_exact;
SELECT regress_lin.exact(:p_limit, 'regress_lin.orders',
         regress_lin.ids('regress_lin.orders', 'oid >= 58')) AS limit_exact;
SELECT regress_lin.exact(:p_agg, 'regress_lin.orders',
         regress_lin.ids('regress_lin.orders', 'cid % 2 = 1')) AS agg_orders_exact,
       regress_lin.exact(:p_agg, 'regress_lin.customers',
         regress_lin.ids('regress_lin.customers', 'country = ''DE''')) AS agg_customers_exact;
SELECT regress_lin.exact(:p_outer, 'regress_lin.customers',
         regress_lin.ids('regress_lin.customers', 'true')) AS outer_customers_exact,
       regress_lin.exact(:p_outer, 'regress_lin.orders',
         regress_lin.ids('regress_lin.orders', 'amount > 85')) AS outer_orders_exact;
SELECT regress_lin.exact(:p_view, 'regress_lin.orders',
         regress_lin.ids('regress_lin.orders', 'oid IN (SELECT oid FROM regress_lin.orders WHERE cid = 3 ORDER BY oid LIMIT 2)')) AS view_exact;
SELECT regress_lin.exact(:p_cursor, 'regress_lin.orders',
         regress_lin.ids('regress_lin.orders', 'oid BETWEEN 51 AND 54')) AS cursor_exact;
SELECT * FROM regress_lin.membership(:p_distinct);
SELECT * FROM regress_lin.membership(:p_sublink);
-- the batches of the rows delivered are recorded too
SELECT batches = ARRAY[:vendor]::int8[] AS filter_batches
  FROM ai_guard.pull_relations WHERE pull_id = :p_filter;

-- a query cannot pose its own junk column as membership
DO $$ BEGIN
	EXECUTE format('CREATE TABLE regress_lin.forge (k int, %I int8)',
	               'ai_guard:row:' || 'regress_lin.orders'::regclass::oid);
END $$;
INSERT INTO regress_lin.forge VALUES (1, 999999999);
GRANT SELECT ON regress_lin.forge TO regress_lin_ds;
SELECT format('SELECT o.oid FROM regress_lin.orders o JOIN regress_lin.forge f ON f.k = 1'
              ' WHERE o.oid = 7 ORDER BY f.%I', 'ai_guard:row:' || 'regress_lin.orders'::regclass::oid)
       AS forged_query \gset
SET ROLE regress_lin_ds;
:forged_query;
SELECT ai_guard.last_pull_id() AS p_forged \gset
RESET ROLE;
SELECT ai_guard.audit_flush();
SELECT regress_lin.exact(:p_forged, 'regress_lin.orders',
         regress_lin.ids('regress_lin.orders', 'oid = 7')) AS forged_ignored;

-- erasure impact: the pulls that held given rows, and only those
SELECT regress_lin.ids('regress_lin.orders', 'oid = 60') AS row60 \gset
CREATE TEMP TABLE pull_names AS
SELECT * FROM (VALUES (:p_filter, 'filter'), (:p_join, 'join'), (:p_limit, 'limit'),
  (:p_agg, 'aggregate'), (:p_outer, 'outer join'), (:p_view, 'masked view'),
  (:p_cursor, 'cursor'), (:p_distinct, 'distinct'), (:p_sublink, 'sublink'),
  (:p_forged, 'forged')) v(pull_id, name);
SELECT n.name, e.membership, e.matched_rows
  FROM ai_guard.erasure_impact('regress_lin.orders', :'row60') e
  JOIN pull_names n USING (pull_id)
 ORDER BY e.pull_id;
-- nothing for a row never pulled; errors for bad arguments
SELECT count(*) FROM ai_guard.erasure_impact('regress_lin.orders', '{0, -5, NULL}');
SELECT * FROM ai_guard.erasure_impact('regress_lin.forge', '{1}');
SELECT * FROM ai_guard.erasure_impact(NULL, '{1}');

-- models: one trained on the masked-view pull (customer 3 is in it), one on
-- the join (French customers only: customer 3 is not)
SELECT ai_guard.register_model('regress-lin-a', '1', ARRAY[:p_view]) IS NOT NULL AS model_a;
SELECT ai_guard.register_model('regress-lin-b', '1', ARRAY[:p_join]) IS NOT NULL AS model_b;
-- a data subject: customer 3's rows in both tables, and the pulls that held them
SELECT e.relation, cardinality(e.row_ids) AS rows, n.name, e.membership, e.matched_rows
  FROM ai_guard.subject_exposure('3') e
  JOIN pull_names n USING (pull_id)
 ORDER BY 1, e.pull_id;
SELECT count(*) AS nobody FROM ai_guard.subject_exposure('no such customer');
-- exactly the models that contain customer 3
SELECT DISTINCT model_name FROM ai_guard.subject_exposure('3')
 WHERE model_name LIKE 'regress-lin-%' ORDER BY 1;
-- only for roles that may read the audit
SET ROLE regress_lin_ds;
SELECT * FROM ai_guard.subject_exposure('3');
RESET ROLE;

-- quarantine: the pulls that used the vendor's rows
SELECT ai_guard.quarantine('vendor', 'poisoned labels') AS q \gset
SELECT n.name, q.relation, q.membership, q.quarantined_batches = ARRAY[:vendor]::int8[] AS batches_named,
       q.model_name
  FROM ai_guard.quarantine_impact(:q) q
  JOIN pull_names n USING (pull_id)
 ORDER BY q.pull_id;
SELECT ai_guard.release(:q, 'false alarm') IS NOT NULL AS released;

-- membership is hash-chained: editing or deleting it breaks verify_audit()
SELECT intact FROM ai_guard.verify_audit();
UPDATE ai_guard.pull_members SET row_count = 0 WHERE pull_id = :p_filter;
BEGIN;
ALTER TABLE ai_guard.pull_members DISABLE TRIGGER USER;
UPDATE ai_guard.pull_members SET row_ids = '\x52010100000000' WHERE pull_id = :p_filter;
SELECT intact, broken_pull_id = :p_filter AS at_pull,
       regexp_replace(problem, '[0-9]+', 'N') AS problem FROM ai_guard.verify_audit();
ROLLBACK;
BEGIN;
ALTER TABLE ai_guard.pull_relations DISABLE TRIGGER USER;
DELETE FROM ai_guard.pull_relations WHERE pull_id = :p_join AND relation = 'regress_lin.customers';
SELECT intact, broken_pull_id = :p_join AS at_pull,
       regexp_replace(problem, '[0-9]+', 'N') AS problem FROM ai_guard.verify_audit();
ROLLBACK;
SELECT intact FROM ai_guard.verify_audit();

DELETE FROM ai_guard.models WHERE name LIKE 'regress-lin-%';
DROP SCHEMA regress_lin_m CASCADE;
DROP SCHEMA regress_lin CASCADE;
SELECT ai_guard.revoke_purpose('regress_lin_ds', 'training');
DROP ROLE regress_lin_ds;
