#!/usr/bin/env python3
"""The read-path matrix (docs/RELIABILITY.md, "No ungoverned read"): every
way a governed value can leave the server that this project knows of, tried
by a masked data scientist, a reader with SELECT and the table's owner, each
logged in on its own connection. Every check passes only if the outcome is
one of the two the promise allows:

  refused   - the statement fails (SQLSTATE 42501) before any governed row is
              read, and what it tried to copy is not there;
  recorded  - the pull record's counts cover what really left: the rows the
              client received (and their digest), the rows a side channel
              (notices, notifications, large objects, other tables) got.

Runs in a database of its own on the test cluster (PGHOST/PGPORT/PGUSER of a
superuser); drops it and its roles at the end. Prints TAP, then the matrix."""
import hashlib
import io
import os
import select
import signal
import sys
import time

import psycopg2
import psycopg2.extensions

DB = "ai_guard_read_paths"
DS = "regress_rp_ds"          # masked data scientist: masked views, a purpose
READER = "regress_rp_reader"  # SELECT, UPDATE, DELETE, INSERT on the table
OWNER = "regress_rp_owner"    # owns the governed tables
ROLES = (DS, READER, OWNER)
SOURCE = {DS: "gov_masked.people", READER: "gov.people", OWNER: "gov.people"}
WHO = {DS: "masked data scientist", READER: "reader with SELECT", OWNER: "table owner"}
OWN = {DS: "own_ds", READER: "own_reader", OWNER: "own_owner"}
N_ROWS = 200

n = 0
failed = 0
matrix = []


def tap(ok, name, why=""):
    global n, failed
    n += 1
    if ok:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s%s" % (n, name, (" (" + why + ")") if why else ""))
    sys.stdout.flush()


def check(path, role, outcome, ok, why=""):
    """One cell of the matrix: path x role, the outcome the promise allows."""
    matrix.append((path, WHO.get(role, role), outcome, "pass" if ok else "FAIL"))
    tap(ok, "%s, %s: %s" % (path, WHO.get(role, role), outcome), why)


def connect(user=None, purpose=None, db=DB):
    kw = {"dbname": db, "application_name": "read_paths"}
    if user:
        kw["user"] = user
    if purpose:
        kw["options"] = "-c ai_guard.purpose=%s" % purpose
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


def attempt(conn, sql, args=None):
    """Runs sql; returns (rows, None) or (None, SQLSTATE). Rolls back on error."""
    cur = conn.cursor()
    try:
        cur.execute(sql, args)
        rows = cur.fetchall() if cur.description else []
        return rows, None
    except psycopg2.Error as e:
        if not conn.autocommit:
            conn.rollback()
        return None, e.pgcode
    finally:
        cur.close()


su = None


def mark():
    q(su, "SELECT ai_guard.audit_flush()")
    return one(su, "SELECT coalesce(max(pull_id), 0) FROM ai_guard.pulls")


def pulls_since(m):
    q(su, "SELECT ai_guard.audit_flush()")
    cur = su.cursor()
    cur.execute("SELECT * FROM ai_guard.pulls WHERE pull_id > %s ORDER BY pull_id", (m,))
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    cur.close()
    return rows


def read_of(rec, rel):
    return (rec.get("rows_read") or {}).get(rel, 0)


def refused_check(path, role, conn, sql, loot=None):
    """Refused: 42501, a refusal on record, and nothing in the loot table."""
    m = mark()
    rows, code = attempt(conn, sql)
    recs = pulls_since(m)
    got = one(su, "SELECT count(*) FROM %s" % loot) if loot else 0
    ok = code == "42501" and got == 0 and any(r["status"] == "refused" for r in recs)
    check(path, role, "refused", ok,
          "SQLSTATE %s, %d rows copied, records %s" % (code, got, [(r["status"], r["kind"]) for r in recs]))


def setup():
    q(su, """
CREATE EXTENSION ai_guard;
CREATE ROLE %(ds)s LOGIN; CREATE ROLE %(reader)s LOGIN; CREATE ROLE %(owner)s LOGIN;
CREATE SCHEMA gov AUTHORIZATION %(owner)s;
CREATE SCHEMA gov_masked AUTHORIZATION %(owner)s;
CREATE SCHEMA own_ds AUTHORIZATION %(ds)s;
CREATE SCHEMA own_reader AUTHORIZATION %(reader)s;
CREATE SCHEMA own_owner AUTHORIZATION %(owner)s;
SELECT ai_guard.grant_purpose('%(ds)s', 'training');
SELECT ai_guard.grant_purpose('%(reader)s', 'training');
SELECT ai_guard.grant_purpose('%(owner)s', 'training');
SELECT ai_guard.create_key('rp_pseudo', 'hmac-sha256');
SELECT ai_guard.grant_key('rp_pseudo', '%(ds)s', 'pseudonymize');
""" % {"ds": DS, "reader": READER, "owner": OWNER})
    ow = connect(OWNER, "training")
    q(ow, """
CREATE TABLE gov.people (id int PRIMARY KEY, email text, note text);
INSERT INTO gov.people SELECT g, 'user' || g || '@example.com', 'note ' || g
  FROM generate_series(1, %(n)s) g;
SECURITY LABEL FOR ai_guard ON COLUMN gov.people.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN gov.people.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN gov.people.note IS 'public';
SELECT ai_guard.govern('gov.people');
SELECT ai_guard.create_masked_view('gov.people', 'gov_masked');
CREATE TABLE gov.rls_people AS SELECT * FROM gov.people;
SELECT ai_guard.govern('gov.rls_people');
ALTER TABLE gov.rls_people ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON gov.rls_people USING (true);
GRANT USAGE ON SCHEMA gov TO %(reader)s;
GRANT SELECT, INSERT, UPDATE, DELETE ON gov.people, gov.rls_people TO %(reader)s;
""" % {"n": N_ROWS, "reader": READER})
    ow.close()
    q(su, "SELECT ai_guard.grant_masked_access('%s')" % DS)
    for role in ROLES:
        c = connect(role)
        q(c, "CREATE TABLE %s.loot (v text)" % OWN[role])
        q(c, """CREATE FUNCTION %s.leak(t text) RETURNS boolean LANGUAGE plpgsql
                AS $$BEGIN RAISE NOTICE 'leak %%', t; RETURN false; END$$""" % OWN[role])
        c.close()


