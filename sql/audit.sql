-- audit: govern(), purposes, refusals, records, protection of the audit tables
CREATE ROLE regress_audit_owner LOGIN;
CREATE ROLE regress_audit_ds LOGIN;
CREATE ROLE regress_audit_team;
GRANT regress_audit_team TO regress_audit_ds;
CREATE SCHEMA regress_audit AUTHORIZATION regress_audit_owner;
SELECT ai_guard.audit_flush();
SELECT coalesce(max(pull_id), 0) AS base FROM ai_guard.pulls \gset

SET ROLE regress_audit_owner;
CREATE TABLE regress_audit.people (id int PRIMARY KEY, email text, city text);
INSERT INTO regress_audit.people VALUES (1, 'a@example.com', 'Oslo'), (2, E'tab\there', NULL);
CREATE SEQUENCE regress_audit.s;
CREATE VIEW regress_audit.people_v AS SELECT id, city FROM regress_audit.people;
GRANT USAGE ON SCHEMA regress_audit TO regress_audit_ds;
GRANT SELECT ON regress_audit.people, regress_audit.people_v TO regress_audit_ds;
-- the owner governs its table; twice is fine
SELECT ai_guard.govern('regress_audit.people');
SELECT ai_guard.govern('regress_audit.people');
-- bad arguments
SELECT ai_guard.govern('regress_audit.s');
SELECT ai_guard.govern(NULL);
SELECT ai_guard.govern(4294967295::oid::regclass);
SELECT ai_guard.govern('ai_guard.pulls');
SELECT ai_guard.ungovern(NULL);
RESET ROLE;
SELECT ai_guard.govern('ai_guard.pulls');
SELECT rel, reason, added_by FROM ai_guard.governed_relations WHERE rel::text LIKE 'regress_audit.%';

-- only the owner may govern or ungovern
SET ROLE regress_audit_ds;
SELECT ai_guard.govern('regress_audit.people_v');
SELECT ai_guard.ungovern('regress_audit.people');
-- no purpose: refused before any row is read
SELECT * FROM regress_audit.people;
-- through a view too
SELECT * FROM regress_audit.people_v;
-- a purpose nobody granted
SET ai_guard.purpose = 'training:churn-v3';
SELECT * FROM regress_audit.people;
-- the settings that enforce this are not the reader's to change
SET ai_guard.require_purpose = off;
SET ai_guard.audit_failure = warn;
-- nor are the grants
SELECT ai_guard.grant_purpose('regress_audit_ds', 'training');
INSERT INTO ai_guard.purpose_grants VALUES ('regress_audit_ds', 'training', NULL);
RESET ROLE;

-- grants: validated
SELECT ai_guard.grant_purpose('regress_audit_ds', 'Training');
SELECT ai_guard.grant_purpose('regress_audit_ds', '');
SELECT ai_guard.grant_purpose('regress_audit_ds', NULL);
SELECT ai_guard.grant_purpose(NULL, 'training');
SELECT ai_guard.grant_purpose('regress_audit_ds', 'training', now() - interval '1 day');
SELECT ai_guard.grant_purpose('regress_no_such_role', 'training');
-- a full purpose covers only itself
SELECT ai_guard.grant_purpose('regress_audit_ds', 'evaluation:holdout');
SET ROLE regress_audit_ds;
SET ai_guard.purpose = 'evaluation:other';
SELECT * FROM regress_audit.people ORDER BY id;
SET ai_guard.purpose = 'evaluation:holdout';
SELECT * FROM regress_audit.people ORDER BY id;
SELECT ai_guard.last_pull_id() > :base AS has_pull_id;
RESET ROLE;
-- a class granted to a group covers every purpose of the class for members
SELECT ai_guard.grant_purpose('regress_audit_team', 'training', now() + interval '1 day');
SET ROLE regress_audit_ds;
SET ai_guard.purpose = 'training:churn-v3';
SELECT id, city FROM regress_audit.people_v WHERE id = 1;
SELECT count(*) FROM regress_audit.people WHERE email LIKE '%@%';
RESET ROLE;
SELECT role, purpose, valid_until IS NOT NULL AS expires, granted_by
  FROM ai_guard.purpose_grants WHERE role::text LIKE 'regress_audit%' ORDER BY 1, 2;
SELECT ai_guard.revoke_purpose('regress_audit_team', 'training');
SELECT ai_guard.revoke_purpose('regress_audit_team', 'training');
SET ROLE regress_audit_ds;
SELECT count(*) FROM regress_audit.people;
RESET ROLE;

-- what was recorded
SELECT ai_guard.audit_flush();
SELECT pull_id - :base AS n, status, kind, session_role, "current_role", purpose,
       relations, columns_returned, columns_filtered, rows, bytes, detail,
       digest = encode(sha256(convert_to(E'1\ta@example.com\tOslo\n2\ttab\\there\t\\N\n', 'UTF8')), 'hex') AS digest_ok,
       started_at <= coalesce(ended_at, started_at) AS times_ok
  FROM ai_guard.pulls WHERE pull_id > :base ORDER BY pull_id;
SELECT session_role, purpose, relations, detail
  FROM ai_guard.refused_reads WHERE pull_id > :base ORDER BY pull_id;
SELECT purpose, kind, pulls, completed, refused, rows
  FROM ai_guard.pulls_by_purpose WHERE purpose LIKE 'evaluation%' ORDER BY 1, 2;

-- nobody but the audit writer changes the audit tables
DELETE FROM ai_guard.pulls WHERE pull_id > :base;
UPDATE ai_guard.pulls SET purpose = 'x' WHERE pull_id > :base;
TRUNCATE ai_guard.pulls;
TRUNCATE ai_guard.audit_log;
UPDATE ai_guard.audit_state SET seq = 0;
SET session_replication_role = replica;
DELETE FROM ai_guard.pulls WHERE pull_id > :base;
RESET session_replication_role;
SELECT intact, problem FROM ai_guard.verify_audit();
SELECT length(head) AS head_length, seq > 0 AS has_records FROM ai_guard.audit_head();

-- a superuser may switch the purpose requirement off; the read is still recorded
SET ai_guard.require_purpose = off;
RESET ai_guard.purpose;
SELECT count(*) FROM regress_audit.people;
SELECT ai_guard.audit_flush();
SELECT status, purpose, rows FROM ai_guard.pulls WHERE pull_id = ai_guard.last_pull_id();
RESET ai_guard.require_purpose;

-- ungovern, and dropping a governed relation removes it from the list
SET ROLE regress_audit_owner;
-- its data was pulled: lifting governance needs a reason (kept in the log)
SELECT ai_guard.ungovern('regress_audit.people');
SELECT ai_guard.ungovern('regress_audit.people', 'moved to the archive');
SELECT ai_guard.ungovern('regress_audit.people', 'moved to the archive');
SELECT ai_guard.govern('regress_audit.people_v');
RESET ROLE;
SELECT rel FROM ai_guard.governed_relations WHERE rel::text LIKE 'regress_audit.%';
DROP VIEW regress_audit.people_v;
SELECT count(*) FROM ai_guard.governed_relations WHERE rel::text LIKE 'regress_audit.%';

DROP SCHEMA regress_audit CASCADE;
SELECT ai_guard.revoke_purpose('regress_audit_ds', 'evaluation:holdout');
DROP ROLE regress_audit_owner;
DROP ROLE regress_audit_ds;
DROP ROLE regress_audit_team;
