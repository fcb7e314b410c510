#!/usr/bin/env python3
"""Masked access across sessions: each backend caches the roles of
ai_guard.masked_access (src/masked_reads.c); a grant or revoke made by
another session must take effect at the next read of a session that is
already open, whatever it cached.

Prints TAP. Uses database ai_guard_tap; creates schema regress_mas and role
regress_mas_ds, and removes them at the end.
"""
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


def read_email(cur):
    try:
        cur.execute("SELECT email FROM regress_mas.t ORDER BY id LIMIT 1")
        return cur.fetchone()[0]
    except psycopg2.Error as e:
        return "SQLSTATE " + e.pgcode


su = psycopg2.connect(dbname=DB, user="postgres")
su.autocommit = True
c = su.cursor()
c.execute("DROP SCHEMA IF EXISTS regress_mas CASCADE")
c.execute("DROP ROLE IF EXISTS regress_mas_ds")
c.execute("""
CREATE ROLE regress_mas_ds LOGIN;
CREATE SCHEMA regress_mas;
CREATE TABLE regress_mas.t (id int, email text);
INSERT INTO regress_mas.t VALUES (1, 'a@example.com');
SECURITY LABEL FOR ai_guard ON COLUMN regress_mas.t.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_mas.t.email IS 'pii:email';
SELECT ai_guard.govern('regress_mas.t');
SELECT ai_guard.grant_purpose('regress_mas_ds', 'training');
GRANT USAGE ON SCHEMA regress_mas TO regress_mas_ds;
GRANT SELECT ON regress_mas.t TO regress_mas_ds;
""")

ds = psycopg2.connect(dbname=DB, user="regress_mas_ds",
                      options="-c ai_guard.purpose=training:sessions")
ds.autocommit = True
d = ds.cursor()
ok(read_email(d) == "a@example.com", "before masked access, the grant applies")

c.execute("REVOKE SELECT ON regress_mas.t FROM regress_mas_ds")
c.execute("SELECT ai_guard.grant_masked_access('regress_mas_ds')")
c.execute("GRANT SELECT ON regress_mas.t TO regress_mas_ds")
ok(read_email(d) == "SQLSTATE 42501",
   "masked access granted by another session holds in an open one", read_email(d))

c.execute("SELECT ai_guard.revoke_masked_access('regress_mas_ds')")
c.execute("GRANT SELECT ON regress_mas.t TO regress_mas_ds")
ok(read_email(d) == "a@example.com", "and its revocation too", read_email(d))

ds.close()
c.execute("SELECT ai_guard.revoke_purpose('regress_mas_ds', 'training')")
c.execute("DROP SCHEMA regress_mas CASCADE")
c.execute("DROP OWNED BY regress_mas_ds")
c.execute("DROP ROLE regress_mas_ds")
su.close()
print("1..%d" % N)
sys.exit(1 if FAILED else 0)
