#!/usr/bin/env python3
"""Every read path of governed data is recorded, with the right outcome and
an exact digest: real clients (psycopg2, libpq's extended protocol through
ctypes, psql's \\copy and sha256sum) against the running test cluster.

Prints TAP. Uses database ai_guard_tap (extension installed); creates schema
audit_paths and roles regress_audit_*, and removes them at the end.
"""
import ctypes
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time

import psycopg2
import psycopg2.errors

DB = "ai_guard_tap"
N = 0
FAILED = 0


def ok(cond, name, info=""):
    global N, FAILED
    N += 1
    if cond:
        print("ok %d - %s" % (N, name))
    else:
        FAILED += 1
        print("not ok %d - %s%s" % (N, name, (" # " + str(info)) if info else ""))
    sys.stdout.flush()


def connect(user="postgres", purpose=None, autocommit=True):
    opts = "-c ai_guard.purpose=%s" % purpose if purpose else ""
    c = psycopg2.connect(dbname=DB, user=user, options=opts,
                         application_name="audit_paths")
    c.autocommit = autocommit
    return c


admin = connect()
A = admin.cursor()


def q(sql, args=None):
    A.execute(sql, args)
    try:
        return A.fetchall()
    except psycopg2.ProgrammingError:
        return None


def flush():
    q("SELECT ai_guard.audit_flush()")


def pull(pid):
    flush()
    A.execute("SELECT * FROM ai_guard.pulls WHERE pull_id = %s", (pid,))
    row = A.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in A.description], row))


def max_pull():
    flush()
    return q("SELECT coalesce(max(pull_id), 0) FROM ai_guard.pulls")[0][0]


def pulls_after(pid):
    flush()
    A.execute("SELECT * FROM ai_guard.pulls WHERE pull_id > %s ORDER BY pull_id", (pid,))
    cols = [d[0] for d in A.description]
    return [dict(zip(cols, r)) for r in A.fetchall()]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def copy_bytes(cur, sql):
    buf = io.BytesIO()
    cur.copy_expert("COPY (%s) TO STDOUT" % sql, buf)
    return buf.getvalue()


# ---- set-up ----
q("DROP SCHEMA IF EXISTS audit_paths CASCADE")
for r in ("regress_audit_reader", "regress_audit_other", "regress_audit_owner"):
    q("DROP ROLE IF EXISTS %s" % r)
