-- models: register_model, lineage, pull_provenance; who may do what
SET client_min_messages = warning;
-- errors as SQLSTATE and message, with ids (which depend on earlier tests) as N
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(^|[^A-Za-z0-9_])-?[0-9]+', '\1N', 'g');
END $$;

CREATE ROLE regress_models_ds LOGIN;
CREATE ROLE regress_models_other LOGIN;
CREATE ROLE regress_models_compliance LOGIN;
GRANT SELECT ON ai_guard.pulls TO regress_models_compliance;

CREATE SCHEMA regress_models;
GRANT USAGE ON SCHEMA regress_models TO PUBLIC;
CREATE TABLE regress_models.train (id int PRIMARY KEY, email text, score int);
SELECT ai_guard.track('regress_models.train') > 0 AS tracked;
SELECT ai_guard.begin_ingest('regress_models_crm', 'CC-BY-4.0', '{training}') AS crm_batch \gset
INSERT INTO regress_models.train SELECT g, 'u' || g || '@example.com', g % 7 FROM generate_series(1, 20) g;
SELECT ai_guard.end_ingest();
SELECT ai_guard.begin_ingest('regress_models_vendor', 'vendor-eula', '{training,analytics}') > 0 AS batch;
INSERT INTO regress_models.train SELECT g, 'v' || g || '@example.com', g % 5 FROM generate_series(21, 30) g;
SELECT ai_guard.end_ingest();
GRANT SELECT ON regress_models.train TO regress_models_ds, regress_models_other;
SELECT ai_guard.grant_purpose('regress_models_ds', 'training');
SELECT ai_guard.grant_purpose('regress_models_other', 'training');

-- pulls by two data scientists, one refused
SET SESSION AUTHORIZATION regress_models_ds;
SET ai_guard.purpose = 'training:regress-models';
SELECT count(*) FROM regress_models.train WHERE score > 2;
SELECT ai_guard.last_pull_id() AS ds_pull1 \gset
SELECT id FROM regress_models.train WHERE id IN (1, 25) ORDER BY id;
SELECT ai_guard.last_pull_id() AS ds_pull2 \gset
-- rows of the first batch only
SELECT id FROM regress_models.train WHERE id <= 3 ORDER BY id;
SELECT ai_guard.last_pull_id() AS ds_pull3 \gset
SET ai_guard.purpose = 'marketing:regress-models';
SELECT count(*) FROM regress_models.train;
SELECT ai_guard.last_pull_id() AS ds_refused \gset
SET ai_guard.purpose = 'training:regress-models';
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_models_other;
SET ai_guard.purpose = 'training:regress-models';
SELECT count(*) FROM regress_models.train;
SELECT ai_guard.last_pull_id() AS other_pull \gset
RESET SESSION AUTHORIZATION;

-- a data scientist registers a model from its own pulls (completions are
-- flushed by register_model itself)
SET SESSION AUTHORIZATION regress_models_ds;
SELECT ai_guard.register_model('regress_churn', 'v1', ARRAY[:ds_pull1, :ds_pull2, :ds_pull1],
                               '{"algorithm": "gbm", "auc": 0.81}') > 0 AS registered;
-- bad input: each a clear error
SELECT pg_temp.try(x) FROM (VALUES
  (format('SELECT ai_guard.register_model(''regress_churn'', ''v1'', ARRAY[%s])', :ds_pull1)),
  (format('SELECT ai_guard.register_model(''regress_churn'', ''v2'', ARRAY[%s])', :other_pull)),
  (format('SELECT ai_guard.register_model(''regress_churn'', ''v2'', ARRAY[%s])', :ds_refused)),
  ('SELECT ai_guard.register_model(''regress_churn'', ''v2'', ARRAY[-5])'),
  ('SELECT ai_guard.register_model(''regress_churn'', ''v2'', NULL)'),
  ('SELECT ai_guard.register_model(''regress_churn'', ''v2'', ''{}'')'),
  ('SELECT ai_guard.register_model(''regress_churn'', ''v2'', ARRAY[NULL]::bigint[])'),
  (format('SELECT ai_guard.register_model(NULL, ''v2'', ARRAY[%s])', :ds_pull1)),
  (format('SELECT ai_guard.register_model(''  '', ''v2'', ARRAY[%s])', :ds_pull1)),
  (format('SELECT ai_guard.register_model(''regress_churn'', repeat(''x'', 101), ARRAY[%s])', :ds_pull1)),
  (format('SELECT ai_guard.register_model(''regress:churn'', ''v2'', ARRAY[%s])', :ds_pull1)),
  (format('SELECT ai_guard.register_model(E''regress\nchurn'', ''v2'', ARRAY[%s])', :ds_pull1)),
  (format('SELECT ai_guard.register_model(''regress_churn'', ''v2'', ARRAY[%s], ''[1, 2]'')', :ds_pull1)),
  ('SELECT ai_guard.register_model(''regress_churn'', ''v2'', (SELECT array_agg(g) FROM generate_series(1, 100001) g))'),
  (format('SELECT ai_guard.register_model(''regress_churn'', ''v2'', ARRAY[%s], jsonb_build_object(''blob'', repeat(md5(''x''), 70000)))', :ds_pull1))
) AS t(x);
-- a NULL metadata is an empty object
SELECT ai_guard.register_model('regress_churn', 'v2', ARRAY[:ds_pull2], NULL) > 0 AS registered;
-- the catalog itself is closed
SELECT pg_temp.try('SELECT * FROM ai_guard.models');
SELECT pg_temp.try('INSERT INTO ai_guard.model_pulls VALUES (1, 1)');
SELECT pg_temp.try('SELECT nextval(''ai_guard.models_model_id_seq'')');