# ---- 1. foreign-key actions run user code: only the RI query is exempt ----
def fk_actions():
    for role in (DS, READER):
        own = OWN[role]
        for temp in (False, True):
            c = connect(role)
            schema = "pg_temp" if temp else own
            q(c, """
CREATE TABLE %(s)s.parent (id int PRIMARY KEY);
CREATE TABLE %(s)s.child (pid int REFERENCES %(s)s.parent ON DELETE CASCADE ON UPDATE CASCADE);
CREATE FUNCTION %(own)s.grab() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO %(own)s.loot SELECT email FROM %(src)s; RETURN OLD; END$$;
CREATE TRIGGER grab BEFORE DELETE OR UPDATE ON %(s)s.child
  FOR EACH ROW EXECUTE FUNCTION %(own)s.grab();
INSERT INTO %(s)s.parent VALUES (1), (2); INSERT INTO %(s)s.child VALUES (1), (2);
""" % {"s": schema, "own": own, "src": SOURCE[role]})
            kind = "temporary tables" if temp else "own tables"
            refused_check("ON DELETE CASCADE fires a trigger that copies %s (%s)" % (SOURCE[role], kind),
                          role, c, "DELETE FROM %s.parent WHERE id = 1" % schema, own + ".loot")
            refused_check("ON UPDATE CASCADE fires a trigger that copies %s (%s)" % (SOURCE[role], kind),
                          role, c, "UPDATE %s.parent SET id = 3 WHERE id = 2" % schema, own + ".loot")
            # with a purpose the copy is recorded with the rows it made
            q(c, "SET ai_guard.purpose = 'training'")
            m = mark()
            q(c, "DELETE FROM %s.parent WHERE id = 1" % schema)
            got = one(su, "SELECT count(*) FROM %s.loot" % own)
            recs = [r for r in pulls_since(m) if r["kind"] == "derivation"]
            check("ON DELETE CASCADE trigger copying %s under a purpose (%s)" % (SOURCE[role], kind),
                  role, "recorded", got > 0 and len(recs) == 1 and recs[0]["rows"] == got,
                  "copied %d, records %s" % (got, [(r["kind"], r["rows"]) for r in recs]))
            q(su, "TRUNCATE %s.loot" % own)
            q(c, "DROP TABLE %(s)s.child, %(s)s.parent; DROP FUNCTION %(own)s.grab()"
              % {"s": schema, "own": own})
            c.close()


# ---- 2. writes that read ----
def writes_that_read():
    r = connect(READER)
    for path, sql in (
            ("UPDATE of the governed table, no RETURNING", "UPDATE gov.people SET note = note WHERE id <= 10"),
            ("UPDATE whose condition reads the governed table",
             "UPDATE own_reader.loot SET v = v WHERE v IN (SELECT email FROM gov.people)"),
            ("DELETE of the governed table that deletes nothing", "DELETE FROM gov.people WHERE email = 'nobody'"),
            ("MERGE into the governed table",
             "MERGE INTO gov.people p USING (SELECT 1 AS id) s ON p.id = s.id "
             "WHEN MATCHED THEN UPDATE SET note = p.note"),
            ("INSERT ... ON CONFLICT DO UPDATE of the governed table",
             "INSERT INTO gov.people VALUES (1, 'x', 'x') ON CONFLICT (id) DO UPDATE SET note = gov.people.note"),
            ("data-modifying CTE that copies what it updates",
             "WITH d AS (UPDATE gov.people SET note = note WHERE id <= 20 RETURNING email) "
             "INSERT INTO own_reader.loot SELECT email FROM d"),
            ("INSERT ... SELECT from the governed table", "INSERT INTO own_reader.loot SELECT email FROM gov.people"),
            ("SELECT INTO a new table", "SELECT email INTO own_reader.copy FROM gov.people"),
            ("EXPLAIN ANALYZE of a governed read", "EXPLAIN ANALYZE SELECT * FROM gov.people")):
        refused_check(path + " without a purpose", READER, r, sql, "own_reader.loot")

    # a plain INSERT reads nothing: ingest needs no purpose
    rows, code = attempt(r, "INSERT INTO gov.people VALUES (10001, 'new@example.com', 'n')")
    check("plain INSERT into the governed table (reads nothing)", READER, "allowed without a purpose",
          code is None, "SQLSTATE %s" % code)
    q(su, "DELETE FROM gov.people WHERE id = 10001")

    q(r, "SET ai_guard.purpose = 'training'")
    m = mark()
    q(r, "UPDATE gov.people SET note = note WHERE email LIKE 'user1%'")
    recs = pulls_since(m)
    check("UPDATE under a purpose", READER, "recorded with the rows examined",
          len(recs) == 1 and recs[0]["kind"] == "read" and read_of(recs[0], "gov.people") >= N_ROWS,
          str([(x["kind"], x["rows_read"]) for x in recs]))

    l = connect()
    q(l, "LISTEN rp_conflict")
    m = mark()
    q(r, "INSERT INTO gov.people (id, email, note) SELECT g, 'x', 'x' FROM generate_series(1, %d) g "
         "ON CONFLICT (id) DO UPDATE SET note = gov.people.note "
         "WHERE pg_notify('rp_conflict', gov.people.email)::text IS NULL" % N_ROWS)
    got = 0
    deadline = time.time() + 5
    while time.time() < deadline and got < N_ROWS:
        select.select([l], [], [], 0.5)
        l.poll()
        got += len(l.notifies)
        del l.notifies[:]
    recs = pulls_since(m)
    check("INSERT ... ON CONFLICT DO UPDATE whose WHERE notifies each existing row", READER,
          "recorded with the rows examined",
          len(recs) == 1 and read_of(recs[0], "gov.people") >= got == N_ROWS,
          "%d notifications, %s" % (got, [x["rows_read"] for x in recs]))
    l.close()

    m = mark()
    q(r, "WITH d AS (UPDATE gov.people SET note = note WHERE id <= 20 RETURNING email) "
         "INSERT INTO own_reader.loot SELECT email FROM d")
    recs = pulls_since(m)
    got = one(su, "SELECT count(*) FROM own_reader.loot")  # (a copy: governed)
    check("data-modifying CTE under a purpose", READER, "recorded as a derivation with the rows written",
          len(recs) == 1 and recs[0]["kind"] == "derivation" and recs[0]["rows"] == got == 20 and
          recs[0]["target"] == "own_reader.loot",
          str([(x["kind"], x["rows"], x["target"]) for x in recs]))
    q(su, "TRUNCATE own_reader.loot")

    for role in (READER, DS):
        c = connect(role, "training")
        m = mark()
        q(c, "INSERT INTO %s.loot SELECT email FROM %s" % (OWN[role], SOURCE[role]))
        recs = pulls_since(m)
        got = one(su, "SELECT count(*) FROM %s.loot" % OWN[role])
        check("INSERT ... SELECT from %s" % SOURCE[role], role,
              "recorded with the rows written",
              len(recs) == 1 and recs[0]["kind"] == "derivation" and recs[0]["rows"] == got == N_ROWS
              and recs[0]["digest"] is None,
              str([(x["kind"], x["rows"], x["digest"]) for x in recs]))
        q(su, "TRUNCATE %s.loot" % OWN[role])
        c.close()

    # a rule on the reader's own table runs a read
    q(r, "RESET ai_guard.purpose")
    q(r, "CREATE TABLE own_reader.t (i int)")
    q(r, "CREATE RULE copy AS ON INSERT TO own_reader.t DO ALSO "
         "INSERT INTO own_reader.loot SELECT email FROM gov.people")
    refused_check("a rule on the reader's own table copies the governed table", READER, r,
                  "INSERT INTO own_reader.t VALUES (1)", "own_reader.loot")
    r.close()

    o = connect(OWNER)
    refused_check("the owner updates the governed table without a purpose", OWNER, o,
                  "UPDATE gov.people SET note = note WHERE id = 1")
    o.close()


