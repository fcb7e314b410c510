-- provenance: every training row says where it came from, under which license and consent
-- The data engineer ingests the demo customers from their three sources into a
-- tracked training table; the data scientist sees only rows whose consent
-- covers the declared purpose; compliance quarantines a source, checks the
-- batches and finds rows changed behind the database's back.
\pset footer off

-- platform: a training table owned by the data engineer, readable by the others
CREATE TABLE demo.training_customers (LIKE demo.customers INCLUDING ALL);
ALTER TABLE demo.training_customers OWNER TO data_engineer;
GRANT CREATE ON SCHEMA demo TO data_engineer;
GRANT USAGE ON SCHEMA demo TO data_scientist, compliance_officer;
GRANT SELECT ON demo.training_customers TO data_scientist, compliance_officer;
GRANT SELECT ON ai_guard.batch_summary TO compliance_officer;
GRANT EXECUTE ON FUNCTION ai_guard.quarantine(text, text),
                          ai_guard.quarantine_batch(bigint, text),
                          ai_guard.release(bigint, text) TO compliance_officer;
-- tracked tables are governed: every read needs a declared purpose granted
-- to the reader (see the audit part of the demo)
SELECT ai_guard.grant_purpose('data_engineer', 'evaluation');
SELECT ai_guard.grant_purpose('data_scientist', 'training');
SELECT ai_guard.grant_purpose('data_scientist', 'analytics');

-- data engineer: track the table (adds the provenance columns, the stamping
-- trigger and the consent policy)
SET ROLE data_engineer;
SET ai_guard.purpose = 'evaluation:ingest-check';
SELECT ai_guard.track('demo.training_customers') AS backfill_batch;

-- ingest each source in its own batch: source, license and consent come from the feed
SELECT ai_guard.begin_ingest(source, license, consent) AS batch
  FROM demo.customers WHERE source = 'crm_eu' LIMIT 1;
INSERT INTO demo.training_customers SELECT * FROM demo.customers WHERE source = 'crm_eu';
SELECT ai_guard.end_ingest() AS rows_in_batch;

SELECT ai_guard.begin_ingest(source, license, consent) AS batch
  FROM demo.customers WHERE source = 'web_signup_us' LIMIT 1;
INSERT INTO demo.training_customers SELECT * FROM demo.customers WHERE source = 'web_signup_us';
SELECT ai_guard.end_ingest() AS rows_in_batch;

SELECT ai_guard.begin_ingest(source, license, consent) AS batch
  FROM demo.customers WHERE source = 'partner_acme' LIMIT 1;
INSERT INTO demo.training_customers SELECT * FROM demo.customers WHERE source = 'partner_acme';
-- a writer cannot forge provenance: the values it supplies are overwritten
INSERT INTO demo.training_customers (customer_id, full_name, email, phone, card_number, iban,
       birth_date, street, city, country, source, license, consent,
       ai_guard_row_id, ai_guard_batch, ai_guard_digest)
VALUES (100001, 'Late Arrival', 'late@example.org', '+1 555 0100', '4111111111111111',
        'DE89370400440532013000', '1990-01-01', '1 Main St', 'Springfield', 'US',
        'partner_acme', 'CC-BY-NC-4.0', '{analytics}', 1, 1, '\x00');
SELECT ai_guard.end_ingest() AS rows_in_batch;
SELECT customer_id, ai_guard_row_id, ai_guard_batch, left(encode(ai_guard_digest, 'hex'), 16) AS digest
  FROM demo.training_customers WHERE customer_id = 100001;

-- every row's tags, as one record
SELECT customer_id, (ai_guard.tags(t)).*
  FROM demo.training_customers t ORDER BY customer_id LIMIT 3;
RESET ROLE;

-- compliance: the batches, who ingested them and how many rows
SET ROLE compliance_officer;
SELECT batch_id, kind, source, license, consent, ingested_by, row_count, quarantined
  FROM ai_guard.batch_summary ORDER BY batch_id;
RESET ROLE;

-- data scientist: reads see only rows consented to the declared purpose class
SET ROLE data_scientist;
-- without a declared purpose the read is refused (and the refusal recorded)
RESET ai_guard.purpose;
\set ON_ERROR_STOP 0
SELECT count(*) FROM demo.training_customers;
\set ON_ERROR_STOP 1
SET ai_guard.purpose = 'training:churn-v3';
SELECT (ai_guard.tags(t)).source, count(*) AS visible_for_training
  FROM demo.training_customers t GROUP BY 1 ORDER BY 1;
SET ai_guard.purpose = 'analytics:weekly-report';
SELECT (ai_guard.tags(t)).source, count(*) AS visible_for_analytics
  FROM demo.training_customers t GROUP BY 1 ORDER BY 1;
RESET ROLE;

-- compliance: a partner feed is reported poisoned; quarantine it, effective at once
SET ROLE compliance_officer;
SELECT ai_guard.quarantine('partner_acme', 'label poisoning reported by the partner') AS quarantine_id
\gset
SELECT source, quarantined, row_count FROM ai_guard.batch_summary ORDER BY batch_id;
RESET ROLE;
SET ROLE data_scientist;
SET ai_guard.purpose = 'analytics:weekly-report';
SELECT (ai_guard.tags(t)).source, count(*) AS visible_for_analytics
  FROM demo.training_customers t GROUP BY 1 ORDER BY 1;
RESET ROLE;
SET ROLE compliance_officer;
SELECT ai_guard.release(:quarantine_id, 'partner re-delivered a clean feed');
RESET ROLE;
SET ROLE data_scientist;
SELECT count(*) AS visible_for_analytics_after_release FROM demo.training_customers;
RESET ai_guard.purpose;
RESET ROLE;

-- platform: someone edits rows with triggers off (a replica session) ...
SET session_replication_role = replica;
UPDATE demo.training_customers SET email = 'attacker@example.com' WHERE customer_id IN (3, 5);
RESET session_replication_role;
-- ... and compliance finds exactly those rows (ids and digests, no content)
SET ROLE compliance_officer;
SELECT row_id, left(encode(stored_digest, 'hex'), 16) AS stored,
       left(encode(actual_digest, 'hex'), 16) AS actual
  FROM ai_guard.verify_rows('demo.training_customers') ORDER BY row_id;
RESET ROLE;
SELECT customer_id, email FROM demo.training_customers
 WHERE ai_guard_row_id IN (SELECT row_id FROM ai_guard.verify_rows('demo.training_customers'))
 ORDER BY 1;

-- data engineer: a copy cannot launder tags; it is 'derived', with the union
-- of the licenses and the intersection of the consents of its inputs (the
-- statement read a table fed by three sources whose consents share no
-- purpose class, so the copy may be used for none)
SET ROLE data_engineer;
SET ai_guard.purpose = 'evaluation:eu-subset';
CREATE TABLE demo.eu_training AS
  SELECT customer_id, full_name, country FROM demo.training_customers WHERE country <> 'US';
SELECT (ai_guard.tags(e)).source, (ai_guard.tags(e)).license, (ai_guard.tags(e)).consent, count(*)
  FROM demo.eu_training e GROUP BY 1, 2, 3;
RESET ROLE;
