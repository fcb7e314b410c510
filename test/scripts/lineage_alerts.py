#!/usr/bin/env python3
"""Row budgets seen by real clients: a compliance session LISTENs on
ai_guard_alerts, a data scientist (psycopg2) goes over its budget with a
SELECT and with COPY ... TO STDOUT; each refusal arrives as one JSON
notification naming the pull, and the pull records say how many rows left.

Prints TAP. Uses database ai_guard_tap; creates schema lineage_alerts and
role regress_alerts_ds, and removes them at the end.
"""
import io
import json
import select
import sys
import time

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


def notifications(conn, want, timeout=10.0):
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        if select.select([conn], [], [], 0.2) == ([], [], []):
            continue
        conn.poll()
        while conn.notifies:
            got.append(conn.notifies.pop(0))
    return got


admin = connect()
A = admin.cursor()
A.execute("DROP SCHEMA IF EXISTS lineage_alerts CASCADE")
A.execute("DROP ROLE IF EXISTS regress_alerts_ds")
A.execute("CREATE SCHEMA lineage_alerts")
A.execute("CREATE TABLE lineage_alerts.t (id int PRIMARY KEY, v text)")
A.execute("INSERT INTO lineage_alerts.t SELECT g, 'v' || g FROM generate_series(1, 50) g")
A.execute("SELECT ai_guard.govern('lineage_alerts.t')")
A.execute("CREATE ROLE regress_alerts_ds LOGIN")
A.execute("GRANT USAGE ON SCHEMA lineage_alerts TO regress_alerts_ds")
A.execute("GRANT SELECT ON lineage_alerts.t TO regress_alerts_ds")
A.execute("SELECT ai_guard.grant_purpose('regress_alerts_ds', 'training')")
A.execute("SELECT ai_guard.set_budget('regress_alerts_ds', 'training', 30, '1 day')")

listener = connect()
listener.cursor().execute("LISTEN ai_guard_alerts")

ds = connect("regress_alerts_ds", "training:churn")
D = ds.cursor()
D.execute("SELECT id FROM lineage_alerts.t WHERE id <= 20")
ok(len(D.fetchall()) == 20, "a pull within the budget delivers its rows")
ok(notifications(listener, 1, timeout=1.0) == [], "no alert while within the budget")

try:
    D.execute("SELECT id FROM lineage_alerts.t ORDER BY id")
    ok(False, "the pull that goes over the budget fails")
except psycopg2.Error as e:
    ok("row budget" in str(e), "the pull that goes over the budget fails", e)
got = notifications(listener, 1)
ok(len(got) == 1, "one alert for the pull stopped at the budget", got)
first = json.loads(got[0].payload) if got else {}
ok(first.get("event") == "budget_refusal" and first.get("role") == "regress_alerts_ds"
   and first.get("purpose") == "training:churn" and first.get("rows") == 10,
   "the alert names the role, the purpose and the 10 rows delivered", first)

buf = io.StringIO()
try:
    D.copy_expert("COPY (SELECT id FROM lineage_alerts.t) TO STDOUT", buf)
    ok(False, "COPY with the budget used up is refused")
except psycopg2.Error as e:
    ok("used up" in str(e), "COPY with the budget used up is refused", e)
got = notifications(listener, 1)
second = json.loads(got[0].payload) if got else {}
ok(len(got) == 1 and second.get("pull_id") != first.get("pull_id"),
   "the refused COPY is announced too", got)

A.execute("SELECT ai_guard.audit_flush()")
A.execute("""SELECT status, rows, detail LIKE 'row budget%%' FROM ai_guard.pulls
              WHERE pull_id IN (%s, %s) ORDER BY pull_id""",
          (first.get("pull_id", 0), second.get("pull_id", 0)))
rows = A.fetchall()
ok(rows == [("refused", 10, True), ("refused", None, True)],
   "both pulls are recorded as refused for the budget", rows)

# raising the budget by 5 lets a COPY deliver exactly 5 more rows, then stops it
A.execute("SELECT ai_guard.set_budget('regress_alerts_ds', 'training', 35, '1 day')")
buf = io.StringIO()
try:
    D.copy_expert("COPY (SELECT id FROM lineage_alerts.t ORDER BY id) TO STDOUT", buf)
    ok(False, "COPY is stopped at the budget")
except psycopg2.Error as e:
    ok("row budget" in str(e), "COPY is stopped at the budget", e)
got = notifications(listener, 1)
third = json.loads(got[0].payload) if got else {}
ok(third.get("rows") == 5, "the stopped COPY delivered exactly the 5 rows left", third)
A.execute("SELECT used_rows, rows_left FROM ai_guard.budget_usage WHERE role = 'regress_alerts_ds'")
ok(A.fetchall() == [(35, 0)], "budget_usage adds up to the budget")
A.execute("SELECT intact FROM ai_guard.verify_audit()")
ok(A.fetchone()[0] is True, "the audit chain verifies")

ds.close()
listener.close()
A.execute("SELECT ai_guard.drop_budget('regress_alerts_ds', 'training')")
A.execute("SELECT ai_guard.revoke_purpose('regress_alerts_ds', 'training')")
A.execute("DROP SCHEMA lineage_alerts CASCADE")
A.execute("DROP ROLE regress_alerts_ds")
admin.close()
print("1..%d" % N)
sys.exit(1 if FAILED else 0)
