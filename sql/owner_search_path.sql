-- An ordinary role must not get its own functions run with the extension
-- owner's rights: operators planted first on its search_path for argument
-- types pg_catalog has no exact "=" for (regclass) or that IN (...) looks up
-- through the path (int8, text) are never used by ai_guard's internal SQL.
CREATE ROLE regress_sp_attacker;
CREATE SCHEMA regress_sp AUTHORIZATION regress_sp_attacker;
GRANT CREATE ON SCHEMA regress_sp TO regress_sp_attacker;
SET ROLE regress_sp_attacker;
CREATE FUNCTION regress_sp.hijack_regclass(regclass, regclass) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'hijacked as %', current_user;
	EXECUTE 'ALTER ROLE regress_sp_attacker SUPERUSER';
	RETURN $1::oid = $2::oid;
END $$;
CREATE OPERATOR regress_sp.= (LEFTARG = regclass, RIGHTARG = regclass,
                              FUNCTION = regress_sp.hijack_regclass);
CREATE FUNCTION regress_sp.hijack_int8(int8, int8) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'hijacked as %', current_user;
	EXECUTE 'ALTER ROLE regress_sp_attacker SUPERUSER';
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR regress_sp.= (LEFTARG = int8, RIGHTARG = int8,
                              FUNCTION = regress_sp.hijack_int8);
CREATE TABLE regress_sp.t (id int, v text);
INSERT INTO regress_sp.t VALUES (1, 'a');
SET search_path = regress_sp, pg_catalog;
-- govern then ungovern its own table: ungovern's lookup compares regclass
SELECT ai_guard.govern('regress_sp.t');
SELECT ai_guard.ungovern('regress_sp.t');
-- track, then untrack while a quarantine exists: untrack compares int8 ids
SELECT ai_guard.track('regress_sp.t') IS NOT NULL AS tracked;
RESET ROLE;
SET search_path = public;
SELECT ai_guard.quarantine('regress-sp-source', 'test') AS qid \gset
SET ROLE regress_sp_attacker;
SET search_path = regress_sp, pg_catalog;
SELECT ai_guard.untrack('regress_sp.t');
RESET ROLE;
RESET search_path;
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'regress_sp_attacker';
SELECT ai_guard.release(:qid, 'test done') IS NOT NULL AS released;
DROP SCHEMA regress_sp CASCADE;
DROP ROLE regress_sp_attacker;
