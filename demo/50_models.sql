-- models and lineage: register a model from its pulls, trace it to sources and licenses, export OpenLineage
-- A data scientist trains "churn" on pulls of a tracked, masked training
-- table and registers the model with the pulls it was trained on. A
-- compliance officer then answers: what is churn built from, under which
-- licenses and consent, and which models used the vendor feed that just
-- turned out to be poisoned?
\pset footer off

-- platform: a tracked training table fed by two sources, and a masked view of it
CREATE TABLE demo.churn_training (LIKE demo.customers INCLUDING ALL);
SELECT ai_guard.track('demo.churn_training') AS backfill_batch;
SELECT ai_guard.begin_ingest('crm_eu', 'CC-BY-4.0', '{training,analytics}') AS batch;
INSERT INTO demo.churn_training SELECT * FROM demo.customers WHERE source = 'crm_eu';
SELECT ai_guard.end_ingest() AS rows_in_batch;
SELECT ai_guard.begin_ingest('partner_acme', 'acme-data-eula-2026', '{training}') AS batch;
INSERT INTO demo.churn_training SELECT * FROM demo.customers WHERE source = 'partner_acme';
SELECT ai_guard.end_ingest() AS rows_in_batch;
SECURITY LABEL FOR ai_guard ON COLUMN demo.churn_training.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.churn_training.country IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN demo.churn_training.city IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN demo.churn_training.email IS 'pii:email mask=mask_email()';
SECURITY LABEL FOR ai_guard ON COLUMN demo.churn_training.birth_date IS 'pii:birth_date mask=generalize(''decade'')';
CREATE SCHEMA ml;
SELECT ai_guard.create_masked_view('demo.churn_training', 'ml');
-- (masked access covers masked views made later too: grant it only once)
SELECT ai_guard.grant_masked_access('data_scientist')
 WHERE NOT EXISTS (SELECT 1 FROM ai_guard.masked_access WHERE role = 'data_scientist'::regrole);
SELECT ai_guard.grant_purpose('data_scientist', 'training');
GRANT USAGE ON SCHEMA ml TO data_scientist;
-- compliance reads every pull, so it sees every model
GRANT SELECT ON ai_guard.pulls TO compliance_officer;
GRANT EXECUTE ON FUNCTION ai_guard.quarantine(text, text), ai_guard.release(bigint, text)
   TO compliance_officer;

-- data scientist (logged in as itself: the pulls are its own)
SET SESSION AUTHORIZATION data_scientist;
SET ai_guard.purpose = 'training:churn-v3';
SELECT customer_id, email, birth_date, country
  FROM ml.churn_training ORDER BY customer_id LIMIT 3;
SELECT ai_guard.last_pull_id() AS features_pull \gset
SELECT country, count(*) AS customers FROM ml.churn_training GROUP BY 1 ORDER BY 2 DESC LIMIT 3;
SELECT ai_guard.last_pull_id() AS stats_pull \gset
-- register the model with the pulls it was trained on and its model card
SELECT ai_guard.register_model('churn', 'v3', ARRAY[:features_pull, :stats_pull],
         '{"algorithm": "gradient boosting", "auc": 0.87, "owner": "data science"}') AS model_id;
-- a pull of another role, a refused or unknown pull cannot be registered;
-- the same version cannot be registered twice
\set ON_ERROR_STOP 0
SELECT ai_guard.register_model('churn', 'v3', ARRAY[:features_pull]);
\set ON_ERROR_STOP 1
-- its own model's lineage: model <- pulls <- masked view <- table <- batches
SELECT node, kind, label, parent FROM ai_guard.lineage('churn', 'v3');
-- the OpenLineage event of the pull, for a lineage service (Marquez, DataHub, ...)
SELECT ai_guard.openlineage_event(:features_pull) #>> '{eventType}' AS event_type,
       ai_guard.openlineage_event(:features_pull) #>> '{run,runId}' AS run_id,
       ai_guard.openlineage_event(:features_pull) #> '{run,facets,ai_guard,licenses}' AS licenses,
       ai_guard.openlineage_event(:features_pull) #> '{outputs,0,facets,columnLineage,fields,email,inputFields,1,transformations}' AS email_lineage;
RESET ai_guard.purpose;
RESET SESSION AUTHORIZATION;

-- compliance officer
SET SESSION AUTHORIZATION compliance_officer;
SELECT name, version, registered_by, pulls FROM ai_guard.visible_models() ORDER BY name, version;
-- what is churn (its latest version) built from?
SELECT detail ->> 'source' AS source, detail ->> 'license' AS license,
       detail -> 'consent' AS consent, detail ->> 'membership' AS membership
  FROM ai_guard.lineage('churn') WHERE kind = 'batch'
 GROUP BY 1, 2, 3, 4 ORDER BY 1;
-- the partner feed turns out to be poisoned: quarantine it, then find the models
SELECT ai_guard.quarantine('partner_acme', 'label poisoning found in the 2026-11 feed') AS quarantine_id \gset
SELECT m.name, m.version, l.label AS source, l.detail -> 'quarantined' AS quarantined
  FROM ai_guard.visible_models() m, ai_guard.lineage(m.name, m.version) l
 WHERE l.kind = 'source' AND l.label = 'partner_acme'
 GROUP BY 1, 2, 3, 4;
SELECT ai_guard.release(:quarantine_id, 'feed re-verified');
RESET SESSION AUTHORIZATION;
