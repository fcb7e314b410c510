#!/usr/bin/env python3
"""One client of the crash test (test/scripts/audit_crash.sh): pulls governed
rows in a loop through a server-side cursor and, as soon as the first row of a
pull has reached it, appends the pull's tag to a log file. Runs until the
server goes away."""
import os
import sys

import psycopg2

wid, logpath = sys.argv[1], sys.argv[2]
log = open(logpath, "a")
try:
    conn = psycopg2.connect(dbname="crash", options="-c ai_guard.purpose=training:crash")
    i = 0
    while True:
        i += 1
        tag = "w%s-%d" % (wid, i)
        cur = conn.cursor(name="c")
        cur.execute("SELECT /* %s */ * FROM t WHERE id %% 7 = %d" % (tag, i % 7))
        first = cur.fetchmany(1)
        if first:
            log.write(tag + "\n")
            log.flush()
            os.fsync(log.fileno())
        cur.fetchall()
        cur.close()
        conn.commit()
except psycopg2.Error:
    pass
