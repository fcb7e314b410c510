-- attacks by a data-scientist role on masked data: each must fail
SET client_min_messages = notice;
CREATE ROLE regress_masking_ds LOGIN;
CREATE ROLE regress_masking_owner LOGIN;
CREATE SCHEMA regress_atk AUTHORIZATION regress_masking_owner;
CREATE SCHEMA regress_atk_masked AUTHORIZATION regress_masking_owner;
CREATE SCHEMA regress_ds_own AUTHORIZATION regress_masking_ds;
CREATE SCHEMA regress_ds_own_masked AUTHORIZATION regress_masking_ds;

SET ROLE regress_masking_owner;
CREATE TABLE regress_atk.customers (
	id      integer,
	email   text,
	phone   text,
	salary  float8,
	note    text,
	hidden  text
);
INSERT INTO regress_atk.customers
SELECT g, 'user' || g || '@example.com', '+49 30 12345' || lpad(g::text, 2, '0'),
       40000 + g * 1000, 'reach me at user' || g || '@example.com', 'hidden' || g
  FROM generate_series(1, 20) g;
ANALYZE regress_atk.customers;
SECURITY LABEL FOR ai_guard ON COLUMN regress_atk.customers.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_atk.customers.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN regress_atk.customers.phone IS 'pii:phone';
SECURITY LABEL FOR ai_guard ON COLUMN regress_atk.customers.salary IS 'pii:salary mask=noise(0.2)';
SECURITY LABEL FOR ai_guard ON COLUMN regress_atk.customers.note IS 'pii:free_text';
SELECT ai_guard.create_masked_view('regress_atk.customers', 'regress_atk_masked');
-- a direct grant that grant_masked_access must take away
GRANT USAGE ON SCHEMA regress_atk TO regress_masking_ds;
GRANT SELECT ON regress_atk.customers TO regress_masking_ds;
RESET ROLE;

-- only a superuser hands out masked access
SET ROLE regress_masking_ds;
SELECT ai_guard.grant_masked_access('regress_masking_ds');
RESET ROLE;
SELECT ai_guard.grant_masked_access('regress_masking_ds');
-- masked views are governed reads: the data scientist declares a granted purpose
SELECT ai_guard.grant_purpose('regress_masking_ds', 'training');
SELECT ai_guard.grant_purpose('regress_masking_owner', 'training');
-- query ids (computed for the audit) would make EXPLAIN VERBOSE unstable
SET compute_query_id = off;
SELECT has_table_privilege('regress_masking_ds', 'regress_atk.customers', 'SELECT') AS base,
       has_table_privilege('regress_masking_ds', 'regress_atk_masked.customers', 'SELECT') AS masked;

SET ROLE regress_masking_ds;
SET ai_guard.purpose = 'training:masking-tests';
-- the masked view works
SELECT id, email, phone, note FROM regress_atk_masked.customers WHERE id <= 3 ORDER BY id;

-- attack 1: read the base table
SELECT * FROM regress_atk.customers LIMIT 1;
SELECT email FROM regress_atk.customers LIMIT 1;
-- attack 2: COPY the base table
COPY regress_atk.customers TO STDOUT;
COPY (SELECT * FROM regress_atk.customers) TO STDOUT;
-- attack 3: a cursor
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM regress_atk.customers;
ROLLBACK;
-- attack 4: statistics of the base table
SELECT count(*) AS visible_stats FROM pg_stats WHERE schemaname = 'regress_atk';
SELECT most_common_vals FROM pg_stats WHERE schemaname = 'regress_atk' AND attname = 'email';
SELECT count(*) FROM pg_statistic;
-- attack 5: EXPLAIN
EXPLAIN (COSTS OFF) SELECT * FROM regress_atk.customers;
EXPLAIN (COSTS OFF, VERBOSE) SELECT email FROM regress_atk_masked.customers
 WHERE email = 'user1@example.com';
-- attack 6: a leaky function in WHERE is refused (not trusted); once the
-- platform team trusts it, it sees masked values only
CREATE FUNCTION pg_temp.leak(text) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS
$$BEGIN RAISE NOTICE 'leaked: %', $1; RETURN true; END$$;
DO $$
BEGIN
  PERFORM count(*) FROM regress_atk_masked.customers WHERE pg_temp.leak(email) AND id <= 2;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'refused: %', SQLSTATE;
END $$;
RESET ROLE;
SELECT ai_guard.trust_function('pg_temp.leak(text)', 'regression test');
SET ROLE regress_masking_ds;
SELECT count(*) FROM regress_atk_masked.customers WHERE pg_temp.leak(email) AND id <= 2;
SELECT count(*) FROM regress_atk_masked.customers WHERE pg_temp.leak(note) AND id <= 2;
-- attack 7: error messages echo masked values only
SELECT email::integer FROM regress_atk_masked.customers WHERE id = 1;
SELECT ai_guard.generalize(salary::numeric, 0) FROM regress_atk_masked.customers WHERE id = 1;
-- attack 8: averaging noise over repeated queries recovers nothing
SELECT count(DISTINCT salary) AS distinct_values,
       abs(avg(salary) - min(salary)) < 1e-6 AS average_is_one_draw,
       abs(avg(salary) - 41000) > 1e-6 AS average_is_not_the_salary
  FROM regress_atk_masked.customers, generate_series(1, 100)
 WHERE id = 1;
