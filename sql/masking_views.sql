-- security labels, classification and masked views
SET client_min_messages = warning;
CREATE SCHEMA regress_masking;
CREATE SCHEMA regress_masked;
CREATE TABLE regress_masking.people (
	id          integer PRIMARY KEY,
	full_name   text,
	email       text,
	phone       text,
	card        text,
	birth       date,
	salary      numeric,
	notes       text,
	country     text,
	secret_col  text
);
INSERT INTO regress_masking.people VALUES
 (1, 'Anna Muller', 'anna.muller@example.com', '+49 30 1234567', '4111111111111111',
  '1987-06-05', 52000, 'Call me at +49 30 1234567 or anna.muller@example.com', 'DE', 's1'),
 (2, 'Liam Smith', 'liam.smith@example.org', '(212) 555-0123', '5555555555554444',
  '1990-12-31', 61000, 'Order #1234567890 arrived, thanks', 'US', 's2');

-- the label grammar: accepted labels
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.country IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.salary IS 'pii:salary mask=generalize(10000)';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.full_name IS 'pii:name mask=partial(1, ''. '', 0)';
-- a rule may name pseudonymize (built elsewhere); only the grammar is checked
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.secret_col IS 'pii:customer_key mask=pseudonymize(''customer_key'')';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.secret_col IS NULL;

-- rejected labels: grammar, unknown functions, SQL
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.email IS 'PII:email';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.email IS 'pii:email mask=md5()';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.email IS 'pii:email mask=mask_email(email)';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.email IS 'pii:email mask=mask_email()); DROP TABLE regress_masking.people; --';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.email IS 'pii:email mask=partial(1, ''x'')';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.birth IS 'pii:birth_date mask=generalize(''century'')';
-- labels go on columns only
SECURITY LABEL FOR ai_guard ON TABLE regress_masking.people IS 'public';
SECURITY LABEL FOR ai_guard ON SCHEMA regress_masking IS 'public';
SECURITY LABEL ON COLUMN regress_masking.people.email IS 'pii:email';
SELECT c.relname, a.attname, s.label
  FROM pg_seclabel s JOIN pg_class c ON c.oid = s.objoid
  JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
 WHERE s.provider = 'ai_guard' AND c.relname = 'people' ORDER BY a.attnum;

-- scan_table suggests from names and content; apply_classification writes
-- only where no label exists
SELECT * FROM ai_guard.scan_table('regress_masking.people', 10);
SELECT * FROM ai_guard.scan_table('regress_masking.people', 0);
SELECT * FROM ai_guard.apply_classification('regress_masking.people');
SELECT a.attname, s.label
  FROM pg_seclabel s JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
 WHERE s.provider = 'ai_guard' AND s.objoid = 'regress_masking.people'::regclass
 ORDER BY a.attnum;

-- the masked view: masks applied, unlabelled column (secret_col) left out
SELECT ai_guard.create_masked_view('regress_masking.people', 'regress_masked');
SELECT * FROM regress_masked.people ORDER BY id;
SELECT pg_get_viewdef('regress_masked.people'::regclass);
SELECT reloptions FROM pg_class WHERE oid = 'regress_masked.people'::regclass;
SELECT rel, reason FROM ai_guard.governed_relations WHERE reason = 'masked_view';
SELECT view, base FROM ai_guard.masked_views;
-- same schema as the table, or a clash with another relation: refused
SELECT ai_guard.create_masked_view('regress_masking.people', 'regress_masking');
CREATE TABLE regress_masking.other (x int);
CREATE TABLE regress_masked.other (x int);
SELECT ai_guard.create_masked_view('regress_masking.other', 'regress_masked');
-- calling it again rebuilds the view in place
SELECT ai_guard.create_masked_view('regress_masking.people', 'regress_masked');
SELECT count(*) FROM ai_guard.masked_views;

-- the view follows label changes...
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.country IS 'pii:country';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.secret_col IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.phone IS 'pii:phone mask=mask_phone(4)';
SELECT * FROM regress_masked.people ORDER BY id;
-- ... and column changes
ALTER TABLE regress_masking.people RENAME COLUMN notes TO remarks;
ALTER TABLE regress_masking.people ADD COLUMN added text DEFAULT 'new';
ALTER TABLE regress_masking.people DROP COLUMN card;
ALTER TABLE regress_masking.people ALTER COLUMN salary TYPE integer;
SELECT * FROM regress_masked.people ORDER BY id;
SECURITY LABEL FOR ai_guard ON COLUMN regress_masking.people.added IS 'public';
SELECT * FROM regress_masked.people ORDER BY id;
-- still registered and governed under the new view
SELECT rel, reason FROM ai_guard.governed_relations WHERE reason = 'masked_view';
SELECT view, base, dropped_name FROM ai_guard.masked_views;
-- a failed ALTER leaves the view as it was
ALTER TABLE regress_masking.people DROP COLUMN no_such_column;
SELECT count(*) FROM regress_masked.people;

-- a masked view is not dropped by hand; drop_masked_view() forgets it
DROP VIEW regress_masked.people;
SELECT ai_guard.drop_masked_view('regress_masked.people');
SELECT count(*) FROM ai_guard.masked_views;
SELECT count(*) FROM ai_guard.governed_relations WHERE reason = 'masked_view';
-- dropping the table (with its view) forgets it too
SELECT ai_guard.create_masked_view('regress_masking.people', 'regress_masked');
DROP TABLE regress_masking.people CASCADE;
SELECT count(*) FROM ai_guard.masked_views;
SELECT count(*) FROM ai_guard.governed_relations WHERE reason = 'masked_view';

DROP SCHEMA regress_masking CASCADE;
DROP SCHEMA regress_masked CASCADE;
