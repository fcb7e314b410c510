#!/usr/bin/env python3
"""One client of the multi-capability crash test (test/scripts/crash_rounds.sh).

    crash_rounds_worker.py KIND ID ROUND LOGFILE

KIND is one of
  pull    governed reads through a server-side cursor, rotating over a governed
          table, a tracked table and a masked view, and over purposes; as soon
          as the first row of a pull has reached this client, logs
          "pull <tag>" (the tag is a comment in the query text, so the pull's
          record can be found by it)
  ingest  begin_ingest / INSERT 20 rows / end_ingest / COMMIT into a tracked
          table; after COMMIT returns, logs "ingest <first id> <last id>"
  crypto  inserts values encrypted with encrypt() and through an
          encrypt_column() trigger, rotates the keys and re-encrypts; after
          each COMMIT returns, logs "crypto <table> <id>"
Runs until the server goes away; every log line is fsynced before the next
step, so what the log says reached this client did."""
import os
import random
import sys

import psycopg2

kind, wid, rnd, logpath = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
log = open(logpath, "a")
rng = random.Random(wid * 1000 + rnd)


def note(line):
    log.write(line + "\n")
    log.flush()
    os.fsync(log.fileno())


PULLS = [
    # (role, purpose, query)
    ("postgres", "training:crash-a", "SELECT /* %s */ * FROM public.t WHERE id %% 5 = %d"),
    ("crash_ds", "training:crash-b", "SELECT /* %s */ * FROM crash_masked.cust WHERE id %% 3 = %d"),
    ("postgres", "analytics:crash-c", "SELECT /* %s */ id, payload FROM public.ev WHERE id %% 4 = %d"),
    ("crash_ds", "analytics:crash-d", "SELECT /* %s */ id, email FROM crash_masked.cust WHERE id > %d"),
]


def pull_loop():
    role, purpose, sql = PULLS[wid % len(PULLS)]
    conn = psycopg2.connect(dbname="crash", user=role,
                            options="-c ai_guard.purpose=%s" % purpose)
    i = 0
    while True:
        i += 1
        tag = "r%d-p%d-%d" % (rnd, wid, i)
        cur = conn.cursor(name="c%d" % i)
        cur.itersize = 50
        cur.execute(sql % (tag, i % 3))
        first = cur.fetchmany(1)
        if first:
            note("pull " + tag)
        cur.fetchall()
        cur.close()
        conn.commit()


def ingest_loop():
    conn = psycopg2.connect(dbname="crash")
    cur = conn.cursor()
    i = 0
    while True:
        i += 1
        lo = (rnd * 100 + wid) * 1000000 + i * 20
        cur.execute("SELECT ai_guard.begin_ingest(%s, 'CC-BY-4.0', '{training}')",
                    ("crash-r%d-w%d" % (rnd, wid),))
        cur.execute("INSERT INTO public.ev (id, payload) SELECT g, 'event ' || g "
                    "FROM generate_series(%s, %s) g", (lo, lo + 19))
        cur.execute("SELECT ai_guard.end_ingest()")
        conn.commit()
        note("ingest %d %d" % (lo, lo + 19))


def crypto_loop():
    conn = psycopg2.connect(dbname="crash")
    cur = conn.cursor()
    i = 0
    while True:
        i += 1
        vid = (rnd * 100 + wid) * 1000000 + i
        cur.execute("INSERT INTO public.secrets (id, plain, v) VALUES "
                    "(%s, %s, ai_guard.encrypt(%s::text, 'ck', 'crash'))",
                    (vid, "value-%d" % vid, "value-%d" % vid))
        conn.commit()
        note("crypto secrets %d" % vid)
        cur.execute("INSERT INTO public.enc (id, plain, v) VALUES (%s, %s, %s)",
                    (vid, "enc-%d" % vid, "enc-%d" % vid))
        conn.commit()
        note("crypto enc %d" % vid)
        if i % 7 == 0:
            cur.execute("SELECT ai_guard.rotate_key(%s)", (rng.choice(["ck", "ck2"]),))
            conn.commit()
        if i % 5 == 0:
            cur.execute("SELECT ai_guard.reencrypt('public.enc', 'v', 50, 2)")
            conn.commit()


try:
    {"pull": pull_loop, "ingest": ingest_loop, "crypto": crypto_loop}[kind]()
except psycopg2.Error:
    pass
