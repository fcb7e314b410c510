-- PII masking: classify columns, build masked views, let data scientists read them
\pset footer off

-- 1. The platform team asks ai_guard which columns hold PII. Suggestions come
--    from column names and from a sample of the values (hit_ratio: the share
--    of sampled values that matched the detector).
SELECT * FROM ai_guard.scan_table('demo.customers', 500);
SELECT * FROM ai_guard.scan_table('demo.tickets', 500);

-- 2. Free text is where PII hides: find it and redact it, in one pass in C.
SELECT ticket_id, kind, start, length,
       substr(body, start, length) AS found
  FROM demo.tickets, ai_guard.detect_pii(body)
 WHERE ticket_id <= 3 ORDER BY ticket_id, start;
SELECT ticket_id, ai_guard.redact_pii(body) AS redacted
  FROM demo.tickets WHERE ticket_id <= 4 ORDER BY ticket_id;

-- 3. Write the suggestions as security labels, then adjust by hand: ids are
--    public, a country is internal, dates are coarsened by a mask rule.
SELECT * FROM ai_guard.apply_classification('demo.customers');
SELECT * FROM ai_guard.apply_classification('demo.tickets');
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.country IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.full_name IS 'pii:name mask=partial(1, ''. '', 0)';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.birth_date IS 'pii:birth_date mask=generalize(''decade'')';
SECURITY LABEL FOR ai_guard ON COLUMN demo.tickets.ticket_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.tickets.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.tickets.channel IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.tickets.opened_at IS 'internal mask=generalize(''month'')';

-- The label grammar is strict: a label can name a masking function with
-- literal arguments, never SQL.
\set ON_ERROR_STOP 0
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.email
    IS 'pii:email mask=mask_email()); DROP TABLE demo.customers; --';
\set ON_ERROR_STOP 1

-- 4. Masked views in their own schema. Columns without a classification
--    (source, license, consent) are left out: privacy by default.
CREATE SCHEMA masked;
SELECT ai_guard.create_masked_view('demo.customers', 'masked');
SELECT ai_guard.create_masked_view('demo.tickets', 'masked');
SELECT pg_get_viewdef('masked.customers'::regclass);

-- 5. The data scientist may read the masked views and nothing of the tables.
SELECT ai_guard.grant_masked_access('data_scientist');
-- masked views are governed: reading them needs a granted purpose
SELECT ai_guard.grant_purpose('data_scientist', 'training');

SET ROLE data_scientist;
SET ai_guard.purpose = 'training:churn-v3';
SELECT * FROM masked.customers ORDER BY customer_id LIMIT 5;
SELECT ticket_id, opened_at, left(body, 100) AS body
  FROM masked.tickets ORDER BY ticket_id LIMIT 4;
-- aggregates work on masked data
SELECT birth_date AS decade, count(*) FROM masked.customers GROUP BY 1 ORDER BY 1;
\set ON_ERROR_STOP 0
SELECT email FROM demo.customers LIMIT 1;
COPY demo.customers TO STDOUT;
\set ON_ERROR_STOP 1
RESET ROLE;

-- 6. The views follow the tables: a new column appears once it is classified,
--    and a label change shows at once.
ALTER TABLE demo.customers ADD COLUMN segment text DEFAULT 'retail';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.segment IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.phone IS 'pii:phone mask=mask_phone(4)';
SET ROLE data_scientist;
SELECT customer_id, phone, segment FROM masked.customers ORDER BY customer_id LIMIT 3;
RESET ROLE;

-- 7. Compliance reads the classification of every column from the catalog,
--    and sees the masked views among the governed relations.
SET ROLE compliance_officer;
SELECT c.relname AS "table", a.attname AS "column", s.label
  FROM pg_seclabel s
  JOIN pg_class c ON c.oid = s.objoid
  JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
 WHERE s.provider = 'ai_guard'
 ORDER BY 1, a.attnum;
RESET ROLE;
SELECT rel, reason FROM ai_guard.governed_relations WHERE reason = 'masked_view' ORDER BY 1;