SELECT count(*) AS exact_salaries FROM regress_atk_masked.customers
 WHERE salary = 40000 + id * 1000;
SET ai_guard.purpose = 'training:run1';
CREATE TEMP TABLE r1 AS SELECT id, salary FROM regress_atk_masked.customers;
SET ai_guard.purpose = 'training:run2';
SELECT count(*) AS changed_between_runs
  FROM regress_atk_masked.customers m JOIN r1 USING (id) WHERE m.salary <> r1.salary;
SET ai_guard.purpose = 'training:masking-tests';
-- attack 9: the secret behind noise, and the functions that manage access
SELECT * FROM ai_guard.masking_secret;
SELECT ai_guard._new_masking_secret();
SELECT ai_guard.revoke_masked_access('regress_masking_ds');
-- attack 10: SQL through a security label (owner of the table or not)
SECURITY LABEL FOR ai_guard ON COLUMN regress_atk.customers.hidden IS 'public';
-- nor can it make the masked view go away by altering the table
ALTER TABLE regress_atk.customers DROP COLUMN email;
SELECT count(*) AS view_still_there FROM regress_atk_masked.customers;
RESET ROLE;
SET ROLE regress_masking_owner;
SECURITY LABEL FOR ai_guard ON COLUMN regress_atk.customers.hidden
    IS 'public mask=partial(1, ''x''); DROP TABLE regress_atk.customers; --'', 1)';
SECURITY LABEL FOR ai_guard ON COLUMN regress_atk.customers.hidden
    IS 'pii:x mask=partial(1, ''x''''); DROP TABLE regress_atk.customers; --'', 1)';
SELECT hidden FROM regress_atk_masked.customers WHERE id = 1;
SELECT count(*) AS still_there FROM regress_atk.customers;
RESET ROLE;

-- attack 11: a search_path trick against the functions that act as the
-- extension's owner: an operator "=" of the attacker's, first on the path
SET ROLE regress_masking_ds;
CREATE FUNCTION regress_ds_own.evil_eq(oid, oid) RETURNS boolean
LANGUAGE plpgsql AS
$$BEGIN
	RAISE NOTICE 'evil operator ran as %', current_user;
	BEGIN
		EXECUTE 'ALTER ROLE regress_masking_ds SUPERUSER';
	EXCEPTION WHEN OTHERS THEN NULL;
	END;
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END$$;
CREATE OPERATOR regress_ds_own.= (LEFTARG = oid, RIGHTARG = oid,
                                  FUNCTION = regress_ds_own.evil_eq);
CREATE FUNCTION regress_ds_own.lower(text) RETURNS text LANGUAGE sql
AS $$SELECT 'evil'$$;
SET search_path = regress_ds_own, pg_catalog;
CREATE TABLE regress_ds_own.mine (id integer, e text);
SECURITY LABEL FOR ai_guard ON COLUMN regress_ds_own.mine.e IS 'pii:email';
SELECT ai_guard.create_masked_view('regress_ds_own.mine', 'regress_ds_own_masked');
ALTER TABLE regress_ds_own.mine ADD COLUMN x integer;
DROP TABLE regress_ds_own.mine CASCADE;
RESET search_path;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_masking_ds';

-- revoking masked access takes the view away
SELECT ai_guard.revoke_masked_access('regress_masking_ds');
SELECT has_table_privilege('regress_masking_ds', 'regress_atk_masked.customers', 'SELECT') AS masked;
-- masked access is refused while PUBLIC can read a base table
SET ROLE regress_masking_owner;
GRANT SELECT ON regress_atk.customers TO PUBLIC;
RESET ROLE;
SELECT ai_guard.grant_masked_access('regress_masking_ds');

DROP SCHEMA regress_atk CASCADE;
DROP SCHEMA regress_atk_masked CASCADE;
DROP SCHEMA regress_ds_own CASCADE;
DROP SCHEMA regress_ds_own_masked CASCADE;
DELETE FROM ai_guard.masked_access WHERE role = 'regress_masking_ds'::regrole;
SELECT ai_guard.revoke_purpose('regress_masking_ds', 'training');
SELECT ai_guard.revoke_purpose('regress_masking_owner', 'training');
RESET ai_guard.purpose;
RESET compute_query_id;
DROP OWNED BY regress_masking_ds, regress_masking_owner;
DROP ROLE regress_masking_ds;
DROP ROLE regress_masking_owner;