# ---- 3. side channels ----
class Notices:
    """Every notice (psycopg2 keeps only the last 50 in a list)."""

    def __init__(self):
        self.items = []

    def append(self, x):
        self.items.append(x)

    def clear(self):
        self.items = []

    def __len__(self):
        return len(self.items)


def side_channels():
    for role in (DS, READER):
        own, src = OWN[role], SOURCE[role]
        base = "gov.people"   # the relation scanned, also under the masked view
        c = connect(role, "training")
        c.notices = Notices()
        q(c, """CREATE FUNCTION %(own)s.stash(t text) RETURNS boolean LANGUAGE plpgsql
                AS $$BEGIN INSERT INTO %(own)s.loot VALUES (t); RETURN false; END$$;
                CREATE FUNCTION %(own)s.cat(a text, b text) RETURNS text LANGUAGE plpgsql
                AS $$BEGIN RAISE NOTICE 'leak %%', b; RETURN a || b; END$$;
                CREATE AGGREGATE %(own)s.collect(text) (SFUNC = %(own)s.cat, STYPE = text, INITCOND = '');
                CREATE FUNCTION %(own)s.leq(a text, b text) RETURNS boolean LANGUAGE plpgsql
                AS $$BEGIN RAISE NOTICE 'leak %%', a; RETURN a = b; END$$;
                CREATE OPERATOR %(own)s.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = %(own)s.leq);
                CREATE DOMAIN %(own)s.leaky AS text CHECK (%(own)s.leak(VALUE) OR VALUE IS NOT NULL);
                CREATE TYPE %(own)s.lcomp AS (f %(own)s.leaky);
                CREATE FUNCTION %(own)s.castfn(text) RETURNS int LANGUAGE plpgsql
                AS $$BEGIN RAISE NOTICE 'leak %%', $1; RETURN 0; END$$;"""
          % {"own": own})
        for path, sql in (
                ("a PL/pgSQL function in WHERE raises each value in a notice",
                 "SELECT count(*) FROM %s WHERE %s.leak(email)" % (src, own)),
                ("a volatile function writes each value into the caller's table",
                 "SELECT count(*) FROM %s WHERE %s.stash(email)" % (src, own)),
                ("a user-defined aggregate sees every value",
                 "SELECT length(%s.collect(email)) FROM %s" % (own, src)),
                ("a user-defined operator sees every value",
                 "SELECT count(*) FROM %s WHERE email OPERATOR(%s.===) 'x'" % (src, own)),
                ("a domain's CHECK constraint sees every value",
                 "SELECT count(email::%s.leaky) FROM %s" % (own, src)),
                ("a function in the select list of a single-row aggregate",
                 "SELECT max(%s.castfn(email)) FROM %s" % (own, src)),
                ("a function in ORDER BY sees every value",
                 "SELECT id FROM %s ORDER BY %s.leak(email) LIMIT 1" % (src, own)),
                ("a function in a lateral join sees every value",
                 "SELECT count(*) FROM %s p, LATERAL (SELECT %s.leak(p.email)) l" % (src, own)),
                ("a function in a correlated subquery sees every value",
                 "SELECT count(*) FROM %s p WHERE EXISTS (SELECT 1 FROM pg_class WHERE %s.leak(p.email) LIMIT 1)"
                 % (src, own)),
                ("a function in a window's ORDER BY sees every value",
                 "SELECT max(r) FROM (SELECT rank() OVER (ORDER BY %s.leak(email)) r FROM %s) s" % (own, src)),
                ("a domain's CHECK reached through an array coercion",
                 "SELECT count(*) FROM %s WHERE string_to_array(email, ',')::%s.leaky[] IS NOT NULL" % (src, own)),
                ("a domain's CHECK reached through array input",
                 "SELECT count(*) FROM %s WHERE ('{\"' || email || '\"}')::%s.leaky[] IS NOT NULL" % (src, own)),
                ("a domain's CHECK reached through record input",
                 "SELECT count(*) FROM %s WHERE ('(' || email || ')')::%s.lcomp IS NOT NULL" % (src, own)),
                ("a domain's CHECK reached through json_populate_record()",
                 "SELECT count(*) FROM %s WHERE json_populate_record(null::%s.lcomp, "
                 "json_build_object('f', email)) IS NOT NULL" % (src, own))):
            c.notices.clear()
            m = mark()
            rows, code = attempt(c, sql)
            recs = pulls_since(m)
            got = one(su, "SELECT count(*) FROM %s.loot" % own)
            check(path, role, "refused",
                  code == "42501" and len(c.notices) == 0 and got == 0 and
                  any(r["status"] == "refused" and "untrusted function" in (r["detail"] or "") for r in recs),
                  "SQLSTATE %s, %d notices, %d copied, %s" % (code, len(c.notices), got,
                                                             [(r["status"], r["detail"]) for r in recs]))

        # an uncorrelated subquery's result computed from values is a value;
        # one computed from no column (a count) is not
        for path, sql in (
                ("a function applied to an uncorrelated subquery's value",
                 "SELECT %s.leak((SELECT email FROM %s ORDER BY id LIMIT 1))" % (own, src)),
                ("a function applied to an uncorrelated subquery's string_agg of every value",
                 "SELECT %s.leak((SELECT string_agg(email, ',') FROM %s))" % (own, src))):
            c.notices.clear()
            rows, code = attempt(c, sql)
            check(path, role, "refused", code == "42501" and len(c.notices) == 0,
                  "SQLSTATE %s, %d notices" % (code, len(c.notices)))
        c.notices.clear()
        m = mark()
        rows, code = attempt(c, "SELECT %s.leak((SELECT count(*) FROM %s)::text)" % (own, src))
        recs = pulls_since(m)
        check("a function applied to an uncorrelated subquery's count", role,
              "recorded with the rows examined",
              code is None and len(c.notices) == 1 and len(recs) == 1 and read_of(recs[0], base) >= N_ROWS,
              "SQLSTATE %s, %d notices, %s" % (code, len(c.notices), [r["rows_read"] for r in recs]))

        # trusted by the platform team: allowed, and the record covers every value it saw
        q(su, "SELECT ai_guard.trust_function('%s.leak(text)', 'read_paths test')" % own)
        c.notices.clear()
        m = mark()
        rows, code = attempt(c, "SELECT count(*) FROM %s WHERE %s.leak(email)" % (src, own))
        recs = pulls_since(m)
        main = [r for r in recs if r["nesting_level"] == 0]
        seen = len([x for x in c.notices.items if "leak" in x])
        check("a trusted function raises each value in a notice", role,
              "recorded with the rows examined",
              code is None and len(main) == 1 and main[0]["rows"] == 1 and
              read_of(main[0], base) >= seen == N_ROWS,
              "SQLSTATE %s, %d notices, %s" % (code, seen, [(r["rows"], r["rows_read"]) for r in main]))
        who = q(su, "SELECT trusted_by, reason FROM ai_guard.trusted_functions WHERE fn = '%s.leak(text)'::regprocedure" % own)
        tap(who == [("postgres", "read_paths test")] or (who and who[0][1] == "read_paths test"),
            "trust_function records who trusted what, and why (%s)" % WHO[role])
        # trust is given to a definition: replacing the body withdraws it
        q(c, """CREATE OR REPLACE FUNCTION %s.leak(t text) RETURNS boolean LANGUAGE plpgsql
                AS $$BEGIN RAISE NOTICE 'leak again %%', t; RETURN false; END$$""" % own)
        c.notices.clear()
        rows, code = attempt(c, "SELECT count(*) FROM %s WHERE %s.leak(email)" % (src, own))
        check("a trusted function is replaced with another body (CREATE OR REPLACE)", role, "refused",
              code == "42501" and len(c.notices) == 0, "SQLSTATE %s, %d notices" % (code, len(c.notices)))
        q(su, "SELECT ai_guard.distrust_function('%s.leak(text)')" % own)

        # built-in functions that send values elsewhere: recorded
        l = connect(su.info.user)
        q(l, "LISTEN rp_leak")
        m = mark()
        q(c, "SELECT count(pg_notify('rp_leak', id || ' ' || email)) FROM %s" % src)
        deadline = time.time() + 5
        got = 0
        while time.time() < deadline and got < N_ROWS:
            select.select([l], [], [], 0.5)
            l.poll()
            got += len(l.notifies)
            del l.notifies[:]
        recs = pulls_since(m)
        check("pg_notify() inside an aggregate sends each value", role, "recorded with the rows examined",
              len(recs) == 1 and recs[0]["rows"] == 1 and read_of(recs[0], base) >= got == N_ROWS,
              "%d notifications, %s" % (got, [(r["rows"], r["rows_read"]) for r in recs]))
        l.close()

        # a large object or a setting would be an ungoverned copy for a later statement
        for what, sql in (("lo_from_bytea(string_agg(...)) copies every value into a large object",
                           "SELECT lo_from_bytea(0, convert_to(string_agg(email, ','), 'UTF8')) FROM %s"),
                          ("set_config(string_agg(...)) keeps every value in a setting",
                           "SELECT set_config('x.v', string_agg(email, ','), false) FROM %s")):
            m = mark()
            rows, code = attempt(c, sql % src)
            recs = pulls_since(m)
            check(what, role, "refused (untrusted function), recorded",
                  code == "42501" and len(recs) == 1 and recs[0]["status"] == "refused",
                  "SQLSTATE %s, %s" % (code, [(r["status"], r["detail"]) for r in recs]))

        m = mark()
        rows, code = attempt(c, "SELECT email::int FROM %s" % src)
        recs = pulls_since(m)
        check("an error message quotes a value", role, "recorded with the rows examined",
              code == "22P02" and len(recs) == 1 and recs[0]["status"] == "failed" and
              read_of(recs[0], base) >= 1,
              "SQLSTATE %s, %s" % (code, [(r["status"], r["rows_read"]) for r in recs]))
        c.close()


