-- lineage: row budgets per role and purpose, refusals recorded
CREATE SCHEMA regress_bud;
CREATE TABLE regress_bud.t (id int PRIMARY KEY, v text);
INSERT INTO regress_bud.t SELECT g, 'v' || g FROM generate_series(1, 10) g;
SELECT ai_guard.govern('regress_bud.t');
CREATE ROLE regress_bud_ds;
GRANT USAGE ON SCHEMA regress_bud TO regress_bud_ds;
GRANT SELECT ON regress_bud.t TO regress_bud_ds;
SELECT ai_guard.grant_purpose('regress_bud_ds', 'training');
SELECT ai_guard.grant_purpose('regress_bud_ds', 'evaluation');

-- bad budgets
SELECT ai_guard.set_budget(NULL, 'training', 5, '1 hour');
SELECT ai_guard.set_budget('regress_bud_ds', NULL, 5, '1 hour');
SELECT ai_guard.set_budget('regress_bud_ds', 'Training!', 5, '1 hour');
SELECT ai_guard.set_budget('regress_bud_ds', 'training', -1, '1 hour');
SELECT ai_guard.set_budget('regress_bud_ds', 'training', 5, '0 seconds');
SELECT ai_guard.set_budget('regress_bud_ds', 'training', 5, '-1 day');
SELECT ai_guard.set_budget('regress_bud_ds', 'training', 5, NULL);
-- five rows of training per hour
SELECT ai_guard.set_budget('regress_bud_ds', 'training', 5, '1 hour');
SELECT role, purpose, max_rows, per, set_by FROM ai_guard.budgets;

SET ROLE regress_bud_ds;
-- only an administrator sets budgets
SELECT ai_guard.set_budget('regress_bud_ds', 'training', 500, '1 hour');
SET ai_guard.purpose = 'training:churn';
SELECT id FROM regress_bud.t ORDER BY id LIMIT 3;
-- three used: the next pull stops after two rows, recorded as refused
SELECT id FROM regress_bud.t ORDER BY id;
-- used up: refused before any row is read
SELECT id FROM regress_bud.t WHERE id = 1;
-- another purpose class is not charged
SET ai_guard.purpose = 'evaluation';
SELECT count(*) FROM regress_bud.t;
RESET ai_guard.purpose;
RESET ROLE;

SELECT ai_guard.audit_flush();
SELECT status, rows, detail FROM ai_guard.pulls
 WHERE "current_role" = 'regress_bud_ds' ORDER BY pull_id;
SELECT role, purpose, max_rows, used_rows, rows_left, pulls, refused FROM ai_guard.budget_usage;
-- a compliance role granted the view reads it (the charge function is public)
CREATE ROLE regress_bud_compliance;
GRANT SELECT ON ai_guard.budget_usage TO regress_bud_compliance;
SET ROLE regress_bud_compliance;
SELECT role, used_rows FROM ai_guard.budget_usage;
RESET ROLE;
REVOKE SELECT ON ai_guard.budget_usage FROM regress_bud_compliance;
DROP ROLE regress_bud_compliance;

-- a raised budget lets pulls through again; dropping it removes the limit
SELECT ai_guard.set_budget('regress_bud_ds', 'training', 100, '1 hour');
SET ROLE regress_bud_ds;
SET ai_guard.purpose = 'training:churn';
SELECT count(*) FROM regress_bud.t;
RESET ROLE;
SELECT ai_guard.drop_budget('regress_bud_ds', 'training');
SELECT ai_guard.drop_budget('regress_bud_ds', 'training');
SELECT count(*) FROM ai_guard.budget_usage;
SELECT intact FROM ai_guard.verify_audit();

RESET ai_guard.purpose;
DROP SCHEMA regress_bud CASCADE;
SELECT ai_guard.revoke_purpose('regress_bud_ds', 'training');
SELECT ai_guard.revoke_purpose('regress_bud_ds', 'evaluation');
DROP ROLE regress_bud_ds;
