#!/usr/bin/env python3
"""Row membership seen through real clients (psycopg2): COPY (SELECT ...)
TO STDOUT, a server-side cursor fetched part way, a prepared statement run
twice, and pandas-style fetchall; each pull's recorded row ids are compared
with the row ids of the rows the client actually received.

Prints TAP. Uses database ai_guard_tap; creates schema lineage_clients and
role regress_lclients_ds, and removes them at the end.
"""
import io
import sys

import psycopg2

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


def connect(user="postgres", purpose=None):
    opts = "-c ai_guard.purpose=%s" % purpose if purpose else ""
    c = psycopg2.connect(dbname=DB, user=user, options=opts)
    c.autocommit = True
    return c


admin = connect()
A = admin.cursor()
A.execute("DROP SCHEMA IF EXISTS lineage_clients CASCADE")
A.execute("DROP ROLE IF EXISTS regress_lclients_ds")
A.execute("CREATE SCHEMA lineage_clients")
A.execute("CREATE TABLE lineage_clients.t (id int PRIMARY KEY, v text)")
A.execute("SELECT ai_guard.track('lineage_clients.t')")
A.execute("SELECT ai_guard.begin_ingest('clients-test', 'MIT', '{training}')")
A.execute("INSERT INTO lineage_clients.t SELECT g, 'v' || g FROM generate_series(1, 200) g")
A.execute("SELECT ai_guard.end_ingest()")
A.execute("CREATE ROLE regress_lclients_ds LOGIN")
A.execute("GRANT USAGE ON SCHEMA lineage_clients TO regress_lclients_ds")
A.execute("GRANT SELECT ON lineage_clients.t TO regress_lclients_ds")
A.execute("SELECT ai_guard.grant_purpose('regress_lclients_ds', 'training')")
# the row id of every id, read once by the superuser
A.execute("SET ai_guard.purpose = 'evaluation:check'")
A.execute("SELECT id, ai_guard_row_id FROM lineage_clients.t")
row_id = dict(A.fetchall())

ds = connect("regress_lclients_ds", "training:clients")
D = ds.cursor()


def last_pull():
    D.execute("SELECT ai_guard.last_pull_id()")
    return D.fetchone()[0]


def recorded(pull_id):
    A.execute("SELECT ai_guard.audit_flush()")
    A.execute("SELECT membership FROM ai_guard.pull_relations WHERE pull_id = %s", (pull_id,))
    m = A.fetchall()
    A.execute("SELECT ai_guard.pull_row_ids(%s, 'lineage_clients.t')", (pull_id,))
    return (m[0][0] if m else None), sorted(r[0] for r in A.fetchall())


def expect(ids):
    return sorted(row_id[i] for i in ids)


# COPY (SELECT ...) TO STDOUT
buf = io.StringIO()
D.copy_expert("COPY (SELECT id, v FROM lineage_clients.t WHERE id % 3 = 0) TO STDOUT", buf)
got = [int(line.split("\t")[0]) for line in buf.getvalue().splitlines()]
p = last_pull()
m, ids = recorded(p)
ok(m == "exact" and len(got) == 66 and ids == expect(got),
   "COPY (SELECT ...) TO STDOUT: exactly the rows copied",
   (m, len(ids), len(got)))

# a server-side cursor, fetched part way and closed
ds.autocommit = False
cur = ds.cursor(name="partial")
cur.itersize = 7
cur.execute("SELECT id FROM lineage_clients.t WHERE id > 100 ORDER BY id")
got = [r[0] for r in cur.fetchmany(25)]
cur.close()
ds.commit()
ds.autocommit = True
p = last_pull()
m, ids = recorded(p)
ok(m == "exact" and len(got) == 25 and ids == expect(got),
   "a named cursor closed after 25 rows: those 25 only",
   (m, len(ids)))

# a prepared statement executed twice with different parameters
D.execute("PREPARE q(int) AS SELECT id FROM lineage_clients.t WHERE id BETWEEN $1 AND $1 + 4")
D.execute("EXECUTE q(10)")
got1 = [r[0] for r in D.fetchall()]
p1 = last_pull()
D.execute("EXECUTE q(50)")
got2 = [r[0] for r in D.fetchall()]
p2 = last_pull()
m1, ids1 = recorded(p1)
m2, ids2 = recorded(p2)
ok(p1 != p2 and len(got1) == 5 and ids1 == expect(got1) and ids2 == expect(got2),
   "a prepared statement: each execution its own rows", (ids1, ids2))

# an aggregate the way a notebook asks for statistics
D.execute("SELECT count(*), max(v) FROM lineage_clients.t WHERE id <= 40")
agg = D.fetchall()
p = last_pull()
m, ids = recorded(p)
ok(agg[0][0] == 40 and m == "exact" and ids == expect(range(1, 41)),
   "an aggregate: every row that fed it",
   (m, len(ids), ids[:3], expect(range(1, 41))[:3]))

# a shape that cannot be followed is unknown, never guessed
D.execute("SELECT DISTINCT v FROM lineage_clients.t WHERE id <= 5")
D.fetchall()
p = last_pull()
m, ids = recorded(p)
ok(m == "unknown" and ids == [], "DISTINCT: membership unknown, no ids")

A.execute("SELECT intact FROM ai_guard.verify_audit()")
ok(A.fetchone()[0] is True, "the audit chain verifies")

# a session that planned queries before CREATE EXTENSION records membership
# once the extension and a tracked table exist
A.execute("DROP DATABASE IF EXISTS regress_lclients_fresh")
A.execute("CREATE DATABASE regress_lclients_fresh")
fresh = psycopg2.connect(dbname="regress_lclients_fresh", user="postgres")
fresh.autocommit = True
F = fresh.cursor()
F.execute("SELECT 1")
F.execute("CREATE EXTENSION ai_guard")
F.execute("CREATE TABLE t (id int)")
F.execute("SELECT ai_guard.track('t')")
F.execute("SELECT ai_guard.begin_ingest('fresh', 'MIT', '{training}')")
F.execute("INSERT INTO t SELECT generate_series(1, 10)")
F.execute("SELECT ai_guard.end_ingest()")
F.execute("SET ai_guard.purpose = 'training:fresh'")
F.execute("SELECT id FROM t WHERE id <= 4")
F.execute("SELECT ai_guard.last_pull_id()")
p = F.fetchone()[0]
F.execute("SELECT ai_guard.audit_flush()")
F.execute("SELECT membership, row_count FROM ai_guard.pull_relations WHERE pull_id = %s", (p,))
got = F.fetchall()
ok(got == [("exact", 4)], "a session older than the extension records exact membership", got)
fresh.close()
A.execute("DROP DATABASE regress_lclients_fresh WITH (FORCE)")

ds.close()
A.execute("RESET ai_guard.purpose")
A.execute("SELECT ai_guard.revoke_purpose('regress_lclients_ds', 'training')")
A.execute("DROP SCHEMA lineage_clients CASCADE")
A.execute("DROP ROLE regress_lclients_ds")
admin.close()
print("1..%d" % N)
sys.exit(1 if FAILED else 0)