# ---- 5. purpose changed while a cursor is open ----
def purpose_mid_cursor():
    for role in (DS, READER, OWNER):
        c = connect(role, "training")
        c.autocommit = False
        cur = c.cursor()
        cur.execute("DECLARE c CURSOR FOR SELECT * FROM %s" % SOURCE[role])
        cur.execute("FETCH 5 FROM c")
        cur.fetchall()
        cur.execute("SET ai_guard.purpose = 'marketing:not-granted'")
        try:
            cur.execute("FETCH 5 FROM c")
            cur.fetchall()
            code = None
        except psycopg2.Error as e:
            code = e.pgcode
        c.rollback()
        check("ai_guard.purpose changed while a cursor is open, then FETCH", role, "refused",
              code == "42501", "SQLSTATE %s" % code)
        c.close()


# ---- 7. a cache load cut short must not leave the session believing nothing is governed ----
def cache_load_fails_closed():
    r = connect(READER)
    q(r, "SET ai_guard.purpose = 'training'")
    q(r, "SELECT count(*) FROM gov.people")      # the cache is loaded
    q(r, "RESET ai_guard.purpose")
    ow = connect(OWNER)
    q(ow, "CREATE TABLE gov.other (i int)")
    q(ow, "SELECT ai_guard.govern('gov.other')")  # invalidates the reader's cache
    locker = connect()
    locker.autocommit = False
    q(locker, "LOCK ai_guard.governed_relations IN ACCESS EXCLUSIVE MODE")
    q(r, "SET lock_timeout = '300ms'")
    rows, code = attempt(r, "SELECT count(*) FROM gov.people")
    locker.commit()
    locker.close()
    q(r, "RESET lock_timeout")
    tap(code == "55P03", "the cache load waits for its lock and times out (SQLSTATE %s)" % code)
    rows, code = attempt(r, "SELECT count(*) FROM gov.people")
    check("read without a purpose after the governed-set load was cut short", READER, "refused",
          code == "42501", "SQLSTATE %s, rows %s" % (code, rows))
    q(ow, "DROP TABLE gov.other")

    # the same for the tracked-table cache: a pull of a tracked table whose
    # load was cut short still records which rows it delivered
    q(ow, """CREATE TABLE gov.events (id int, payload text);
             SELECT ai_guard.track('gov.events');
             SELECT ai_guard.begin_ingest('read-paths', 'CC0-1.0', '{training}');
             INSERT INTO gov.events SELECT g, 'event ' || g FROM generate_series(1, 20) g;
             SELECT ai_guard.end_ingest();
             GRANT SELECT ON gov.events TO %s;""" % READER)
    q(r, "SET ai_guard.purpose = 'training'")
    q(r, "SELECT count(*) FROM gov.events")        # the caches are loaded
    q(ow, "CREATE TABLE gov.events2 (id int); SELECT ai_guard.track('gov.events2')")
    locker = connect()
    locker.autocommit = False
    q(locker, "LOCK ai_guard.tracked_relations IN ACCESS EXCLUSIVE MODE")
    q(r, "SET lock_timeout = '300ms'")
    rows, code = attempt(r, "SELECT * FROM gov.events")
    locker.commit()
    locker.close()
    q(r, "RESET lock_timeout")
    m = mark()
    q(r, "SELECT * FROM gov.events")
    recs = pulls_since(m)
    members = one(su, "SELECT count(*) FROM ai_guard.pull_relations WHERE pull_id = %s",
                  (recs[0]["pull_id"],)) if recs else 0
    check("read of a tracked table after the tracked-set load was cut short",
          READER, "recorded with its row membership", code == "55P03" and members == 1,
          "SQLSTATE %s, %d membership rows" % (code, members))
    q(ow, "DROP TABLE gov.events2")
    ow.close()
    r.close()