-- lineage: the latest version by default, the graph down to sources
SELECT kind, label FROM ai_guard.lineage('regress_churn')
 WHERE kind IN ('model', 'relation', 'source', 'license', 'consent') ORDER BY kind, label;
SELECT kind, count(*) FROM ai_guard.lineage('regress_churn', 'v1') GROUP BY kind ORDER BY kind;
-- every edge points to a node of the graph
SELECT count(*) AS dangling FROM ai_guard.lineage('regress_churn', 'v1') l
 WHERE l.parent IS NOT NULL
   AND l.parent NOT IN (SELECT node FROM ai_guard.lineage('regress_churn', 'v1'));
-- pulls hang below the model, in the model's order; metadata kept
SELECT detail -> 'metadata' AS metadata FROM ai_guard.lineage('regress_churn', 'v1') WHERE kind = 'model';
SELECT (detail ->> 'pull_id')::bigint IN (:ds_pull1, :ds_pull2) AS own_pull, parent LIKE 'model:%' AS under_model
  FROM ai_guard.lineage('regress_churn', 'v1') WHERE kind = 'pull';
SELECT DISTINCT parent LIKE 'relation:%' AS under_relation
  FROM ai_guard.lineage('regress_churn', 'v1') WHERE kind = 'batch';
SELECT count(*) AS batches FROM ai_guard.pull_provenance(:ds_pull1);
SELECT DISTINCT source, license, consent FROM ai_guard.pull_provenance(:ds_pull1) ORDER BY 1;
SELECT pg_temp.try(x) FROM (VALUES
  ('SELECT ai_guard.lineage(''regress_churn'', ''v9'')'),
  ('SELECT ai_guard.lineage(''regress_nothing'')'),
  ('SELECT ai_guard.lineage(NULL)')) AS t(x);
RESET SESSION AUTHORIZATION;

-- another data scientist sees neither the model nor the provenance of the pulls
SET SESSION AUTHORIZATION regress_models_other;
SELECT pg_temp.try('SELECT ai_guard.lineage(''regress_churn'', ''v1'')');
SELECT name, version FROM ai_guard.visible_models() WHERE name LIKE 'regress\_%' ORDER BY 1, 2;
SELECT count(*) FROM ai_guard.pull_provenance(:ds_pull1);
SELECT ai_guard.register_model('regress_other', 'v1', ARRAY[:other_pull]) > 0 AS registered;
RESET SESSION AUTHORIZATION;

-- compliance (may read ai_guard.pulls) sees every model, and may register
-- a model from anyone's pulls
SET SESSION AUTHORIZATION regress_models_compliance;
SELECT count(*) > 0 AS sees_ds_model FROM ai_guard.lineage('regress_churn', 'v1');
SELECT count(*) > 0 AS sees_other_model FROM ai_guard.lineage('regress_other');
SELECT ai_guard.register_model('regress_audit_set', '2026-11', ARRAY[:ds_pull1, :other_pull]) > 0 AS registered;
SELECT count(*) AS pulls FROM ai_guard.lineage('regress_audit_set') WHERE kind = 'pull';
SELECT name, version, pulls FROM ai_guard.visible_models() WHERE name LIKE 'regress\_%' ORDER BY 1, 2;
RESET SESSION AUTHORIZATION;
-- a model mixing two roles' pulls is visible to neither of them
SET SESSION AUTHORIZATION regress_models_ds;
SELECT pg_temp.try('SELECT ai_guard.lineage(''regress_audit_set'')');
SELECT name, version, pulls FROM ai_guard.visible_models() WHERE name LIKE 'regress\_%' ORDER BY 1, 2;
RESET SESSION AUTHORIZATION;

