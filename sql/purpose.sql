-- ai_guard.purpose: a user-settable GUC, shown by SHOW, validated.
SHOW ai_guard.purpose;
SET ai_guard.purpose = 'training:churn-v3';
SHOW ai_guard.purpose;
SELECT current_setting('ai_guard.purpose');
SELECT name, setting, context, vartype FROM pg_settings WHERE name = 'ai_guard.purpose';
RESET ai_guard.purpose;
SHOW ai_guard.purpose;

-- a class alone is a purpose
SET ai_guard.purpose = 'analytics';
SHOW ai_guard.purpose;

-- transaction-scoped, like any GUC
BEGIN;
SET LOCAL ai_guard.purpose = 'evaluation:holdout-2025';
SHOW ai_guard.purpose;
ROLLBACK;
SHOW ai_guard.purpose;

-- malformed purposes are refused and leave the setting unchanged
SET ai_guard.purpose = 'Training:x';
SET ai_guard.purpose = ':churn';
SET ai_guard.purpose = 'training churn';
SET ai_guard.purpose = 'tr;aining';
SET ai_guard.purpose = E'training:line\nbreak';
SHOW ai_guard.purpose;

-- an ordinary role may set it
CREATE ROLE regress_purpose_user;
SET ROLE regress_purpose_user;
SET ai_guard.purpose = 'training:by-user';
SHOW ai_guard.purpose;
RESET ROLE;
DROP ROLE regress_purpose_user;
RESET ai_guard.purpose;

-- the ai_guard.* prefix is reserved: typos are errors, not silent placeholders
SET ai_guard.purpse = 'training';
SHOW ai_guard.no_such_setting;
