-- masking functions, detection and redaction (no tables needed)
SET client_min_messages = warning;

-- volatility, strictness and parallel safety as declared
SELECT p.oid::regprocedure AS function, provolatile, proisstrict, proparallel
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'ai_guard'
   AND proname IN ('mask_email', 'mask_phone', 'mask_card', 'mask_iban',
                   'partial', 'generalize', 'noise', 'detect_pii', 'redact_pii')
 ORDER BY 1::text;

-- every masking function has a comment
SELECT p.oid::regprocedure AS uncommented
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'ai_guard' AND obj_description(p.oid, 'pg_proc') IS NULL
   AND (proname LIKE 'mask\_%' OR proname LIKE '%masked%' OR proname LIKE '\_mask%'
        OR proname IN ('partial', 'generalize', 'noise', 'detect_pii', 'redact_pii',
                       'scan_table', 'apply_classification', '_new_masking_secret'));

-- e-mail: domain kept, local part masked
SELECT v, ai_guard.mask_email(v)
  FROM (VALUES ('anna.muller@example.com'), ('a@example.com'), ('no at sign'),
               (''), ('élise@example.fr')) AS t(v);
SELECT ai_guard.mask_email(NULL) IS NULL AS strict;

-- phone, card, IBAN
SELECT ai_guard.mask_phone('+49 30 1234567'), ai_guard.mask_phone('(212) 555-0123', 4),
       ai_guard.mask_phone('12');
SELECT ai_guard.mask_phone('+49 30 1234567', -1);
SELECT ai_guard.mask_card('4111 1111 1111 1111'), ai_guard.mask_card('378282246310005'),
       ai_guard.mask_card('1234');
SELECT ai_guard.mask_iban('DE89 3704 0044 0532 0130 00'),
       ai_guard.mask_iban('GB82WEST12345698765432'), ai_guard.mask_iban('DE89');

-- partial: UTF-8 aware, never the whole value
SELECT ai_guard.partial('Geneviève', 2, '***', 3), ai_guard.partial('abc', 2, '*', 1),
       ai_guard.partial('', 0, '-', 0);
SELECT ai_guard.partial('abc', -1, '*', 1);

-- generalize: dates, timestamps, numbers
SELECT ai_guard.generalize(date '1987-06-05', 'year') AS year,
       ai_guard.generalize(date '1987-06-05', 'month') AS month,
       ai_guard.generalize(date '1987-06-05', 'decade') AS decade,
       ai_guard.generalize(date 'infinity', 'year') AS inf;
-- the same as date_trunc, BC dates included
SELECT u, count(*) FILTER (WHERE ai_guard.generalize(d, u) <> date_trunc(u, d)::date) AS differ
  FROM (VALUES ('year'), ('month'), ('decade')) AS units(u),
       (SELECT date '0200-01-01 BC' + g * 97 AS d FROM generate_series(0, 3000) g) AS dates
 GROUP BY u ORDER BY u;
SELECT ai_guard.generalize(timestamp '2025-03-04 12:30:45', 'month');
SET TIME ZONE 'UTC';
SELECT ai_guard.generalize(timestamptz '2025-03-04 12:30:45+00', 'year');
RESET TIME ZONE;
SELECT ai_guard.generalize(date '1987-06-05', 'century');
SELECT ai_guard.generalize(123.45, 10), ai_guard.generalize(-3, 5),
       ai_guard.generalize(37, 0.5), ai_guard.generalize('NaN'::numeric, 10);
SELECT ai_guard.generalize(37, 0);

-- noise: deterministic per value and purpose, within the ratio
SELECT count(DISTINCT ai_guard.noise(100, 0.1)) AS distinct_values,
       bool_and(ai_guard.noise(100, 0.1) BETWEEN 90 AND 110) AS in_range
  FROM generate_series(1, 50);
SELECT ai_guard.noise(100, 0.1) <> 100 AS changed;
CREATE TEMP TABLE n1 AS SELECT ai_guard.noise(100, 0.1) AS v;
SET ai_guard.purpose = 'training:a';
CREATE TEMP TABLE n2 AS SELECT ai_guard.noise(100, 0.1) AS v;
SET ai_guard.purpose = 'training:b';
CREATE TEMP TABLE n3 AS SELECT ai_guard.noise(100, 0.1) AS v;
SET ai_guard.purpose = 'analytics';
CREATE TEMP TABLE n4 AS SELECT ai_guard.noise(100, 0.1) AS v;
RESET ai_guard.purpose;
SELECT (SELECT v FROM n2) = (SELECT v FROM n3) AS same_class_same_noise,
       (SELECT v FROM n2) <> (SELECT v FROM n4) AS other_class_other_noise,
       (SELECT v FROM n1) <> (SELECT v FROM n2) AS unset_differs;
DROP TABLE n1, n2, n3, n4;
SELECT ai_guard.noise(100, 0), ai_guard.noise(100, 1.5);
SELECT ai_guard.noise('NaN', 0.1), ai_guard.noise(0, 0.1);

-- detection: positions in characters, 1-based, as substr()
SELECT kind, start, length
  FROM ai_guard.detect_pii('Zoë wrote from zoe@example.com, card 4111 1111 1111 1111, '
                           'phone +33 1 23 45 67 89, IBAN FR1420041010050500013M02606, '
                           'IP 10.1.2.3 / 2001:db8::7, SSN 123-45-6789, '
                           'key AKIAIOSFODNN7EXAMPLE, Authorization: Bearer abcdefghijklmnop1234');
SELECT d.kind, substr(t, d.start, d.length) AS found
  FROM (VALUES ('Ünïcödé über zoe@example.com')) AS v(t),
       ai_guard.detect_pii(t) AS d;
SELECT count(*) FROM ai_guard.detect_pii('order #1234567890, version 1.2.3, dated 2025-03-04, '
                                        'reference 4111111111111112, code 666-12-3456');
SELECT count(*) FROM ai_guard.detect_pii('');

-- redaction
SELECT ai_guard.redact_pii('Mail anna@example.com or call +49 30 1234567; card 4111111111111111.');
SELECT ai_guard.redact_pii(E'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nbye');
SELECT ai_guard.redact_pii('nothing to see here, order #1234567890');
SELECT ai_guard.redact_pii(NULL) IS NULL AS strict;
-- large input: one pass, no error
SELECT length(ai_guard.redact_pii(repeat('a@example.com 1.2.3 ', 100000))) AS redacted_length;