-- batches are exact where the audit writer recorded the pull's row
-- membership, else "possible" (every batch written before the pull ended)
SELECT bool_and(l.detail ->> 'membership' =
                CASE WHEN EXISTS (SELECT 1 FROM ai_guard.pull_relations pr
                                   WHERE pr.pull_id = (p.detail ->> 'pull_id')::bigint
                                     AND pr.membership = 'exact')
                     THEN 'exact' ELSE 'possible' END) AS membership_as_recorded
  FROM ai_guard.lineage('regress_churn', 'v1') l
  JOIN ai_guard.lineage('regress_churn', 'v1') p ON p.kind = 'pull'
   AND l.parent IN (SELECT r.node FROM ai_guard.lineage('regress_churn', 'v1') r
                     WHERE r.parent = p.node)
 WHERE l.kind = 'batch';
-- a pull of first-batch rows only: with its membership recorded (here
-- restored the way pg_restore would, unless the writer recorded it), the
-- lineage names that batch alone, as exact
SET ai_guard.audit_restore = on;
INSERT INTO ai_guard.pull_relations (pull_id, relation, membership, row_count, batches)
SELECT :ds_pull3, 'regress_models.train', 'exact', 3, ARRAY[:crm_batch]::bigint[]
 WHERE NOT EXISTS (SELECT 1 FROM ai_guard.pull_relations WHERE pull_id = :ds_pull3);
RESET ai_guard.audit_restore;
SELECT ai_guard.register_model('regress_churn', 'v3', ARRAY[:ds_pull3]) > 0 AS registered;
SELECT kind, CASE kind WHEN 'batch' THEN 'batch of ' || (detail ->> 'source') ELSE label END AS label,
       detail ->> 'membership' AS membership
  FROM ai_guard.lineage('regress_churn', 'v3')
 WHERE kind IN ('relation', 'batch', 'source') ORDER BY kind, label;
SELECT (ai_guard.openlineage_event(:ds_pull3) #>> '{run,facets,ai_guard,membership}') AS event_membership,
       (ai_guard.openlineage_event(:ds_pull3) #> '{run,facets,ai_guard,licenses}') AS event_licenses;

-- quarantine shows in the lineage
SELECT ai_guard.quarantine('regress_models_vendor', 'poisoned feed') > 0 AS quarantined;
SELECT label, detail -> 'quarantined' AS quarantined FROM ai_guard.lineage('regress_churn', 'v1')
 WHERE kind = 'source' GROUP BY 1, 2 ORDER BY 1;

-- dump support: the catalog is dumped with the extension
SELECT c.relname, x.extconfig IS NOT NULL AS dumped
  FROM pg_class c, pg_extension x
 WHERE x.extname = 'ai_guard' AND c.oid = ANY (x.extconfig)
   AND c.relname IN ('models', 'model_pulls', 'models_model_id_seq') ORDER BY 1;
-- every function of this part has a comment; privileged internals are closed
SELECT p.proname, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented,
       has_function_privilege('regress_models_other', p.oid, 'EXECUTE') AS public_exec,
       p.prosecdef AS definer,
       coalesce(array_to_string(p.proconfig, ','), '') AS config
  FROM pg_proc p
 WHERE p.pronamespace = 'ai_guard'::regnamespace
   AND p.proname IN ('register_model', 'lineage', 'pull_provenance', 'openlineage_event',
                     '_pull_batches', '_visible_model', '_sees_all_pulls', '_ol_run_id',
                     '_ol_namespace', '_ol_time', 'visible_models')
 ORDER BY 1;

-- clean up
DELETE FROM ai_guard.quarantines WHERE source = 'regress_models_vendor';
DELETE FROM ai_guard.models WHERE name LIKE 'regress\_%';
DROP SCHEMA regress_models CASCADE;
DELETE FROM ai_guard.purpose_grants WHERE role::text LIKE 'regress\_models\_%';
REVOKE SELECT ON ai_guard.pulls FROM regress_models_compliance;
DROP ROLE regress_models_ds, regress_models_other, regress_models_compliance;
