-- pgTAP: masking, redaction, classification and masked views on the demo data.
BEGIN;
SELECT plan(26);

-- functions exist with the documented signatures
SELECT has_function('ai_guard', 'mask_email', ARRAY['text'], 'mask_email(text)');
SELECT has_function('ai_guard', 'partial', ARRAY['text', 'integer', 'text', 'integer'],
                    'partial(text, int, text, int)');
SELECT has_function('ai_guard', 'detect_pii', ARRAY['text'], 'detect_pii(text)');
SELECT has_function('ai_guard', 'create_masked_view', ARRAY['regclass', 'name'],
                    'create_masked_view(regclass, name)');

-- redaction removes every customer value that a ticket quotes
SELECT is((SELECT count(*) FROM demo.tickets t JOIN demo.customers c USING (customer_id)
            WHERE strpos(t.body, c.email) > 0 OR strpos(t.body, c.phone) > 0
               OR strpos(t.body, c.card_number) > 0 OR strpos(t.body, c.iban) > 0) > 500,
          true, 'most demo tickets quote customer PII');
SELECT is((SELECT count(*) FROM demo.tickets t JOIN demo.customers c USING (customer_id),
                  LATERAL (SELECT ai_guard.redact_pii(t.body) AS r) x
            WHERE strpos(x.r, c.email) > 0 OR strpos(x.r, c.phone) > 0
               OR strpos(x.r, c.card_number) > 0 OR strpos(x.r, c.iban) > 0),
          0::bigint, 'no redacted ticket still holds its customer''s e-mail, phone, card or IBAN');
SELECT is((SELECT count(*) FROM demo.tickets
            WHERE ai_guard.redact_pii(body) ~ 'AKIA[A-Z0-9]{16}|my SSN is [0-9]'),
          0::bigint, 'access keys and SSNs are redacted');
SELECT is((SELECT count(*) FROM demo.tickets WHERE body ~ 'order #[0-9]{10}'),
          (SELECT count(*) FROM demo.tickets WHERE ai_guard.redact_pii(body) ~ 'order #[0-9]{10}'),
          'order numbers (decoys) survive redaction');
SELECT is((SELECT count(*) FROM demo.tickets WHERE body ~ 'reference [0-9]{16}'),
          (SELECT count(*) FROM demo.tickets WHERE ai_guard.redact_pii(body) ~ 'reference [0-9]{16}'),
          'numbers failing Luhn (decoys) survive redaction');

-- detect_pii positions are character positions usable with substr()
SELECT is((SELECT count(*) FROM demo.tickets t JOIN demo.customers c USING (customer_id),
                  ai_guard.detect_pii(t.body) d
            WHERE d.kind = 'email' AND substr(t.body, d.start, d.length) <> c.email),
          0::bigint, 'every e-mail finding is exactly the customer''s address');
SELECT is((SELECT count(*) FROM demo.tickets t, ai_guard.detect_pii('é' || t.body) d
            WHERE d.kind = 'card' AND substr('é' || t.body, d.start, d.length) !~ '^[0-9]{13,19}$'),
          0::bigint, 'positions count characters, not bytes');

-- classification of the demo tables
SELECT is((SELECT string_agg(column_name || '=' || suggested_label, ',' ORDER BY column_name)
             FROM ai_guard.scan_table('demo.customers', 500) WHERE suggested_label IS NOT NULL),
          'birth_date=pii:birth_date,card_number=pii:card,city=pii:address,email=pii:email,'
          'full_name=pii:name,iban=pii:iban,phone=pii:phone,street=pii:address',
          'scan_table suggests the PII columns of demo.customers');
SELECT ok((SELECT hit_ratio FROM ai_guard.scan_table('demo.customers', 500)
            WHERE column_name = 'email') = 1, 'every sampled e-mail matched');
SELECT is((SELECT suggested_label FROM ai_guard.scan_table('demo.tickets', 500)
            WHERE column_name = 'body'), 'pii:free_text', 'ticket bodies are free text with PII');

SELECT lives_ok($$SELECT * FROM ai_guard.apply_classification('demo.customers')$$,
                'apply_classification labels demo.customers');
SELECT lives_ok($$SELECT * FROM ai_guard.apply_classification('demo.tickets')$$,
                'apply_classification labels demo.tickets');
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.country IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN demo.tickets.ticket_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.tickets.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.tickets.opened_at IS 'internal mask=generalize(''month'')';
CREATE SCHEMA tap_masked;
SELECT is(ai_guard.create_masked_view('demo.customers', 'tap_masked')::text,
          'tap_masked.customers', 'create_masked_view returns the view');
SELECT is(ai_guard.create_masked_view('demo.tickets', 'tap_masked')::text,
          'tap_masked.tickets', 'a second masked view');

SELECT is((SELECT count(*) FROM tap_masked.customers), (SELECT count(*) FROM demo.customers),
          'the masked view has every row');
SELECT is((SELECT count(*) FROM tap_masked.customers v JOIN demo.customers c USING (customer_id)
            WHERE v.email = c.email OR v.phone = c.phone OR v.card_number = c.card_number
               OR v.iban = c.iban),
          0::bigint, 'no masked e-mail, phone, card or IBAN equals its original');
SELECT is((SELECT count(*) FROM tap_masked.customers v JOIN demo.customers c USING (customer_id)
            WHERE v.birth_date <> date_trunc('year', c.birth_date)::date OR v.full_name IS NOT NULL),
          0::bigint, 'birth dates are generalized to the year; names without a mask are NULL');
SELECT columns_are('tap_masked', 'customers',
  ARRAY['customer_id', 'full_name', 'email', 'phone', 'card_number', 'iban',
        'birth_date', 'street', 'city', 'country'],
  'unclassified columns (source, license, consent) are left out');
SELECT is((SELECT count(*) FROM tap_masked.tickets WHERE opened_at <> date_trunc('month', opened_at)),
          0::bigint, 'a mask rule in a label is applied (opened_at by month)');

-- a data-scientist role reads the masked views and nothing else
CREATE ROLE regress_masking_tap_ds;
SELECT ai_guard.grant_masked_access('regress_masking_tap_ds');
SELECT ai_guard.grant_purpose('regress_masking_tap_ds', 'training');
SET LOCAL ROLE regress_masking_tap_ds;
SET LOCAL ai_guard.purpose = 'training:pgtap';
SELECT is((SELECT count(*) FROM tap_masked.tickets WHERE body ~ '@'), 0::bigint,
          'the data scientist reads redacted ticket bodies');
SELECT throws_ok('SELECT * FROM demo.customers', '42501', NULL,
                 'the data scientist cannot read the base table');
RESET ROLE;

-- the views are governed reads
SELECT set_eq($$SELECT rel::text FROM ai_guard.governed_relations WHERE reason = 'masked_view'$$,
              ARRAY['tap_masked.customers', 'tap_masked.tickets'],
              'masked views are in governed_relations');

SELECT * FROM finish();
ROLLBACK;
