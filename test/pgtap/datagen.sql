-- pgTAP: the demo data set as loaded by scripts (seed 42, 1,000 rows), checked
-- in SQL, independently of the C code that generated it.
BEGIN;
SELECT plan(10);

SELECT is((SELECT count(*) FROM demo.customers), 1000::bigint, '1,000 customers');
SELECT is((SELECT count(*) FROM demo.tickets), 1000::bigint, '1,000 tickets');

-- Luhn in SQL: double every second digit from the right
CREATE FUNCTION pg_temp.luhn_ok(n text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT sum(CASE WHEN (length(n) - i) % 2 = 1
                  THEN (d * 2) / 10 + (d * 2) % 10 ELSE d END) % 10 = 0
    FROM (SELECT i, substr(n, i, 1)::int AS d
            FROM generate_series(1, length(n)) AS i) AS digits
$$;
SELECT is((SELECT count(*) FROM demo.customers WHERE NOT pg_temp.luhn_ok(card_number)),
          0::bigint, 'every card number passes Luhn');

-- IBAN mod 97 in SQL: move the first four characters to the end, letters to numbers
CREATE FUNCTION pg_temp.iban_ok(iban text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(CASE WHEN c ~ '[A-Z]' THEN (ascii(c) - 55)::text ELSE c END, '' ORDER BY i)::numeric % 97 = 1
    FROM (SELECT i, substr(substr(iban, 5) || substr(iban, 1, 4), i, 1) AS c
            FROM generate_series(1, length(iban)) AS i) AS chars
$$;
SELECT is((SELECT count(*) FROM demo.customers WHERE NOT pg_temp.iban_ok(iban)),
          0::bigint, 'every IBAN passes mod 97');

SELECT results_eq(
  $$SELECT customer_id, full_name, email, card_number, iban, birth_date::text
      FROM demo.customers WHERE customer_id IN (1, 2) ORDER BY 1$$,
  $$VALUES (1::bigint, 'Liam Johnson', 'liam.johnson865@mail.example.com',
            '378282750970343', 'DE57283042091772481351', '1981-01-11'),
           (2::bigint, 'Zoe Jansen', 'zoe.jansen698@example.com',
            '378282951343738', 'NL54NWBK3404479432', '1946-12-13')$$,
  'known rows for seed 42');

SELECT is((SELECT count(DISTINCT source) FROM demo.customers), 3::bigint,
          'three sources');
SELECT is((SELECT count(DISTINCT license) FROM demo.customers), 3::bigint,
          'three licenses');
SELECT is((SELECT count(DISTINCT consent) FROM demo.customers), 3::bigint,
          'three consent sets');
SELECT ok((SELECT count(*) FROM demo.tickets t JOIN demo.customers c USING (customer_id)
            WHERE t.body LIKE '%' || c.email || '%'
               OR t.body LIKE '%' || c.phone || '%') > 500,
          'most ticket bodies carry their customer''s email or phone');
SELECT is((SELECT count(*) FROM demo.tickets t JOIN demo.customers c USING (customer_id)
            WHERE t.source <> c.source), 0::bigint,
          'a ticket comes from its customer''s source');

SELECT * FROM finish();
ROLLBACK;
