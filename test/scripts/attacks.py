#!/usr/bin/env python3
"""The attack suite (docs/RELIABILITY.md lists every attack): ordinary roles,
each logged in on its own connection (never SET ROLE, which an attacker could
RESET), try to get around ai_guard. Every check passes only if the attack
fails: refused with the expected SQLSTATE, or, for what PostgreSQL lets a
table owner do on purpose, detected (verify_rows) or recorded (pulls).

Runs in a database of its own on the test cluster (PGHOST/PGPORT/PGUSER of a
superuser) and drops it and its roles at the end. Prints TAP."""
import os
import sys

import psycopg2
import psycopg2.extensions

DB = "ai_guard_attacks"
DS = "regress_attack_ds"          # data scientist: masked views, a purpose
OWNER = "regress_attack_owner"    # owns the governed and tracked tables
OTHER = "regress_attack_other"    # another data scientist, whose pulls exist
ROLES = (DS, OWNER, OTHER)

n = 0
failed = 0


def tap(ok, name, why=""):
    global n, failed
    n += 1
    if ok:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s%s" % (n, name, (" (" + why + ")") if why else ""))
    sys.stdout.flush()


def connect(user=None, db=DB, options=None):
    kw = {"dbname": db}
    if user:
        kw["user"] = user
    if options:
        kw["options"] = options
    c = psycopg2.connect(**kw)
    c.autocommit = True
    return c


def q(conn, sql, args=None):
    cur = conn.cursor()
    cur.execute(sql, args)
    rows = cur.fetchall() if cur.description else None
    cur.close()
    return rows


def one(conn, sql, args=None):
    return q(conn, sql, args)[0][0]


def refused(conn, name, sql, codes=("42501",), args=None, autocommit=False):
    """The attack: sql as the connection's role. Passes if it fails with one
    of the expected SQLSTATEs; the transaction is rolled back either way."""
    if isinstance(codes, str):
        codes = (codes,)
    conn.autocommit = autocommit
    cur = conn.cursor()
    try:
        cur.execute(sql, args)
        if cur.description:
            cur.fetchall()
        tap(False, name, "succeeded, expected SQLSTATE %s" % "/".join(codes))
    except psycopg2.Error as e:
        tap(e.pgcode in codes, name,
            "SQLSTATE %s (%s), expected %s" % (e.pgcode, (e.pgerror or "").strip().splitlines()[0] if e.pgerror else "", "/".join(codes)))
    finally:
        conn.rollback()
        conn.autocommit = True
        cur.close()


def setup(su):
    q(su, """
CREATE EXTENSION ai_guard;
CREATE ROLE %(ds)s LOGIN; CREATE ROLE %(owner)s LOGIN; CREATE ROLE %(other)s LOGIN;
CREATE SCHEMA atk AUTHORIZATION %(owner)s;
CREATE SCHEMA atk_masked AUTHORIZATION %(owner)s;
CREATE SCHEMA trap AUTHORIZATION %(ds)s;
GRANT USAGE ON SCHEMA trap TO PUBLIC;
SELECT ai_guard.grant_purpose('%(ds)s', 'training');
SELECT ai_guard.grant_purpose('%(other)s', 'training');
SELECT ai_guard.grant_purpose('%(owner)s', 'training');
SELECT ai_guard.create_key('atk_key');
SELECT ai_guard.grant_key('atk_key', '%(owner)s', 'encrypt');
SELECT ai_guard.grant_key('atk_key', '%(owner)s', 'decrypt');
SELECT ai_guard.create_key('atk_hmac', 'hmac-sha256');
""" % {"ds": DS, "owner": OWNER, "other": OTHER})
    ow = connect(OWNER)
    q(ow, """
CREATE TABLE atk.customers (id int, email text, phone text, note text);
INSERT INTO atk.customers SELECT g, 'user' || g || '@example.com',
       '+49 30 1234' || lpad(g::text, 3, '0'), 'call user' || g || '@example.com'
  FROM generate_series(1, 50) g;
SECURITY LABEL FOR ai_guard ON COLUMN atk.customers.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN atk.customers.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN atk.customers.phone IS 'pii:phone';
SECURITY LABEL FOR ai_guard ON COLUMN atk.customers.note IS 'pii:free_text';
SELECT ai_guard.create_masked_view('atk.customers', 'atk_masked');
CREATE TABLE atk.events (id int, payload text);
SELECT ai_guard.track('atk.events');
SELECT ai_guard.begin_ingest('attack-suite', 'CC-BY-4.0', '{training}');
INSERT INTO atk.events SELECT g, 'event ' || g FROM generate_series(1, 20) g;
SELECT ai_guard.end_ingest();
CREATE TABLE atk.secrets (id int, ssn bytea);
INSERT INTO atk.secrets VALUES (1, ai_guard.encrypt('123-45-6789'::text, 'atk_key', 'atk.secrets.ssn'));
GRANT USAGE ON SCHEMA atk TO %(ds)s;
GRANT SELECT ON atk.customers, atk.events, atk.secrets TO %(ds)s;
""" % {"ds": DS})
    ow.close()
    q(su, "SELECT ai_guard.grant_masked_access('%s')" % DS)
    q(su, "SELECT ai_guard.grant_masked_access('%s')" % OTHER)