# ---- 8. parallel workers ----
def parallel_workers():
    r = connect(READER)
    q(r, """CREATE FUNCTION own_reader.par_count() RETURNS bigint LANGUAGE plpgsql PARALLEL SAFE
            AS $$BEGIN RETURN (SELECT count(*) FROM gov.people WHERE email IS NOT NULL); END$$""")
    q(r, "SET force_parallel_mode = on")
    for purpose in (None, "training"):
        if purpose:
            q(r, "SET ai_guard.purpose = 'training'")
        m = mark()
        rows, code = attempt(r, "SELECT own_reader.par_count()")
        recs = pulls_since(m)
        inner = [x for x in recs if x["nesting_level"] > 0 and x["status"] == "completed"]
        ok = (code == "42501") or (code is None and len(inner) == 1 and
                                   read_of(inner[0], "gov.people") >= N_ROWS)
        check("a PARALLEL SAFE function reads the governed table in a parallel worker (%s)"
              % ("under a purpose" if purpose else "no purpose"),
              READER, "refused, or recorded through the leader", ok,
              "SQLSTATE %s, rows %s, records %s" % (code, rows, [(x["status"], x["nesting_level"]) for x in recs]))
    r.close()


# ---- 9. COPY rel TO under row-level security: one record, exact ----
def copy_with_rls():
    r = connect(READER, "training")
    m = mark()
    buf = io.BytesIO()
    r.cursor().copy_expert("COPY gov.rls_people TO STDOUT", buf)
    data = buf.getvalue()
    recs = pulls_since(m)
    check("COPY table TO STDOUT of a table with row-level security", READER,
          "recorded once, with the rows and digest received",
          len(recs) == 1 and recs[0]["status"] == "completed" and recs[0]["rows"] == N_ROWS and
          recs[0]["digest"] == hashlib.sha256(data).hexdigest(),
          str([(x["status"], x["rows"], x["digest"]) for x in recs]))
    r.close()


# ---- 11. a portal that fails at an outer level ----
def portal_fails_outside():
    r = connect(READER, "training")
    r.autocommit = False
    cur = r.cursor()
    m = mark()
    cur.execute("DECLARE c CURSOR FOR SELECT id, 1 / (%d - id) FROM gov.people ORDER BY id" % N_ROWS)
    cur.execute("FETCH 50 FROM c")
    cur.fetchall()
    cur.execute("SAVEPOINT s")
    try:
        cur.execute("FETCH ALL FROM c")
        code = None
    except psycopg2.Error as e:
        code = e.pgcode
    cur.execute("ROLLBACK TO s")
    r.commit()
    recs = pulls_since(m)
    check("a cursor's FETCH fails inside a savepoint, ROLLBACK TO, COMMIT", READER,
          "recorded as failed, not left started",
          code == "22012" and len(recs) == 1 and recs[0]["status"] == "failed" and
          recs[0]["rows"] >= 50,
          "SQLSTATE %s, %s" % (code, [(x["status"], x["rows"]) for x in recs]))
    r.close()


# ---- 13. RETURN QUERY with parameters ----
def return_query_params():
    r = connect(READER, "training")
    q(r, """CREATE FUNCTION own_reader.by_id(n int) RETURNS SETOF text LANGUAGE plpgsql
            AS $$BEGIN RETURN QUERY SELECT email FROM gov.people WHERE id < n; END$$""")
    m = mark()
    rows, code = attempt(r, "SELECT * FROM own_reader.by_id(6)")
    recs = [x for x in pulls_since(m) if x["nesting_level"] > 0]
    check("RETURN QUERY with a parameter in PL/pgSQL", READER, "recorded with the rows returned",
          code is None and len(rows) == 5 and len(recs) == 1 and recs[0]["rows"] == 5 and
          recs[0]["param_types"][0] == "integer",
          "SQLSTATE %s, %s" % (code, [(x["rows"], x["param_types"]) for x in recs]))
    r.close()


# ---- 15. pseudonyms under a purpose not granted ----
def pseudonym_domains():
    # a key load cut short between the key and its grants publishes nothing:
    # the next call loads it whole and decides by the real grants
    for role, allowed in ((DS, True), (READER, False)):
        c = connect(role, "training")
        locker = connect()
        locker.autocommit = False
        q(locker, "LOCK ai_guard.key_grants IN ACCESS EXCLUSIVE MODE")
        q(c, "SET lock_timeout = '300ms'")
        rows, first = attempt(c, "SELECT ai_guard.pseudonymize('user1@example.com', 'rp_pseudo')")
        locker.commit()
        locker.close()
        q(c, "RESET lock_timeout")
        rows, code = attempt(c, "SELECT ai_guard.pseudonymize('user1@example.com', 'rp_pseudo')")
        check("pseudonymize() after the key's load was cut short (%s)" % ("granted" if allowed else "not granted"),
              role, "decided by the key's grants",
              first == "55P03" and (code is None if allowed else code == "42501"),
              "first %s, then %s" % (first, code))
        c.close()

    d = connect(DS, "marketing:q3")
    rows, code = attempt(d, "SELECT ai_guard.pseudonymize('user1@example.com', 'rp_pseudo')")
    check("pseudonymize() under a purpose class not granted (links across purposes)", DS, "refused",
          code == "42501", "SQLSTATE %s" % code)
    q(d, "SET ai_guard.purpose = 'training:x'")
    rows, code = attempt(d, "SELECT ai_guard.pseudonymize('user1@example.com', 'rp_pseudo')")
    tap(code is None and len(rows[0][0]) == 32, "pseudonymize() under a granted purpose works")
    d.close()


