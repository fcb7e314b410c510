-- row membership: which rows each pull delivered, erasure impact, budgets, and "which models contain customer 42?"
-- Builds on the churn model of 50_models.sql. Every pull of a tracked table
-- records exactly which rows it delivered. The data scientist trains churn
-- v4 on a sample that includes new web sign-ups and runs into a row budget;
-- the compliance officer then answers an erasure request for customer 42.
\pset footer off

-- platform: web sign-ups join the training table; customer_id is the data
-- subject key (the label says " subject"); compliance may read the audit
SELECT ai_guard.begin_ingest('web_signup_us', 'CC-BY-4.0', '{training,evaluation}') AS batch;
INSERT INTO demo.churn_training SELECT * FROM demo.customers WHERE source = 'web_signup_us';
SELECT ai_guard.end_ingest() AS rows_in_batch;
SECURITY LABEL FOR ai_guard ON COLUMN demo.churn_training.customer_id IS 'public subject';
GRANT SELECT ON ai_guard.pull_relations, ai_guard.pull_members, ai_guard.models,
                ai_guard.model_pulls, ai_guard.budget_usage TO compliance_officer;
-- at most 500 training rows a day for the data scientist
SELECT ai_guard.set_budget('data_scientist', 'training', 500, '1 day');

-- data scientist
SET SESSION AUTHORIZATION data_scientist;
SET ai_guard.purpose = 'training:churn-v4';
-- a filtered sample, and per-country counts: the rows behind both are recorded
SELECT count(*) AS sample_rows FROM ml.churn_training WHERE customer_id % 7 = 0;
SELECT ai_guard.last_pull_id() AS sample_pull \gset
SELECT country, count(*) FROM ml.churn_training WHERE customer_id <= 100 GROUP BY 1 ORDER BY 2 DESC LIMIT 2;
SELECT ai_guard.last_pull_id() AS stats_pull \gset
SELECT ai_guard.register_model('churn', 'v4', ARRAY[:sample_pull, :stats_pull],
         '{"algorithm": "gradient boosting", "auc": 0.89}') AS model_id;
-- the whole table (to a file) would go over the day's budget: stopped at the limit
\set ON_ERROR_STOP 0
\o /dev/null
SELECT * FROM ml.churn_training;
\o
\set ON_ERROR_STOP 1
RESET ai_guard.purpose;
RESET SESSION AUTHORIZATION;

-- compliance officer
SET SESSION AUTHORIZATION compliance_officer;
-- what each of those pulls contained
SELECT pull_id, relation, membership, row_count, reason
  FROM ai_guard.pull_relations WHERE pull_id IN (:sample_pull, :stats_pull) ORDER BY pull_id;
-- the budget, and the refusal
SELECT role, purpose, max_rows, used_rows, rows_left, refused FROM ai_guard.budget_usage;
SELECT pull_id, status, rows, detail FROM ai_guard.pulls
 WHERE "current_role" = 'data_scientist' AND status = 'refused' ORDER BY pull_id DESC LIMIT 1;
-- "Customer 42 asks to be erased. Which models contain their data?"
SELECT DISTINCT relation, model_name, model_version, membership, matched_rows
  FROM ai_guard.subject_exposure('42')
 WHERE model_name IS NOT NULL
 ORDER BY model_name, model_version;
-- and every pull that delivered their rows, by whom and why
SELECT pull_id, membership, matched_rows, session_role, purpose
  FROM ai_guard.subject_exposure('42') WHERE pull_id IS NOT NULL ORDER BY pull_id;
-- the evidence is intact, membership included
SELECT intact, records FROM ai_guard.verify_audit();
RESET SESSION AUTHORIZATION;
SELECT ai_guard.drop_budget('data_scientist', 'training');