def trap_functions(su):
    """A plpgsql clone, in schema trap (owned by the data scientist), of every
    function of the extension and of the pg_catalog functions and operators
    internal SQL commonly uses: each records who called it and, if that is a
    superuser, makes the data scientist one."""
    rows = q(su, """
SELECT p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
       pg_catalog.pg_get_function_arguments(p.oid),
       pg_catalog.pg_get_function_result(p.oid), p.proretset, p.prokind,
       coalesce('o' = ANY(p.proargmodes) OR 'b' = ANY(p.proargmodes)
                OR 't' = ANY(p.proargmodes), false),
       (SELECT string_agg(pg_catalog.format_type(t, NULL), ', ' ORDER BY i)
          FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i))
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass
   AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'ai_guard'
 ORDER BY 1, 2""")
    extra = [
        # (name, arguments, result): catalog functions by exact signature
        ("now", "", "timestamptz"), ("nextval", "regclass", "int8"),
        ("format", "text, text", "text"), ("format", "text, text, text", "text"),
        ("quote_ident", "text", "text"), ("quote_literal", "text", "text"),
        ("lower", "text", "text"), ("upper", "text", "text"),
        ("length", "text", "int4"), ("current_setting", "text", "text"),
        ("set_config", "text, text, bool", "text"),
        ("sha256", "bytea", "bytea"), ("encode", "bytea, text", "text"),
        ("decode", "text, text", "bytea"), ("to_jsonb", "anyelement", "jsonb"),
        ("array_length", "anyarray, int4", "int4"),
        ("has_table_privilege", "name, text, text", "bool"),
        ("pg_has_role", "name, name, text", "bool"),
    ]
    body_hit = ("INSERT INTO trap.hits VALUES (current_user, %s); "
                "BEGIN EXECUTE 'ALTER ROLE " + DS + " SUPERUSER'; "
                "EXCEPTION WHEN OTHERS THEN NULL; END; ")
    stmts = ["CREATE TABLE trap.hits (who name, fn text)",
             "GRANT INSERT ON trap.hits TO PUBLIC"]
    count = 0
    for name, ident, args, result, retset, kind, outs, intypes in rows:
        if outs:
            # IN and OUT parameters may share names: the IN types alone
            args = intypes or ""
        if kind == "p":
            ret = ""
            tail = "RETURN;"
        elif result in ("trigger", "event_trigger"):
            ret = "RETURNS " + result
            tail = "RETURN NULL;" if result == "trigger" else "RETURN;"
        else:
            ret = "RETURNS " + result
            tail = "RETURN;" if (retset or result == "void") else "RETURN NULL;"
        # defaults are kept so that calls with fewer arguments match too
        stmts.append("CREATE %s trap.%s(%s) %s LANGUAGE plpgsql AS $t$BEGIN %s%s END$t$"
                     % ("PROCEDURE" if kind == "p" else "FUNCTION",
                        psycopg2.extensions.quote_ident(name, su), args, ret,
                        body_hit % psycopg2.extensions.QuotedString(name).getquoted().decode(),
                        tail))
        count += 1
    for name, args, result in extra:
        if True:
            stmts.append("CREATE FUNCTION trap.%s(%s) RETURNS %s LANGUAGE plpgsql AS "
                         "$t$BEGIN %s RETURN NULL; END$t$"
                         % (name, args, result, body_hit % ("'" + name + "'")))
        count += 1
    for typ in ("text", "int8", "int4", "oid", "name", "regclass", "bool"):
        stmts.append("CREATE FUNCTION trap.eq_%s(%s, %s) RETURNS bool LANGUAGE plpgsql AS "
                     "$t$BEGIN %s RETURN $1 OPERATOR(pg_catalog.=) $2; END$t$"
                     % (typ, typ, typ, body_hit % ("'=(%s)'" % typ)))
        stmts.append("CREATE OPERATOR trap.= (LEFTARG = %s, RIGHTARG = %s, FUNCTION = trap.eq_%s)"
                     % (typ, typ, typ))
        count += 1
    return stmts, count


