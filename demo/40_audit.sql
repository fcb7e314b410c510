-- audited training pulls: every governed read recorded before data leaves, hash-chained
\pset footer off

-- The platform team governs the customer table: from now on every read of it
-- needs a granted purpose and leaves a durable record in ai_guard.pulls.
SELECT ai_guard.govern('demo.customers');
SELECT ai_guard.grant_purpose('data_scientist', 'training', now() + interval '90 days');
-- Even a plain GRANT on the table does not undo masking: a role with masked
-- access reads PII columns only through masked views (checked at read time).
GRANT USAGE ON SCHEMA demo TO data_scientist;
GRANT SELECT ON demo.customers TO data_scientist;
-- compliance reads the evidence, and nobody can change it
GRANT SELECT ON ai_guard.pulls, ai_guard.pulls_by_purpose, ai_guard.refused_reads,
      ai_guard.pii_access TO compliance_officer;
GRANT EXECUTE ON FUNCTION ai_guard.verify_audit(), ai_guard.audit_head() TO compliance_officer;
-- ... and the raw chain, which ai-guard verify-chain recomputes itself
GRANT SELECT ON ai_guard.audit_log, ai_guard.governance_log TO compliance_officer;

-- A data scientist builds a churn training set.
SET ROLE data_scientist;
-- Without a declared purpose the read is refused before any row is read
-- (and the refusal itself is recorded).
\set ON_ERROR_STOP 0
SELECT count(*) FROM masked.customers;
-- A purpose that was never granted is refused too.
SET ai_guard.purpose = 'marketing:upsell';
SELECT count(*) FROM masked.customers;
-- The granted class "training" covers training:churn-v3, but raw birth
-- dates stay out of reach despite the GRANT (refused, and recorded):
SET ai_guard.purpose = 'training:churn-v3';
SELECT customer_id, birth_date FROM demo.customers LIMIT 5;
\set ON_ERROR_STOP 1
-- The governed path: the masked view (birth dates generalized to the decade).
SELECT customer_id, birth_date, country, segment
  FROM masked.customers WHERE country = 'DE' ORDER BY customer_id LIMIT 5;
-- The pull id to cite in the model card:
SELECT ai_guard.last_pull_id() AS pull_id \gset
\echo pull :pull_id
-- A ROLLBACK does not erase it: the record was committed by the audit writer
-- before the first row left.
BEGIN;
SELECT count(*) AS customers_in_de FROM masked.customers WHERE country = 'DE';
ROLLBACK;
RESET ai_guard.purpose;
RESET ROLE;
-- (completion records are written asynchronously; wait for them here)
SELECT ai_guard.audit_flush();

-- The compliance officer finds the pull.
SET ROLE compliance_officer;
SELECT pull_id, status, "current_role", purpose, relations, columns_returned,
       columns_filtered, rows, bytes, left(digest, 16) || '...' AS digest
  FROM ai_guard.pulls WHERE pull_id = :pull_id;
-- Everything read for training, by purpose:
SELECT purpose, pulls, completed, refused, rows
  FROM ai_guard.pulls_by_purpose WHERE purpose IS NOT NULL ORDER BY purpose;
-- Reads that were refused, and why:
SELECT pull_id, "current_role", purpose, relations, detail
  FROM ai_guard.refused_reads ORDER BY pull_id;
-- The evidence is intact; the head hash can be anchored outside the database.
SELECT intact, records, problem FROM ai_guard.verify_audit();
SELECT seq, left(head, 16) || '...' AS head FROM ai_guard.audit_head();
-- Even a superuser cannot quietly rewrite history:
RESET ROLE;
\set ON_ERROR_STOP 0
DELETE FROM ai_guard.pulls WHERE pull_id = :pull_id;
\set ON_ERROR_STOP 1

-- The digest identifies exactly what was delivered: the SHA-256 of the rows
-- in COPY text format, so `\copy (query) to file` + `sha256sum file` matches.
-- (The platform team checks it here; that read is governed and recorded too.)
SELECT ai_guard.grant_purpose(current_user::regrole, 'audit');
SET ai_guard.purpose = 'audit:digest-check';
SELECT digest = encode(sha256(convert_to(
         string_agg(concat_ws(E'\t', customer_id, birth_date, country, segment), E'\n'
                    ORDER BY customer_id) || E'\n', 'UTF8')), 'hex') AS digest_matches
  FROM (SELECT customer_id, birth_date, country, segment FROM masked.customers
         WHERE country = 'DE' ORDER BY customer_id LIMIT 5) s,
       (SELECT digest FROM ai_guard.pulls WHERE pull_id = :pull_id) p
 GROUP BY digest;