# ---- found by an attacker who had not seen these tests ----
def attacker_findings():
    # a backend that ends itself in the middle of a COPY: what was sent is on record
    r = connect(READER, "training")
    m = mark()
    buf = io.BytesIO()
    try:
        r.cursor().copy_expert("COPY (SELECT id, email FROM gov.people WHERE id < %d "
                               "OR pg_terminate_backend(pg_backend_pid())) TO STDOUT" % N_ROWS, buf)
        code = None
    except Exception as e:   # psycopg2 may wrap the FATAL in a SystemError
        code = getattr(e, "pgcode", None)
    try:
        r.close()
    except Exception:
        pass
    got = len([x for x in buf.getvalue().split(b"\n") if x])
    time.sleep(0.5)
    recs = pulls_since(m)
    check("COPY TO STDOUT whose backend terminates itself mid-copy", READER,
          "recorded with the rows sent",
          len(recs) == 1 and recs[0]["rows"] >= got and read_of(recs[0], "gov.people") >= got,
          "%d lines received, %s" % (got, [(x["status"], x["rows"], x["rows_read"]) for x in recs]))

    # a cascaded update of the governed table shows a whole row in its error
    o = connect(OWNER, "training")
    q(o, """CREATE TABLE gov.countries (code text PRIMARY KEY);
            INSERT INTO gov.countries VALUES ('US'), ('DE');
            ALTER TABLE gov.people ADD COLUMN country text NOT NULL DEFAULT 'US';
            ALTER TABLE gov.people ADD CONSTRAINT people_country FOREIGN KEY (country)
              REFERENCES gov.countries ON UPDATE CASCADE;
            ALTER TABLE gov.people ADD CONSTRAINT no_xx CHECK (country <> 'XX');
            GRANT SELECT, UPDATE ON gov.countries TO %s;""" % DS)
    d = connect(DS)
    rows, code = attempt(d, "UPDATE gov.countries SET code = 'XX' WHERE code = 'US'")
    check("ON UPDATE CASCADE into the governed table fails on a CHECK that shows the row", DS,
          "refused", code == "42501", "SQLSTATE %s" % code)
    d.close()
    q(o, "ALTER TABLE gov.people DROP COLUMN country; DROP TABLE gov.countries")

    # an exclusion constraint's violation shows the existing row's value
    q(o, """CREATE TABLE gov.slots (id int, during tsrange, EXCLUDE USING gist (during WITH &&));
            INSERT INTO gov.slots VALUES (1, '[2020-01-02 00:00, 2020-01-02 01:00)');
            SELECT ai_guard.govern('gov.slots');
            GRANT INSERT ON gov.slots TO %s;""" % READER)
    r = connect(READER)
    rows, code = attempt(r, "INSERT INTO gov.slots VALUES (2, '[2020-01-01, 2020-12-31]')")
    check("INSERT into a governed table with an exclusion constraint (its error shows existing values)",
          READER, "refused", code == "42501", "SQLSTATE %s" % code)
    r.close()

    # the data-subject look-up never runs the table owner's code as the extension's owner
    q(o, """CREATE TABLE own_owner.evidence (who text, n bigint);
            GRANT INSERT ON own_owner.evidence TO PUBLIC;
            CREATE TYPE own_owner.kcomp AS (v text);
            CREATE FUNCTION own_owner.kcomp_text(k own_owner.kcomp) RETURNS text LANGUAGE plpgsql AS
              $$BEGIN INSERT INTO own_owner.evidence SELECT current_user, count(*) FROM gov.people;
                      RETURN k.v; END$$;
            CREATE CAST (own_owner.kcomp AS text) WITH FUNCTION own_owner.kcomp_text(own_owner.kcomp);
            CREATE TABLE own_owner.subj (id int, k own_owner.kcomp);
            INSERT INTO own_owner.subj VALUES (1, ROW('42'));
            SELECT ai_guard.track('own_owner.subj');
            SECURITY LABEL FOR ai_guard ON COLUMN own_owner.subj.k IS 'public subject';""")
    o.close()
    # second round: triggers that see written rows are functions applied to them
    r = connect(READER, "training")
    r.notices = Notices()
    q(r, """CREATE FUNCTION own_reader.tleak() RETURNS trigger LANGUAGE plpgsql
            AS $$BEGIN RAISE NOTICE 'leak %', OLD.email; RETURN NULL; END$$;
            CREATE VIEW own_reader.rv AS SELECT * FROM gov.people;
            CREATE TRIGGER tv INSTEAD OF UPDATE ON own_reader.rv
              FOR EACH ROW EXECUTE FUNCTION own_reader.tleak();
            CREATE TABLE own_reader.sink (email text);
            CREATE FUNCTION own_reader.ileak() RETURNS trigger LANGUAGE plpgsql
            AS $$BEGIN RAISE NOTICE 'leak %', NEW.email; RETURN NULL; END$$;
            CREATE TRIGGER ti BEFORE INSERT ON own_reader.sink
              FOR EACH ROW EXECUTE FUNCTION own_reader.ileak();""")
    for path, sql in (("an INSTEAD OF trigger on the reader's view over the governed table",
                       "UPDATE own_reader.rv SET note = note WHERE id <= 20"),
                      ("a BEFORE INSERT trigger on the reader's table fed from the governed table",
                       "INSERT INTO own_reader.sink SELECT email FROM gov.people WHERE id <= 30")):
        r.notices.clear()
        rows, code = attempt(r, sql)
        check(path, READER, "refused", code == "42501" and len(r.notices) == 0,
              "SQLSTATE %s, %d notices" % (code, len(r.notices)))

    # an EvalPlanQual re-check runs a subquery the first pass did not
    import threading
    q(r, "CREATE TABLE own_reader.m (id int, v int, data text); INSERT INTO own_reader.m VALUES (1, 0, NULL)")
    b = connect(READER)
    b.autocommit = False
    q(b, "UPDATE own_reader.m SET v = 1")
    m = mark()
    done = {}

    def recheck():
        a = connect(READER, "training")
        try:
            q(a, "UPDATE own_reader.m SET v = 2, data = CASE WHEN m.v = 1 THEN "
                 "(SELECT string_agg(c.email, ',') FROM gov.people c WHERE c.id <> m.id) END")
        except psycopg2.Error as e:
            done["error"] = e.pgcode
        a.close()
    t = threading.Thread(target=recheck)
    t.start()
    time.sleep(1.0)
    b.commit()
    b.close()
    t.join(30)
    recs = pulls_since(m)
    got = one(su, "SELECT coalesce(array_length(string_to_array(data, ','), 1), 0) FROM own_reader.m")
    check("UPDATE whose EvalPlanQual re-check runs a subquery over the governed table", READER,
          "recorded with the rows examined",
          got >= N_ROWS - 1 and len(recs) == 1 and read_of(recs[0], "gov.people") >= got,
          "%d values copied, %s %s" % (got, done, [(x["kind"], x["rows_read"]) for x in recs]))

    # failed pulls count against a row budget: one error per value is no way around it
    q(su, "SELECT ai_guard.grant_purpose('%s', 'budgetcheck')" % READER)
    q(su, "SELECT ai_guard.set_budget('%s', 'budgetcheck', 5, '1 day')" % READER)
    q(r, "SET ai_guard.purpose = 'budgetcheck:errors'")
    codes = []
    for i in range(1, 9):
        rows, code = attempt(r, "SELECT email::int FROM gov.people WHERE id = %d" % i)
        codes.append(code)
    q(r, "SET ai_guard.purpose = 'training'")
    check("one failed pull per value (a cast error quotes it) under a row budget of 5", READER,
          "refused once the budget is used", codes[:5] == ["22P02"] * 5 and codes[5:] == ["42501"] * 3,
          str(codes))
    q(su, "SELECT ai_guard.drop_budget('%s', 'budgetcheck')" % READER)
    r.close()

    # a masked view of a tracked table honours consent for its reader
    o = connect(OWNER, "training")
    q(o, """SELECT ai_guard.begin_ingest('read-paths-analytics', 'CC0-1.0', '{analytics}');
            INSERT INTO gov.events SELECT g, 'analytics ' || g FROM generate_series(21, 30) g;
            SELECT ai_guard.end_ingest();
            SECURITY LABEL FOR ai_guard ON COLUMN gov.events.id IS 'public';
            SECURITY LABEL FOR ai_guard ON COLUMN gov.events.payload IS 'public';
            SELECT ai_guard.create_masked_view('gov.events', 'gov_masked');""")
    o.close()
    q(su, "SELECT ai_guard.grant_masked_access('%s')" % DS)
    d = connect(DS, "training")
    rows, code = attempt(d, "SELECT count(*), max(id) FROM gov_masked.events")
    check("a masked view of a tracked table, rows consented only to analytics", DS,
          "filtered by consent for the reader's purpose",
          code is None and rows == [(20, 20)], "SQLSTATE %s, %s" % (code, rows))
    d.close()

    # an inheritance child's rows are the governed parent's
    o = connect(OWNER, "training")
    q(o, """CREATE TABLE gov.child () INHERITS (gov.people);
            INSERT INTO gov.child (id, email, note) VALUES (5000, 'child@example.com', 'c');
            GRANT SELECT ON gov.child TO %s;""" % READER)
    r = connect(READER)
    rows, code = attempt(r, "SELECT email FROM gov.child")
    check("reading an inheritance child of the governed table directly", READER, "refused",
          code == "42501", "SQLSTATE %s, rows %s" % (code, rows))
    r.close()
    q(o, "DROP TABLE gov.child")
    o.close()

    rows, code = attempt(su, "SELECT rel::text, row_ids FROM ai_guard._subject_rows('(42)')")
    ran = one(su, "SELECT count(*) FROM own_owner.evidence")
    check("a data-subject look-up over a table whose key type has the owner's cast", OWNER,
          "the owner's code does not run as the extension's owner",
          code is None and ran == 0 and rows and rows[0][0] == "own_owner.subj",
          "SQLSTATE %s, cast ran %d times, %s" % (code, ran, rows))