q("""
CREATE ROLE regress_audit_reader LOGIN;
CREATE ROLE regress_audit_other LOGIN;
CREATE SCHEMA audit_paths;
GRANT USAGE ON SCHEMA audit_paths TO regress_audit_reader, regress_audit_other;
CREATE TABLE audit_paths.t (id int PRIMARY KEY, name text, note text, amount numeric, tags text[], born date);
INSERT INTO audit_paths.t
SELECT i, 'name ' || i,
       CASE i % 7 WHEN 0 THEN NULL WHEN 1 THEN E'tab\\there' WHEN 2 THEN E'line\\nbreak\\r'
                  WHEN 3 THEN E'back\\\\slash' WHEN 4 THEN 'Zoë ☃ 東京' WHEN 5 THEN E'\\b\\f\\v\\x01'
                  ELSE '"quoted" {x}' END,
       i * 1.5, ARRAY['a' || i, NULL, 'b c'], date '2000-01-01' + i
  FROM generate_series(1, 200) i;
GRANT SELECT ON audit_paths.t TO regress_audit_reader;
CREATE VIEW audit_paths.v AS SELECT id, name AS who, note FROM audit_paths.t WHERE id <= 50;
GRANT SELECT ON audit_paths.v TO regress_audit_reader;
CREATE TABLE audit_paths.p (id int, region text) PARTITION BY LIST (region);
CREATE TABLE audit_paths.p_eu PARTITION OF audit_paths.p FOR VALUES IN ('eu');
CREATE TABLE audit_paths.p_us PARTITION OF audit_paths.p FOR VALUES IN ('us');
INSERT INTO audit_paths.p SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, 40) i;
GRANT SELECT ON audit_paths.p, audit_paths.p_eu, audit_paths.p_us TO regress_audit_reader;
CREATE TABLE audit_paths.plain (id int);
INSERT INTO audit_paths.plain VALUES (1), (2);
GRANT SELECT ON audit_paths.plain TO regress_audit_reader;
CREATE FUNCTION audit_paths.sql_f(n int) RETURNS SETOF audit_paths.t LANGUAGE sql VOLATILE
  AS 'SELECT * FROM audit_paths.t WHERE id <= n ORDER BY id';
CREATE FUNCTION audit_paths.plpgsql_f() RETURNS bigint LANGUAGE plpgsql
  AS 'DECLARE c bigint; BEGIN SELECT count(*) INTO c FROM audit_paths.t; RETURN c; END';
CREATE FUNCTION audit_paths.definer_f() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'DECLARE c bigint; BEGIN SELECT count(*) INTO c FROM audit_paths.t WHERE amount > 10; RETURN c; END';
CREATE PROCEDURE audit_paths.proc() LANGUAGE plpgsql AS $p$
  DECLARE c bigint;
  BEGIN
    SELECT count(*) INTO c FROM audit_paths.t; ROLLBACK;
    SELECT count(*) INTO c FROM audit_paths.t WHERE id > 100; COMMIT;
  END $p$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA audit_paths TO regress_audit_reader;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA audit_paths TO regress_audit_reader;
SELECT ai_guard.govern('audit_paths.t');
SELECT ai_guard.govern('audit_paths.p');
SELECT ai_guard.grant_purpose('regress_audit_reader', 'training');
SELECT ai_guard.grant_purpose('postgres', 'testing');
""")

ORDERED = "SELECT * FROM audit_paths.t ORDER BY id"
ref = connect(purpose="testing:reference")
R = ref.cursor()
expected_all = copy_bytes(R, ORDERED)
ok(expected_all.count(b"\n") == 200 and b"\\N" in expected_all and b"tab\\there" in expected_all,
   "reference COPY output has 200 rows with escapes")

# ---- refusals ----
before = max_pull()
rd = connect("regress_audit_reader")
C = rd.cursor()
try:
    C.execute("SELECT * FROM audit_paths.t")
    ok(False, "a read without a purpose is refused")
except psycopg2.errors.InsufficientPrivilege as e:
    ok("requires a declared purpose" in str(e), "a read without a purpose is refused", e)
recs = pulls_after(before)
ok(len(recs) == 1 and recs[0]["status"] == "refused" and recs[0]["detail"] == "no purpose declared"
   and recs[0]["session_role"] == "regress_audit_reader",
   "the refusal is recorded", recs)

before = max_pull()
C.execute("SET ai_guard.purpose = 'marketing:q3'")
try:
    C.execute("SELECT id FROM audit_paths.t")
    ok(False, "a purpose not granted is refused")
except psycopg2.errors.InsufficientPrivilege as e:
    ok('purpose "marketing:q3" is not granted' in str(e), "a purpose not granted is refused", e)
recs = pulls_after(before)
ok(len(recs) == 1 and recs[0]["status"] == "refused" and recs[0]["purpose"] == "marketing:q3",
   "the refusal of an ungranted purpose is recorded with the purpose")

# a non-governed table needs no purpose and leaves no record
before = max_pull()
C.execute("SELECT * FROM audit_paths.plain")
ok(len(C.fetchall()) == 2 and pulls_after(before) == [], "a non-governed read is not audited")
rd.close()