def main():
    su = connect(db="postgres")
    q(su, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB)
    for r in ROLES:
        q(su, "DROP ROLE IF EXISTS %s" % r)
    q(su, "CREATE DATABASE %s" % DB)
    su.close()
    su = connect()
    setup(su)
    ds = connect(DS, options="-c ai_guard.purpose=training:attacks")
    ow = connect(OWNER, options="-c ai_guard.purpose=training:attacks")
    other = connect(OTHER, options="-c ai_guard.purpose=training:attacks")

    # a pull by another data scientist, and one by ds itself
    q(other, "SELECT count(*) FROM atk_masked.customers")
    other_pull = one(other, "SELECT ai_guard.last_pull_id()")
    q(ds, "SELECT count(*) FROM atk_masked.customers")
    own_pull = one(ds, "SELECT ai_guard.last_pull_id()")
    q(su, "SELECT ai_guard.audit_flush()")
    pulls_before = one(su, "SELECT count(*) FROM ai_guard.pulls")

    # ---- 1. ai_guard's triggers ----
    for t in ("pulls", "audit_log", "audit_state"):
        refused(ds, "data scientist cannot disable the protect trigger of ai_guard.%s" % t,
                "ALTER TABLE ai_guard.%s DISABLE TRIGGER protect" % t)
        refused(ow, "table owner cannot disable the triggers of ai_guard.%s" % t,
                "ALTER TABLE ai_guard.%s DISABLE TRIGGER ALL" % t)
    refused(ds, "data scientist cannot disable the stamping trigger of a tracked table",
            "ALTER TABLE atk.events DISABLE TRIGGER zz_ai_guard_stamp")
    refused(ds, "data scientist cannot drop the stamping trigger of a tracked table",
            "DROP TRIGGER zz_ai_guard_stamp ON atk.events")
    refused(ds, "data scientist cannot disable governed_relations' cache trigger",
            "ALTER TABLE ai_guard.governed_relations DISABLE TRIGGER governed_relations_changed")
    refused(ds, "data scientist cannot disable ai_guard's event triggers",
            "ALTER EVENT TRIGGER ai_guard_sql_drop DISABLE")
    refused(ow, "table owner cannot drop ai_guard's event triggers",
            "DROP EVENT TRIGGER ai_guard_masking_ddl_end")

    # what PostgreSQL lets an owner do to its own table is detected instead:
    # rows written with the stamping trigger off are reported by verify_rows
    conn = connect(OWNER)
    try:
        q(conn, "ALTER TABLE atk.events DISABLE TRIGGER zz_ai_guard_stamp")
        q(conn, "INSERT INTO atk.events VALUES (1001, 'unstamped')")
        q(conn, "UPDATE atk.events SET payload = 'changed' WHERE id = 1")
        q(conn, "ALTER TABLE atk.events ENABLE TRIGGER zz_ai_guard_stamp")
        bad = one(su, "SELECT count(*) FROM ai_guard.verify_rows('atk.events')")
        tap(bad == 2, "rows an owner writes with the stamping trigger disabled are reported by verify_rows",
            "verify_rows reported %s rows, want 2" % bad)
    except psycopg2.Error as e:
        tap(e.pgcode == "42501", "owner cannot disable the stamping trigger (or it is detected)",
            str(e.pgcode))
    conn.close()

    # ---- 2. ai_guard's tables ----
    writes = {
        "pulls": ["UPDATE ai_guard.pulls SET purpose = 'x'",
                  "DELETE FROM ai_guard.pulls",
                  "INSERT INTO ai_guard.pulls (status, kind, started_at, session_role, \"current_role\", backend_pid, database, nesting_level, param_count) VALUES ('completed', 'read', now(), 'x', 'x', 1, 'x', 0, 0)"],
        "audit_log": ["DELETE FROM ai_guard.audit_log", "UPDATE ai_guard.audit_log SET seq = seq"],
        "audit_state": ["UPDATE ai_guard.audit_state SET head = ''"],
        "governed_relations": ["DELETE FROM ai_guard.governed_relations WHERE rel = 'atk.customers'::regclass",
                               "INSERT INTO ai_guard.governed_relations (rel, reason) VALUES ('atk.secrets', 'govern')"],
        "purpose_grants": ["INSERT INTO ai_guard.purpose_grants (role, purpose) VALUES ('%s', 'marketing')" % DS,
                           "UPDATE ai_guard.purpose_grants SET valid_until = NULL"],
        "keys": ["UPDATE ai_guard.keys SET current_version = 1"],
        "key_versions": ["SELECT wrapped FROM ai_guard.key_versions", "DELETE FROM ai_guard.key_versions"],
        "key_grants": ["INSERT INTO ai_guard.key_grants (key_id, grantee, privilege) SELECT key_id, '%s', 'decrypt' FROM ai_guard.keys" % DS],
        "encrypted_columns": ["DELETE FROM ai_guard.encrypted_columns"],
        "masking_secret": ["SELECT * FROM ai_guard.masking_secret"],
        "masked_access": ["DELETE FROM ai_guard.masked_access"],
        "masked_views": ["DELETE FROM ai_guard.masked_views"],
        "tracked_relations": ["DELETE FROM ai_guard.tracked_relations"],
        "batches": ["UPDATE ai_guard.batches SET consent = '{training}'"],
        "quarantines": ["DELETE FROM ai_guard.quarantines"],
        "tag_writers": ["INSERT INTO ai_guard.tag_writers VALUES ('%s')" % DS],
    }
    for table, stmts in writes.items():
        for s in stmts:
            refused(ds, "data scientist: %s" % s.split(" WHERE")[0][:70], s)
    all_tables = [r[0] for r in q(su, """
SELECT c.relname FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass
   AND d.objid = c.oid AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'ai_guard'
 WHERE c.relkind IN ('r', 'p') ORDER BY 1""")]
    for t in all_tables:
        refused(ds, "data scientist cannot TRUNCATE ai_guard.%s" % t, "TRUNCATE ai_guard.%s" % t)
        refused(ow, "table owner cannot ALTER ai_guard.%s" % t,
                "ALTER TABLE ai_guard.%s ADD COLUMN x int" % t)
        refused(ds, "data scientist cannot DROP ai_guard.%s" % t,
                "DROP TABLE ai_guard.%s" % t)
    refused(ds, "data scientist cannot create objects in schema ai_guard",
            "CREATE FUNCTION ai_guard.pwn() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    refused(ds, "data scientist cannot replace an ai_guard function",
            "CREATE OR REPLACE FUNCTION ai_guard.verify_audit(OUT intact bool) RETURNS bool LANGUAGE sql AS 'SELECT true'",
            ("42501", "42P13"))
    refused(ds, "data scientist cannot drop an ai_guard function",
            "DROP FUNCTION ai_guard.verify_audit()")
    # even a superuser cannot edit the audit records (the protect triggers)
    refused(su, "even a superuser cannot UPDATE ai_guard.pulls",
            "UPDATE ai_guard.pulls SET purpose = 'x'", ("42501", "55000", "P0001"))
    refused(su, "even a superuser cannot DELETE from ai_guard.audit_log",
            "DELETE FROM ai_guard.audit_log", ("42501", "55000", "P0001"))
    refused(su, "even a superuser cannot TRUNCATE ai_guard.pulls",
            "TRUNCATE ai_guard.pulls", ("42501", "55000", "P0001", "0A000"))

    # ---- 3. superuser-only settings ----
    for guc, val in (("ai_guard.require_purpose", "off"), ("ai_guard.audit_restore", "on"),
                     ("ai_guard.audit_failure", "warn"), ("ai_guard.audit_timeout", "10"),
                     ("ai_guard.require_ingest_context", "off"),
                     ("ai_guard.decrypt_requires_ssl", "off"),
                     ("ai_guard.row_membership", "off"),
                     ("session_replication_role", "replica")):
        refused(ds, "data scientist cannot SET %s" % guc, "SET %s = %s" % (guc, val))
        refused(ds, "data scientist cannot set_config('%s')" % guc,
                "SELECT set_config(%s, %s, false)", args=(guc, val))
        refused(ds, "data scientist cannot ALTER ROLE itself SET %s" % guc,
                "ALTER ROLE %s SET %s = %s" % (DS, guc, val))
    for guc in ("ai_guard.master_key_file", "ai_guard.master_key_command",
                "ai_guard.previous_master_key_file"):
        refused(ds, "data scientist cannot SET %s" % guc, "SET %s = '/tmp/x'" % guc, ("42501", "55P02"))
        refused(ds, "data scientist cannot read %s" % guc, "SHOW %s" % guc)
    got = one(ds, "SELECT count(*) FROM pg_catalog.pg_settings WHERE name LIKE 'ai_guard.master%'")
    tap(got == 0, "master key settings are not listed in pg_settings for a data scientist", "%s rows" % got)
    try:
        c = connect(DS, options="-c ai_guard.require_purpose=off")
        c.close()
        tap(False, "a data scientist's connection options cannot turn off require_purpose", "connected")
    except psycopg2.Error as e:
        tap(e.pgcode in ("42501", None) and "permission denied" in str(e),
            "a data scientist's connection options cannot turn off require_purpose", str(e).strip())
    refused(ds, "data scientist cannot ALTER DATABASE SET require_purpose",
            "ALTER DATABASE %s SET ai_guard.require_purpose = off" % DB)
    refused(ds, "data scientist cannot ALTER SYSTEM", "ALTER SYSTEM SET ai_guard.require_purpose = off",
            autocommit=True)

    # ---- 4. the extension itself ----
    refused(ds, "data scientist cannot DROP EXTENSION ai_guard", "DROP EXTENSION ai_guard")
    refused(ow, "table owner cannot DROP EXTENSION ai_guard CASCADE", "DROP EXTENSION ai_guard CASCADE")
    refused(ds, "data scientist cannot ALTER EXTENSION ai_guard",
            "ALTER EXTENSION ai_guard DROP TABLE ai_guard.pulls")
    refused(ds, "data scientist cannot DROP SCHEMA ai_guard", "DROP SCHEMA ai_guard CASCADE")
    refused(ds, "data scientist cannot rename schema ai_guard", "ALTER SCHEMA ai_guard RENAME TO x")
    refused(ds, "data scientist cannot SET ROLE to the table owner", "SET ROLE %s" % OWNER)
    refused(ds, "data scientist cannot SET SESSION AUTHORIZATION", "SET SESSION AUTHORIZATION postgres")

    # ---- 5. LOAD to unhook ----
    refused(ds, "data scientist cannot LOAD a library outside $libdir/plugins",
            "LOAD 'auto_explain'", ("42501",))
    refused(ds, "data scientist cannot LOAD a library by path", "LOAD '/tmp/evil.so'", ("42501", "58P01"))
    refused(ds, "data scientist cannot re-LOAD ai_guard", "LOAD 'ai_guard'", ("42501",))
    # a library that is allowed (plugins/) does not unhook the audit
    conn = connect(DS, options="-c ai_guard.purpose=training:attacks")
    try:
        q(conn, "LOAD '$libdir/plugins/plpgsql'")
    except psycopg2.Error:
        pass
    q(conn, "SELECT count(*) FROM atk_masked.customers")
    pid = one(conn, "SELECT ai_guard.last_pull_id()")
    tap(pid is not None and pid != own_pull, "after a LOAD attempt a masked-view read is still recorded",
        "last_pull_id %s" % pid)
    conn.close()

    # ---- 6. other roles' audit records ----
    r = q(ds, "SELECT pull_id FROM ai_guard.pull(%s)", (other_pull,))
    tap(r == [], "ai_guard.pull() does not show another role's pull", repr(r))
    r = q(ds, "SELECT pull_id FROM ai_guard.pull(%s)", (own_pull,))
    tap(r == [(own_pull,)], "ai_guard.pull() shows the caller's own pull", repr(r))
    for v in ("pulls", "audit_log", "pii_access", "pulls_by_purpose", "refused_reads",
              "batch_summary", "pull_relations", "pull_members"):
        exists = one(su, "SELECT to_regclass(%s) IS NOT NULL", ("ai_guard." + v,))
        if exists:
            refused(ds, "data scientist cannot read ai_guard.%s" % v, "SELECT * FROM ai_guard.%s" % v)
    hd = q(ds, "SELECT * FROM ai_guard.verify_audit()")
    tap(len(hd) == 1 and all(not isinstance(x, str) or "regress_attack_other" not in x for x in hd[0]),
        "verify_audit() (open to all) names no role's records", repr(hd))
    refused(ds, "data scientist cannot read another session's pull through a cursor on pulls",
            "DECLARE c CURSOR FOR SELECT * FROM ai_guard.pulls")

    # ---- 7. masked data, purposes, keys ----
    refused(ds, "data scientist cannot read the base table behind a masked view",
            "SELECT email FROM atk.customers")
    refused(ds, "data scientist cannot COPY the base table", "COPY atk.customers TO STDOUT")
    refused(ds, "data scientist cannot read the base table through a function of its own",
            "CREATE FUNCTION trap.peek() RETURNS SETOF text LANGUAGE sql AS 'SELECT email FROM atk.customers'; SELECT trap.peek()")
    raw = q(ds, "SELECT email FROM atk_masked.customers WHERE id = 7")
    tap(raw and raw[0][0] != "user7@example.com", "the masked view does not return the raw e-mail", repr(raw))
    nopurpose = connect(DS)
    refused(nopurpose, "a governed read without a purpose is refused",
            "SELECT * FROM atk_masked.customers", ("42501", "55000"))
    refused(nopurpose, "a tracked table read without a purpose is refused",
            "SELECT * FROM atk.events", ("42501", "55000"))
    q(nopurpose, "SET ai_guard.purpose = 'marketing:campaign'")
    refused(nopurpose, "a governed read with a purpose not granted is refused",
            "SELECT * FROM atk_masked.customers", ("42501",))
    nopurpose.close()
    q(su, "SELECT ai_guard.audit_flush()")
    refusals = one(su, "SELECT count(*) FROM ai_guard.pulls WHERE status = 'refused' AND session_role = %s", (DS,))
    tap(refusals >= 3, "refused reads are recorded (%s)" % refusals, "%s" % refusals)
    refused(ds, "data scientist cannot decrypt without a key grant",
            "SELECT ai_guard.decrypt(ssn, 'atk.secrets.ssn') FROM atk.secrets")
    refused(ds, "data scientist cannot decrypt_text without a key grant",
            "SELECT ai_guard.decrypt_text(ssn, 'atk.secrets.ssn') FROM atk.secrets")
    refused(ds, "data scientist cannot encrypt with a key it has no grant on",
            "SELECT ai_guard.encrypt('x'::text, 'atk_key')")
    refused(ds, "data scientist cannot pseudonymize with a key it has no grant on",
            "SELECT ai_guard.pseudonymize('x', 'atk_hmac')")
    refused(ds, "data scientist cannot grant itself a key", "SELECT ai_guard.grant_key('atk_key', %s, 'decrypt')", args=(DS,))
    refused(ds, "data scientist cannot grant itself a purpose", "SELECT ai_guard.grant_purpose(%s, 'marketing')", args=(DS,))
    refused(ds, "data scientist cannot grant itself masked access", "SELECT ai_guard.grant_masked_access(%s)", args=(DS,))
    refused(ds, "data scientist cannot rotate a key", "SELECT ai_guard.rotate_key('atk_key')")
    refused(ds, "data scientist cannot create a key", "SELECT ai_guard.create_key('ds_key')")
    refused(ds, "data scientist cannot ungovern a table it does not own",
            "SELECT ai_guard.ungovern('atk.customers')", ("42501",))
    refused(ds, "data scientist cannot untrack a table it does not own",
            "SELECT ai_guard.untrack('atk.events')", ("42501",))
    refused(ds, "data scientist cannot quarantine or release",
            "SELECT ai_guard.quarantine('attack-suite', 'x')")
    refused(ds, "data scientist cannot relabel a column of a table it does not own",
            "SECURITY LABEL FOR ai_guard ON COLUMN atk.customers.email IS 'public'")

    # ---- 8. functions and operators named like ai_guard's, earlier in search_path ----
    stmts, ntraps = trap_functions(su)
    planted = 0
    for s in stmts:
        try:
            q(ds, s)
            planted += s.startswith("CREATE FUNCTION") or s.startswith("CREATE PROCEDURE") \
                or s.startswith("CREATE OPERATOR")
        except psycopg2.Error as e:
            print("# could not plant: %s: %s" % (s[:80], (e.pgerror or "").strip().splitlines()[0]))
    ntraps = planted
    trap_path = "SET search_path = trap, pg_catalog, ai_guard, public"
    # control: the traps do catch an unqualified call (else the check below
    # could not fail)
    q(su, trap_path)
    q(su, "SELECT lower('X'), verify_audit()")
    q(su, "RESET search_path")
    ctl = one(su, "SELECT count(*) FROM trap.hits")
    tap(ctl == 2, "control: unqualified calls under the trap search_path reach the traps", "%s hits" % ctl)
    q(su, "DELETE FROM trap.hits")
    q(su, "ALTER ROLE %s NOSUPERUSER" % DS)   # what the control's traps did
    # the data scientist's own session: DDL fires ai_guard's event triggers,
    # reads go through the hooks, the open functions run internal SQL
    try:
        q(ds, trap_path)
        q(ds, "CREATE TABLE trap.t (id int)")
        q(ds, "ALTER TABLE trap.t ADD COLUMN v text")
        q(ds, "DROP TABLE trap.t")
        q(ds, "SELECT count(*) FROM atk_masked.customers")
        q(ds, "SELECT count(*) FROM atk.events")
        q(ds, "SELECT * FROM ai_guard.verify_audit()")
        q(ds, "SELECT * FROM ai_guard.audit_head()")
        q(ds, "SELECT * FROM ai_guard.pull(%s)", (own_pull,))
        q(ds, "SELECT ai_guard.last_pull_id()")
        q(ds, "SELECT ai_guard.mask_email('a@b.c'), ai_guard.redact_pii('call 555-123-4567')")
        q(ds, "RESET search_path")
        setup_ok = True
    except psycopg2.Error as e:
        setup_ok = False
        q(ds, "RESET search_path")
        tap(False, "data scientist workflow under a trap search_path", str(e).strip())
    # a superuser, and the table owner, working with that search_path
    wf = [
        (ow, "CREATE TABLE atk.t2 (id int, email text)"),
        (ow, "SELECT ai_guard.track('atk.t2')"),
        (ow, "SELECT ai_guard.begin_ingest('trap-source', 'MIT', '{training}')"),
        (ow, "INSERT INTO atk.t2 VALUES (1, 'a@example.com')"),
        (ow, "INSERT INTO atk.t2 SELECT g, 'u' || g || '@example.com' FROM generate_series(2, 5) g"),
        (ow, "SELECT ai_guard.end_ingest()"),
        (ow, "SECURITY LABEL FOR ai_guard ON COLUMN atk.t2.email IS 'pii:email'"),
        (ow, "SECURITY LABEL FOR ai_guard ON COLUMN atk.t2.id IS 'public'"),
        (ow, "SELECT ai_guard.create_masked_view('atk.t2', 'atk_masked')"),
        (ow, "SELECT count(*) FROM atk.t2"),
        (ow, "SELECT * FROM ai_guard.verify_rows('atk.t2')"),
        (ow, "SELECT ai_guard.govern('atk.secrets')"),
        (ow, "SELECT ai_guard.ungovern('atk.secrets', 'owner test')"),
        (ow, "SELECT ai_guard.encrypt('x'::text, 'atk_key')"),
        (ow, "SELECT ai_guard.decrypt_text(ssn, 'atk.secrets.ssn') FROM atk.secrets"),
        (ow, "CREATE TABLE atk.enc (id int NOT NULL, v text)"),
        (ow, "INSERT INTO atk.enc VALUES (1, 'secret')"),
        (ow, "SELECT ai_guard.encrypt_column('atk.enc', 'v', 'atk_key')"),
        (ow, "SELECT ai_guard.reencrypt('atk.enc', 'v')"),
        (ow, "DROP TABLE atk.enc"),
        (su, "SELECT ai_guard.grant_masked_access('%s')" % OTHER),
        (su, "SELECT ai_guard.grant_purpose('%s', 'analytics')" % OTHER),
        (su, "SELECT ai_guard.revoke_purpose('%s', 'analytics')" % OTHER),
        (su, "SELECT ai_guard.rotate_key('atk_key')"),
        (su, "SELECT ai_guard.grant_key('atk_hmac', '%s', 'pseudonymize')" % OTHER),
        (su, "SELECT ai_guard.revoke_key('atk_hmac', '%s', 'pseudonymize')" % OTHER),
        (su, "SELECT ai_guard.quarantine('trap-source', 'trap')"),
        (su, "SELECT ai_guard.release(max(quarantine_id), 'done') FROM ai_guard.quarantines"),
        (su, "SELECT * FROM ai_guard.scan_table('atk.t2', 10)"),
        (su, "SELECT ai_guard.audit_flush()"),
        (su, "SELECT * FROM ai_guard.verify_audit()"),
        (ow, "SELECT ai_guard.untrack('atk.t2')"),
        (ow, "DROP TABLE atk.t2 CASCADE"),
    ]
    wf_errors = []
    for conn, s in wf:
        q(conn, trap_path)
        try:
            q(conn, s)
        except psycopg2.Error as e:
            wf_errors.append("%s: %s" % (s, (e.pgerror or "").strip().splitlines()[0]))
        q(conn, "RESET search_path")
    tap(setup_ok and not wf_errors, "the workflow works with a trap schema first in search_path",
        "; ".join(wf_errors))
    hits = q(su, "SELECT who, fn, count(*) FROM trap.hits GROUP BY 1, 2 ORDER BY 1, 2")
    tap(hits == [], "none of %d planted functions and operators was called by ai_guard" % ntraps,
        repr(hits))
    tap(one(su, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (DS,)) is False,
        "the data scientist did not become a superuser")

    # ---- 9. session_replication_role / trigger bypass by a superuser is caught ----
    q(su, "SET session_replication_role = replica")
    q(su, "INSERT INTO atk.events VALUES (2001, 'replica')")
    q(su, "RESET session_replication_role")
    bad = one(su, "SELECT count(*) FROM ai_guard.verify_rows('atk.events') v WHERE v.row_id IS NULL OR v.stored_digest IS NULL")
    tap(bad >= 1, "a row inserted with session_replication_role = replica is reported by verify_rows",
        "%s" % bad)
    try:
        q(su, "SET session_replication_role = replica")
        q(su, "SET ai_guard.purpose = 'training:replica'")
        q(su, "SELECT count(*) FROM atk.events")
        pid = one(su, "SELECT ai_guard.last_pull_id()")
        q(su, "RESET session_replication_role")
        tap(pid is not None, "a governed read with session_replication_role = replica is still recorded")
    except psycopg2.Error as e:
        tap(False, "a governed read with session_replication_role = replica", str(e).strip())

    # ---- 10. row membership, impact queries and budgets ----
    for t in ("pull_members", "pull_relations", "budgets", "models", "model_pulls"):
        refused(ds, "data scientist cannot read ai_guard.%s" % t, "SELECT * FROM ai_guard.%s" % t)
    refused(ds, "data scientist cannot look up a data subject's rows",
            "SELECT * FROM ai_guard.subject_exposure('1')")
    refused(ds, "data scientist cannot ask which pulls held given rows",
            "SELECT * FROM ai_guard.erasure_impact('atk.events', '{1,2,3}')")
    refused(ds, "data scientist cannot set its own budget",
            "SELECT ai_guard.set_budget('%s', 'training', 1000000, '1 day')" % DS)
    refused(ds, "data scientist cannot drop a budget",
            "SELECT ai_guard.drop_budget('%s', 'training')" % OTHER)
    q(su, "SELECT ai_guard.set_budget('%s', 'training', 3, '1 hour')" % OTHER)
    refused(other, "a pull beyond the budget is stopped",
            "SELECT * FROM atk_masked.customers")
    c = connect(OTHER, options="-c ai_guard.purpose=training:other-model")
    refused(c, "another purpose of the same class is charged to the same budget",
            "SELECT id FROM atk_masked.customers LIMIT 1")
    refused(c, "a cursor does not escape the budget",
            "DECLARE cur CURSOR FOR SELECT id FROM atk_masked.customers; FETCH 10 FROM cur")
    c.close()
    q(su, "SELECT ai_guard.drop_budget('%s', 'training')" % OTHER)

    # ---- the audit survived all of it ----
    q(su, "SELECT ai_guard.audit_flush()")
    tap(one(su, "SELECT intact FROM ai_guard.verify_audit()") is True, "the audit chain verifies after the attacks")
    tap(one(su, "SELECT count(*) FROM ai_guard.pulls") >= pulls_before,
        "no audit record disappeared")

    for c in (ds, ow, other, su):
        c.close()
    su = connect(db="postgres")
    q(su, "DROP DATABASE %s WITH (FORCE)" % DB)
    for r in ROLES:
        q(su, "DROP ROLE %s" % r)
    su.close()
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