# ---- 4. statistics hold no raw values of governed columns ----
def statistics():
    q(su, "ANALYZE gov.people")
    r = connect(READER)
    cols = dict(q(r, "SELECT attname, most_common_vals IS NOT NULL OR histogram_bounds IS NOT NULL "
                     "FROM pg_stats WHERE schemaname = 'gov' AND tablename = 'people'"))
    check("pg_stats of the governed table after ANALYZE", READER,
          "no statistics of the PII column; public columns keep theirs",
          "email" not in cols and cols.get("id") is True, str(cols))
    est = [one(r, "EXPLAIN (FORMAT JSON) SELECT * FROM gov.people WHERE note = %s OR email = %s",
               ("x", v))[0]["Plan"]["Plan Rows"] for v in ("user1@example.com", "nobody@example.org")]
    check("EXPLAIN's estimates as an oracle for values of the PII column", READER,
          "the same estimate for a present and an absent value", est[0] == est[1], str(est))
    r.close()

    o = connect(OWNER)
    for path, sql in (
            ("ALTER COLUMN ... SET STATISTICS on the PII column",
             "ALTER TABLE gov.people ALTER COLUMN email SET STATISTICS 100"),
            ("CREATE STATISTICS over the PII column",
             "CREATE STATISTICS gov.people_s (mcv) ON email, note FROM gov.people"),
            ("CREATE STATISTICS over an expression",
             "CREATE STATISTICS gov.people_e ON (lower(email)) FROM gov.people")):
        rows, code = attempt(o, sql)
        check(path, OWNER, "refused", code == "42501", "SQLSTATE %s" % code)
    # a new column, unlabelled, is private until labelled public
    q(o, "ALTER TABLE gov.people ADD COLUMN phone text")
    o.close()
    q(su, "UPDATE gov.people SET phone = '+49 30 ' || id")
    q(su, "ANALYZE")
    has = one(su, "SELECT count(*) FROM pg_stats WHERE schemaname = 'gov' AND tablename = 'people' "
                  "AND attname IN ('email', 'phone')")
    check("a database-wide ANALYZE after an unlabelled column was added", OWNER,
          "no statistics of unlabelled or PII columns", has == 0, "%d rows in pg_stats" % has)
    q(su, "SECURITY LABEL FOR ai_guard ON COLUMN gov.people.phone IS 'public'")
    q(su, "ANALYZE gov.people")
    has = one(su, "SELECT count(*) FROM pg_stats WHERE schemaname = 'gov' AND tablename = 'people' "
                  "AND attname = 'phone'")
    tap(has == 1, "a column labelled public later gets its statistics back (%d)" % has)
    # a table with statistics that becomes governed loses them
    o = connect(OWNER)
    q(o, "CREATE TABLE gov.later (id int, email text)")
    q(o, "INSERT INTO gov.later SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 100) g")
    q(o, "ANALYZE gov.later")
    before = one(su, "SELECT count(*) FROM pg_stats WHERE schemaname = 'gov' AND tablename = 'later' AND attname = 'email'")
    q(o, "SELECT ai_guard.govern('gov.later')")
    after = one(su, "SELECT count(*) FROM pg_stats WHERE schemaname = 'gov' AND tablename = 'later' AND attname = 'email'")
    q(o, "ANALYZE gov.later")
    again = one(su, "SELECT count(*) FROM pg_stats WHERE schemaname = 'gov' AND tablename = 'later' AND attname = 'email'")
    check("a table with statistics becomes governed, then ANALYZE", OWNER,
          "its statistics are removed and not collected again",
          (before, after, again) == (1, 0, 0), str((before, after, again)))
    q(su, "DROP TABLE gov.later")
    o.close()