# ---- simple query protocol: SELECT ----
rd = connect("regress_audit_reader", purpose="training:churn-v3")
C = rd.cursor()
C.execute(ORDERED)
rows = C.fetchall()
C.execute("SELECT ai_guard.last_pull_id()")
pid = C.fetchone()[0]
p = pull(pid)
ok(p and p["status"] == "completed" and p["rows"] == 200 and p["kind"] == "read",
   "SELECT: completed, 200 rows", p and (p["status"], p["rows"]))
ok(p and p["digest"] == sha(expected_all), "SELECT: digest equals SHA-256 of the COPY output",
   p and p["digest"])
ok(p and p["bytes"] == len(expected_all), "SELECT: bytes equal the COPY text size")
ok(p and p["purpose"] == "training:churn-v3" and p["application_name"] == "audit_paths"
   and p["relations"] == ["audit_paths.t"] and p["current_role"] == "regress_audit_reader",
   "SELECT: purpose, application, relations and roles recorded")
ok(p and p["snapshot_xmax"] is not None and p["query"] == ORDERED and p["query_id"] is not None,
   "SELECT: snapshot, query text and query id recorded")

# returned vs filtered columns
C.execute("SELECT id, name FROM audit_paths.t WHERE amount > 100 AND note IS NOT NULL ORDER BY id")
C.fetchall()
C.execute("SELECT ai_guard.last_pull_id()")
p = pull(C.fetchone()[0])
ok(p and p["columns_returned"] == ["audit_paths.t.id", "audit_paths.t.name"]
   and sorted(p["columns_filtered"]) == ["audit_paths.t.amount", "audit_paths.t.note"],
   "returned and filtered columns are told apart", p and (p["columns_returned"], p["columns_filtered"]))

# PII labels (SECURITY LABEL FOR ai_guard) and encrypted columns (rows of
# ai_guard.encrypted_columns, as encrypt_column() writes them)
q("""INSERT INTO ai_guard.encrypted_columns (rel, column_name, key_name, context)
     VALUES ('audit_paths.t', 'name', 'regress_k', 'audit_paths.t.name')""")
q("SECURITY LABEL FOR ai_guard ON COLUMN audit_paths.t.note IS 'pii:free_text mask=redact_pii()'")
q("SECURITY LABEL FOR ai_guard ON COLUMN audit_paths.t.name IS 'public'")
C.execute("SELECT id, note FROM audit_paths.t WHERE name <> '' LIMIT 3")
C.fetchall()
C.execute("SELECT ai_guard.last_pull_id()")
p = pull(C.fetchone()[0])
ok(p and p["columns_pii"] == ["audit_paths.t.note"]
   and p["masks"] == ["audit_paths.t.note=redact_pii()"]
   and p["columns_encrypted"] == ["audit_paths.t.name"],
   "PII labels, masks and encrypted columns are recorded",
   p and (p["columns_pii"], p["masks"], p["columns_encrypted"]))
q("SECURITY LABEL FOR ai_guard ON COLUMN audit_paths.t.note IS NULL")
q("SECURITY LABEL FOR ai_guard ON COLUMN audit_paths.t.name IS NULL")
q("DELETE FROM ai_guard.encrypted_columns WHERE key_name = 'regress_k'")

# ---- psql \copy and sha256sum ----
with tempfile.TemporaryDirectory() as d:
    f = os.path.join(d, "pull.tsv")
    env = dict(os.environ, PGOPTIONS="-c ai_guard.purpose=training:file")
    out = subprocess.run(["psql", "-X", "-At", "-U", "regress_audit_reader", "-d", DB,
                          "-c", "\\copy (%s) to '%s'" % (ORDERED, f),
                          "-c", "SELECT ai_guard.last_pull_id()"],
                         env=env, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    digest_file = subprocess.run(["sha256sum", f], capture_output=True, text=True).stdout.split()[0]
    p = pull(int(lines[-1])) if lines else None
    ok(p and p["kind"] == "copy" and p["digest"] == digest_file and p["rows"] == 200,
       "psql \\copy (query): digest equals sha256sum of the file", (out.stderr, p and p["digest"], digest_file))

    f2 = os.path.join(d, "rel.tsv")
    out = subprocess.run(["psql", "-X", "-At", "-U", "regress_audit_reader", "-d", DB,
                          "-c", "\\copy audit_paths.t to '%s'" % f2,
                          "-c", "SELECT ai_guard.last_pull_id()"],
                         env=env, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    digest_file = subprocess.run(["sha256sum", f2], capture_output=True, text=True).stdout.split()[0]
    p = pull(int(lines[-1])) if lines else None
    ok(p and p["kind"] == "copy" and p["digest"] == digest_file and p["rows"] == 200
       and "audit_paths.t.name" in (p["columns_returned"] or []),
       "psql \\copy rel: digest equals sha256sum of the file", (out.stderr, p and p["digest"], digest_file))

# COPY with psycopg2
data = copy_bytes(C, "SELECT id, note FROM audit_paths.t WHERE id % 3 = 0 ORDER BY id")
C.execute("SELECT ai_guard.last_pull_id()")
p = pull(C.fetchone()[0])
ok(p and p["digest"] == sha(data) and p["rows"] == 66, "COPY (query) TO STDOUT: digest of the bytes sent")

# ---- extended protocol through libpq ----
try:
    lib = ctypes.CDLL("libpq.so.5")
    lib.PQconnectdb.restype = ctypes.c_void_p
    lib.PQconnectdb.argtypes = [ctypes.c_char_p]
    lib.PQexecParams.restype = ctypes.c_void_p
    lib.PQexecParams.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p,
                                 ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_int]
    lib.PQntuples.argtypes = [ctypes.c_void_p]
    lib.PQresultStatus.argtypes = [ctypes.c_void_p]
    lib.PQgetvalue.restype = ctypes.c_char_p
    lib.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.PQclear.argtypes = [ctypes.c_void_p]
    lib.PQfinish.argtypes = [ctypes.c_void_p]
    conninfo = "dbname=%s user=regress_audit_reader options='-c ai_guard.purpose=training:ext'" % DB
    conn = lib.PQconnectdb(conninfo.encode())
    params = (ctypes.c_char_p * 1)(b"4242424242")
    res = lib.PQexecParams(conn, b"SELECT id, name FROM audit_paths.t WHERE id < $1::int8 / 100000000 ORDER BY id",
                           1, None, params, None, None, 0)
    n = lib.PQntuples(res)
    lib.PQclear(res)
    res = lib.PQexecParams(conn, b"SELECT ai_guard.last_pull_id()", 0, None, None, None, None, 0)
    pid = int(lib.PQgetvalue(res, 0, 0))
    lib.PQclear(res)
    lib.PQfinish(conn)
    p = pull(pid)
    ok(n == 41 and p and p["rows"] == 41 and p["param_count"] == 1 and p["status"] == "completed",
       "extended protocol with a bound parameter is recorded", p and (n, p["rows"], p["param_count"]))
    ok(p and "4242424242" not in " ".join(str(v) for v in p.values()),
       "bound parameter values are never stored")
except OSError as e:
    ok(False, "extended protocol through libpq", e)
    ok(False, "bound parameter values are never stored")

# PREPARE / EXECUTE
C.execute("PREPARE pq(int) AS SELECT name FROM audit_paths.t WHERE id = $1")
C.execute("EXECUTE pq(7)")
C.fetchall()
C.execute("SELECT ai_guard.last_pull_id()")
p1 = C.fetchone()[0]
C.execute("EXECUTE pq(8)")
C.fetchall()
C.execute("SELECT ai_guard.last_pull_id()")
p2 = C.fetchone()[0]
pp = pull(p2)
ok(p2 == p1 + 1 or (p2 > p1 and pp and pp["rows"] == 1 and pp["param_count"] == 1),
   "PREPARE/EXECUTE: each execution is a pull", (p1, p2))
C.execute("DEALLOCATE pq")

# ---- cursors ----
rd.autocommit = False
C.execute("DECLARE c1 CURSOR FOR " + ORDERED)
C.execute("FETCH 5 FROM c1")
C.fetchall()
C.execute("SELECT ai_guard.last_pull_id()")
pid = C.fetchone()[0]
C.execute("CLOSE c1")
rd.commit()
p = pull(pid)
first5 = b"".join(expected_all.split(b"\n")[i] + b"\n" for i in range(5))
ok(p and p["status"] == "completed" and p["rows"] == 5 and p["digest"] == sha(first5),
   "DECLARE/FETCH partial: 5 rows and their digest", p and (p["status"], p["rows"]))

# psycopg2 named (server-side) cursor
named = rd.cursor(name="srv")
named.itersize = 30
named.execute(ORDERED)
got = 0
for _ in named:
    got += 1
named.close()
C.execute("SELECT ai_guard.last_pull_id()")
pid = C.fetchone()[0]
rd.commit()
p = pull(pid)
ok(got == 200 and p and p["rows"] == 200 and p["digest"] == sha(expected_all),
   "server-side cursor fetched in batches: one pull, full digest")

# WITH HOLD: rows materialized at commit count as delivered
C.execute("DECLARE h CURSOR WITH HOLD FOR SELECT id FROM audit_paths.t ORDER BY id")
C.execute("FETCH 2 FROM h")
C.fetchall()
C.execute("SELECT ai_guard.last_pull_id()")
pid = C.fetchone()[0]
rd.commit()
C.execute("FETCH 3 FROM h")
ok(len(C.fetchall()) == 3, "WITH HOLD cursor still fetches after commit")
C.execute("CLOSE h")
rd.commit()
p = pull(pid)
ok(p and p["status"] == "completed" and p["rows"] == 200
   and p["digest"] == sha("".join("%d\n" % i for i in range(1, 201)).encode()),
   "WITH HOLD cursor: completed at commit with every materialized row", p and (p["status"], p["rows"]))

# ROLLBACK mid-pull
C.execute("DECLARE r CURSOR FOR " + ORDERED)
C.execute("FETCH 3 FROM r")
C.fetchall()
C.execute("SELECT ai_guard.last_pull_id()")
pid = C.fetchone()[0]
rd.rollback()
p = pull(pid)
ok(p and p["status"] == "failed" and p["rows"] == 3,
   "ROLLBACK mid-pull: the record survives, status failed, 3 rows", p and (p["status"], p["rows"]))

# completed SELECT, then ROLLBACK: the record stays
C.execute("SELECT count(*) FROM audit_paths.t")
C.execute("SELECT ai_guard.last_pull_id()")
pid = C.fetchone()[0]
rd.rollback()
p = pull(pid)
ok(p and p["status"] == "completed", "a pull inside a rolled-back transaction keeps its record")

# error mid-pull
try:
    C.execute("SELECT id, 1 / (id - 150) FROM audit_paths.t ORDER BY id")
    ok(False, "error mid-pull")
except psycopg2.errors.DivisionByZero:
    rd.rollback()
    C.execute("SELECT ai_guard.last_pull_id()")
    pid = C.fetchone()[0]
    p = pull(pid)
    ok(p and p["status"] == "failed" and "aborted" in (p["detail"] or ""),
       "error mid-pull: status failed", p and (p["status"], p["detail"]))
rd.rollback()
rd.autocommit = True

# client disconnect mid-pull
c2 = connect("regress_audit_reader", purpose="training:disconnect", autocommit=False)
k = c2.cursor(name="dc")
k.execute(ORDERED)
k.fetchmany(1)
c2c = c2.cursor()
c2c.execute("SELECT ai_guard.last_pull_id()")
pid = c2c.fetchone()[0]
c2.close()
p = None
for _ in range(50):
    p = pull(pid)
    if p and p["status"] != "started":
        break
    time.sleep(0.1)
ok(p and p["status"] == "failed" and p["rows"] == 1,
   "client disconnect mid-pull: status failed, the rows sent counted", p and (p["status"], p["rows"]))

# ---- views, partitions, functions ----
before = max_pull()
C.execute("SELECT who FROM audit_paths.v ORDER BY id")
C.fetchall()
recs = pulls_after(before)
ok(len(recs) == 1 and recs[0]["relations"] == ["audit_paths.t"] and recs[0]["rows"] == 50
   and recs[0]["columns_returned"] == ["audit_paths.t.name"],
   "a view over a governed table: recorded, column traced through the view",
   recs and (recs[0]["relations"], recs[0]["columns_returned"]))

before = max_pull()
C.execute("SELECT count(*) FROM audit_paths.p_eu")
recs = pulls_after(before)
ok(len(recs) == 1 and recs[0]["relations"] == ["audit_paths.p"],
   "a partition read directly counts as its governed parent", recs and recs[0]["relations"])

before = max_pull()
C.execute("SELECT * FROM audit_paths.sql_f(10)")
C.fetchall()
recs = pulls_after(before)
ok(any(r["nesting_level"] >= 1 and r["rows"] == 10 and r["client_query"] == "SELECT * FROM audit_paths.sql_f(10)"
       for r in recs), "SQL function: the nested read is recorded with the client's statement",
   [(r["nesting_level"], r["rows"], r["client_query"]) for r in recs])

before = max_pull()
C.execute("SELECT audit_paths.plpgsql_f()")
recs = pulls_after(before)
ok(len(recs) == 1 and recs[0]["nesting_level"] == 1 and recs[0]["rows"] == 1,
   "PL/pgSQL function: the nested read is recorded", [(r["nesting_level"], r["rows"]) for r in recs])

# a procedure that rolls back and commits between its reads
before = max_pull()
C.execute("CALL audit_paths.proc()")
C.execute("SELECT count(*) FROM audit_paths.t")
recs = pulls_after(before)
ok([(r["nesting_level"], r["status"]) for r in recs] == [(1, "completed"), (1, "completed"), (0, "completed")],
   "procedure with ROLLBACK/COMMIT: both reads recorded, nesting intact afterwards",
   [(r["nesting_level"], r["status"]) for r in recs])

# SECURITY DEFINER: the reader has no right on the table, the definer has
q("REVOKE SELECT ON audit_paths.t FROM regress_audit_reader")
before = max_pull()
C.execute("SELECT audit_paths.definer_f()")
recs = pulls_after(before)
ok(len(recs) == 1 and recs[0]["session_role"] == "regress_audit_reader"
   and recs[0]["current_role"] == "postgres" and recs[0]["status"] == "completed",
   "SECURITY DEFINER function: recorded with session and current role",
   [(r["session_role"], r["current_role"]) for r in recs])
q("GRANT SELECT ON audit_paths.t TO regress_audit_reader")

# ---- derivations ----
q("GRANT CREATE ON SCHEMA audit_paths TO regress_audit_reader")
before = max_pull()
C.execute("CREATE TABLE audit_paths.d1 AS SELECT id, name FROM audit_paths.t WHERE id <= 20")
C.execute("SELECT id INTO audit_paths.d2 FROM audit_paths.t WHERE id <= 5")
C.execute("INSERT INTO audit_paths.d1 SELECT id, name FROM audit_paths.t WHERE id > 190")
C.execute("CREATE MATERIALIZED VIEW audit_paths.mv AS SELECT id FROM audit_paths.t")
C.execute("REFRESH MATERIALIZED VIEW audit_paths.mv")
recs = pulls_after(before)
got = [(r["kind"], r["target"], r["rows"]) for r in recs]
ok(("derivation", "audit_paths.d1", 20) in got, "CREATE TABLE AS: a derivation with its target", got)
ok(("derivation", "audit_paths.d2", 5) in got, "SELECT INTO: a derivation with its target", got)
ok(any(k == "derivation" and t == "audit_paths.d1" for k, t, r in got[2:3]),
   "INSERT ... SELECT: a derivation with its target", got)
ok(sum(1 for k, t, r in got if t == "audit_paths.mv" and r == 200) == 2,
   "materialized view create and refresh: derivations", got)

# ---- parallel query ----
q("CREATE TABLE audit_paths.big AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 200000) i")
q("SELECT ai_guard.govern('audit_paths.big')")
q("GRANT SELECT ON audit_paths.big TO regress_audit_reader")
C.execute("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2")
C.execute("EXPLAIN SELECT count(*) FROM audit_paths.big WHERE h LIKE 'a%'")
plan = "\n".join(r[0] for r in C.fetchall())
before = max_pull()
C.execute("SELECT count(*) FROM audit_paths.big WHERE h LIKE 'a%'")
cnt = C.fetchone()[0]
recs = pulls_after(before)
ok("Gather" in plan and len(recs) == 1 and recs[0]["rows"] == 1 and recs[0]["status"] == "completed",
   "parallel query: one record from the leader", (plan.splitlines()[:2], [(r["rows"], r["status"]) for r in recs]))

# EXPLAIN without ANALYZE reads nothing
before = max_pull()
C.execute("EXPLAIN SELECT * FROM audit_paths.t")
C.fetchall()
ok(pulls_after(before) == [], "EXPLAIN without ANALYZE is not a pull")

# ---- ungovern ----
q("SELECT ai_guard.ungovern('audit_paths.p', 'test: reads are no longer audited')")
before = max_pull()
C.execute("SELECT count(*) FROM audit_paths.p")
ok(pulls_after(before) == [], "after ungovern() reads are no longer audited")
rd.close()

# ---- protection ----
ot = connect("regress_audit_other")
O = ot.cursor()
for sql in ("SELECT * FROM ai_guard.pulls", "DELETE FROM ai_guard.pulls",
            "SELECT ai_guard.grant_purpose('regress_audit_other', 'training')",
            "SELECT ai_guard.govern('audit_paths.t')"):
    try:
        O.execute(sql)
        ok(False, "an ordinary role cannot: " + sql)
    except psycopg2.errors.InsufficientPrivilege:
        ok(True, "an ordinary role cannot: " + sql)
ot.close()
for sql in ("DELETE FROM ai_guard.pulls", "UPDATE ai_guard.pulls SET rows = 0",
            "TRUNCATE ai_guard.pulls", "TRUNCATE ai_guard.audit_log",
            "INSERT INTO ai_guard.audit_state VALUES (true, 0, '', now())"):
    try:
        q(sql)
        ok(False, "not even a superuser can: " + sql)
    except psycopg2.errors.InsufficientPrivilege as e:
        admin.rollback() if not admin.autocommit else None
        ok("written only by the ai_guard audit writer" in str(e), "not even a superuser can: " + sql)

v = q("SELECT intact, problem FROM ai_guard.verify_audit()")[0]
ok(v[0] is True, "the chain verifies after all of the above", v)

# ---- clean up ----
q("DROP SCHEMA audit_paths CASCADE")
left = q("SELECT count(*) FROM ai_guard.governed_relations WHERE rel::text LIKE 'audit_paths.%'")[0][0]
ok(left == 0, "dropped relations leave governed_relations")
q("SELECT ai_guard.revoke_purpose('regress_audit_reader', 'training')")
q("SELECT ai_guard.revoke_purpose('postgres', 'testing')")
ref.close()
for r in ("regress_audit_reader", "regress_audit_other"):
    q("DROP ROLE %s" % r)
admin.close()
print("1..%d" % N)
sys.exit(1 if FAILED else 0)