# ---- 6. the owner's DDL that evaluates expressions over every row ----
def owner_ddl():
    o = connect(OWNER)
    o.notices = Notices()
    q(o, """CREATE FUNCTION own_owner.ileak(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
            AS $$BEGIN RAISE NOTICE 'leak %', t; RETURN true; END$$;
            CREATE FUNCTION own_owner.ileakt(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE
            AS $$BEGIN RAISE NOTICE 'leak %', t; RETURN t; END$$;""")
    for path, sql in (
            ("CREATE INDEX on an expression", "CREATE INDEX people_x ON gov.people ((own_owner.ileakt(email)))"),
            ("CREATE INDEX with a predicate", "CREATE INDEX people_p ON gov.people (id) WHERE own_owner.ileak(email)"),
            ("ADD CONSTRAINT ... CHECK (validated)",
             "ALTER TABLE gov.people ADD CONSTRAINT leaky CHECK (own_owner.ileak(email))"),
            ("ADD CONSTRAINT ... EXCLUDE on an expression",
             "ALTER TABLE gov.people ADD CONSTRAINT leaky_x EXCLUDE ((own_owner.ileakt(email)) WITH =)"),
            ("ALTER COLUMN ... TYPE ... USING",
             "ALTER TABLE gov.people ALTER COLUMN note TYPE text USING own_owner.ileakt(email)"),
            ("ADD COLUMN ... GENERATED ALWAYS AS",
             "ALTER TABLE gov.people ADD COLUMN g text GENERATED ALWAYS AS (own_owner.ileakt(email)) STORED"),
            ("ADD COLUMN with a volatile default", "ALTER TABLE gov.people ADD COLUMN r float8 DEFAULT random()")):
        o.notices.clear()
        m = mark()
        rows, code = attempt(o, sql)
        recs = pulls_since(m)
        check(path + " without a purpose", OWNER, "refused",
              code == "42501" and len(o.notices) == 0 and any(r["status"] == "refused" for r in recs),
              "SQLSTATE %s, %d notices" % (code, len(o.notices)))
    q(o, "SET ai_guard.purpose = 'training'")
    o.notices.clear()
    m = mark()
    q(o, "CREATE INDEX people_x ON gov.people ((own_owner.ileakt(email)))")
    recs = [r for r in pulls_since(m) if r["nesting_level"] == 0]
    seen = len([x for x in o.notices.items if "leak" in x])
    check("CREATE INDEX on an expression under a purpose", OWNER, "recorded with the rows examined",
          len(recs) == 1 and recs[0]["status"] == "completed" and
          read_of(recs[0], "gov.people") >= seen >= N_ROWS,
          "%d notices, %s" % (seen, [(r["status"], r["rows_read"]) for r in recs]))
    # DDL that commits on its way keeps its record to the end
    for path, sql in (("CREATE INDEX CONCURRENTLY on an expression",
                       "CREATE INDEX CONCURRENTLY people_y ON gov.people ((own_owner.ileakt(note)))"),
                      ("VACUUM FULL of a table with an expression index", "VACUUM FULL gov.people"),
                      ("REINDEX TABLE CONCURRENTLY of a table with an expression index",
                       "REINDEX TABLE CONCURRENTLY gov.people")):
        o.notices.clear()
        m = mark()
        rows, code = attempt(o, sql)
        recs = [r for r in pulls_since(m) if r["nesting_level"] == 0]
        check(path + " under a purpose", OWNER, "recorded with the rows examined",
              code is None and len(recs) == 1 and recs[0]["status"] == "completed" and
              read_of(recs[0], "gov.people") >= N_ROWS,
              "SQLSTATE %s, %s" % (code, [(r["status"], r["rows_read"], r["detail"]) for r in recs]))
    q(o, "DROP INDEX gov.people_y")
    q(o, "RESET ai_guard.purpose")
    for path, sql in (("REINDEX of a table with an expression index", "REINDEX TABLE gov.people"),
                      ("VACUUM FULL of a table with an expression index", "VACUUM FULL gov.people"),
                      ("CLUSTER of a table with an expression index", "CLUSTER gov.people USING people_pkey")):
        o.notices.clear()
        rows, code = attempt(o, sql)
        check(path + " without a purpose", OWNER, "refused",
              code == "42501" and len(o.notices) == 0, "SQLSTATE %s, %d notices" % (code, len(o.notices)))
    q(su, "DROP INDEX gov.people_x")
    o.close()


# ---- 12. records left "started": in progress, or cut off by a crash ----
def unfinished_records():
    victim = connect(READER, "training")
    victim.autocommit = False
    vc = victim.cursor()
    vc.execute("DECLARE c CURSOR FOR SELECT * FROM gov.people")
    vc.execute("FETCH 3 FROM c")
    vc.fetchall()
    pid = victim.get_backend_pid()
    live = connect(READER, "training")
    live.autocommit = False
    lc = live.cursor()
    lc.execute("DECLARE c CURSOR FOR SELECT * FROM gov.people")
    lc.execute("FETCH 3 FROM c")
    lc.fetchall()
    q(su, "SELECT ai_guard.audit_flush()")
    v = q(su, "SELECT in_progress, cut_off FROM ai_guard.verify_audit()")[0]
    tap(v == (2, 0), "verify_audit() counts two pulls in progress, none cut off (%s)" % (v,))
    try:
        os.kill(pid, signal.SIGKILL)      # a crash: the server restarts
    except PermissionError:
        tap(True, "# SKIP cutting a pull off needs to signal the server (run as root or postgres)")
        return
    for c in (victim, live):
        try:
            c.close()
        except psycopg2.Error:
            pass
    deadline = time.time() + 60
    while True:
        try:
            globals()["su"] = connect()
            break
        except psycopg2.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    live = connect(READER, "training")
    live.autocommit = False
    lc = live.cursor()
    lc.execute("DECLARE c CURSOR FOR SELECT * FROM gov.people")
    lc.execute("FETCH 3 FROM c")
    lc.fetchall()
    q(su, "SELECT ai_guard.audit_flush()")
    v = q(su, "SELECT intact, in_progress, cut_off FROM ai_guard.verify_audit()")[0]
    states = dict(q(su, "SELECT backend_pid, state FROM ai_guard.unfinished_pulls()"))
    check("a backend holding a governed cursor is killed (crash)", READER,
          "its record reported cut off by verify_audit()",
          v[0] is True and v[1] == 1 and v[2] >= 1 and states.get(pid) == "cut off",
          "%s %s" % (v, states))
    tap(states.get(live.get_backend_pid()) == "in progress",
        "unfinished_pulls() tells the pull in progress from those cut off (%s)" % states)
    live.rollback()
    live.close()


def main():
    global su
    su = connect(db="postgres")
    q(su, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB)
    for role in ROLES:
        q(su, "DROP ROLE IF EXISTS %s" % role)
    q(su, "CREATE DATABASE %s" % DB)
    su.close()
    su = connect()
    setup()
    for section in (fk_actions, writes_that_read, side_channels, purpose_mid_cursor,
                    cache_load_fails_closed, parallel_workers, copy_with_rls,
                    portal_fails_outside, return_query_params, pseudonym_domains,
                    attacker_findings, statistics, owner_ddl, unfinished_records):
        try:
            section()
        except Exception as e:   # one broken section must not hide the others
            tap(False, "%s ran to its end" % section.__name__, str(e).strip().splitlines()[0])

    tap(one(su, "SELECT intact FROM ai_guard.verify_audit()") is True,
        "the audit chain verifies after every path")
    su.close()
    su = connect(db="postgres")
    q(su, "DROP DATABASE %s WITH (FORCE)" % DB)
    for role in ROLES:
        q(su, "DROP ROLE %s" % role)
    su.close()
    print("1..%d" % n)
    print("# the matrix: path | role | outcome the promise allows | result")
    for row in matrix:
        print("# %s | %s | %s | %s" % row)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
