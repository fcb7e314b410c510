#!/usr/bin/env python3
"""Key cache invalidation seen by sessions that are already open.

Two real client sessions on the throwaway cluster (database ai_guard_tap):
an administrator grants, rotates and revokes; a reader that stays connected
must see each change from its next transaction on, although it has the key
cached.  Prints TAP.
"""
import os
import sys

import psycopg2
import psycopg2.errors

n = 0
failed = 0


def check(name, cond, extra=""):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} - {name}")
    else:
        failed += 1
        print(f"not ok {n} - {name} {extra}")


def connect():
    c = psycopg2.connect(dbname="ai_guard_tap")
    c.autocommit = True
    return c


admin = connect()
a = admin.cursor()
a.execute("DROP ROLE IF EXISTS regress_sess_reader")
a.execute("CREATE ROLE regress_sess_reader")
a.execute("SELECT ai_guard.create_key('regress_sess', 'aes-256-gcm')")
a.execute("SELECT ai_guard.grant_key('regress_sess', 'regress_sess_reader', 'decrypt')")
a.execute("SELECT ai_guard.grant_key('regress_sess', 'regress_sess_reader', 'encrypt')")
a.execute("SELECT ai_guard.encrypt('secret v1', 'regress_sess', 'ctx')")
ct_v1 = bytes(a.fetchone()[0])

reader = connect()
r = reader.cursor()
r.execute("SET ROLE regress_sess_reader")
r.execute("SELECT ai_guard.decrypt_text(%s, 'ctx')", (ct_v1,))
check("reader decrypts with its grant (key now cached)", r.fetchone()[0] == "secret v1")

# rotation: the open session encrypts with the new version at once
a.execute("SELECT ai_guard.rotate_key('regress_sess')")
r.execute("SELECT ai_guard.key_version(ai_guard.encrypt('x', 'regress_sess'))")
check("open session encrypts with the rotated version", r.fetchone()[0] == 2)
r.execute("SELECT ai_guard.decrypt_text(%s, 'ctx')", (ct_v1,))
check("old version still decrypts after rotation", r.fetchone()[0] == "secret v1")

# revoke: the open session is refused from its next statement on
a.execute("SELECT ai_guard.revoke_key('regress_sess', 'regress_sess_reader', 'decrypt')")
try:
    r.execute("SELECT ai_guard.decrypt_text(%s, 'ctx')", (ct_v1,))
    check("revoke takes effect in an open session", False, "(decrypt still worked)")
except psycopg2.Error as e:
    check("revoke takes effect in an open session (42501)", e.pgcode == "42501", e.pgcode)

# re-grant through a role: membership counts, also in the open session
a.execute("DROP ROLE IF EXISTS regress_sess_group")
a.execute("CREATE ROLE regress_sess_group")
a.execute("SELECT ai_guard.grant_key('regress_sess', 'regress_sess_group', 'decrypt')")
a.execute("GRANT regress_sess_group TO regress_sess_reader")
r.execute("SELECT ai_guard.decrypt_text(%s, 'ctx')", (ct_v1,))
check("grant through role membership is seen", r.fetchone()[0] == "secret v1")
a.execute("REVOKE regress_sess_group FROM regress_sess_reader")
try:
    r.execute("SELECT ai_guard.decrypt_text(%s, 'ctx')", (ct_v1,))
    check("revoked role membership takes effect", False, "(decrypt still worked)")
except psycopg2.Error as e:
    check("revoked role membership takes effect (42501)", e.pgcode == "42501", e.pgcode)

# inside an open transaction of the reader, a revoke committed meanwhile is
# seen from the reader's next transaction
a.execute("SELECT ai_guard.grant_key('regress_sess', 'regress_sess_reader', 'decrypt')")
reader.autocommit = False
r.execute("SELECT ai_guard.decrypt_text(%s, 'ctx')", (ct_v1,))
check("reader decrypts in a transaction", r.fetchone()[0] == "secret v1")
a.execute("SELECT ai_guard.revoke_key('regress_sess', 'regress_sess_reader', 'decrypt')")
reader.commit()
try:
    r.execute("SELECT ai_guard.decrypt_text(%s, 'ctx')", (ct_v1,))
    check("revoke seen in the reader's next transaction", False, "(decrypt still worked)")
except psycopg2.Error as e:
    check("revoke seen in the reader's next transaction (42501)", e.pgcode == "42501", e.pgcode)
reader.rollback()
reader.close()

# online re-encryption: a row locked by another session is skipped, the
# rest move without waiting; the locked row moves on a later run
a.execute("DROP TABLE IF EXISTS regress_sess_t")
a.execute("CREATE TABLE regress_sess_t (id int PRIMARY KEY, v text)")
a.execute("INSERT INTO regress_sess_t SELECT g, 'value ' || g FROM generate_series(1, 100) g")
a.execute("SELECT ai_guard.encrypt_column('regress_sess_t', 'v', 'regress_sess')")
a.execute("SELECT ai_guard.rotate_key('regress_sess')")
locker = connect()
locker.autocommit = False
lc = locker.cursor()
lc.execute("SELECT id FROM regress_sess_t WHERE id = 7 FOR UPDATE")
a.execute("SET lock_timeout = '5s'")
try:
    a.execute("CALL ai_guard.reencrypt_in_batches('regress_sess_t', 'v', 10)")
    a.execute("SELECT ai_guard.key_version(v), count(*) FROM regress_sess_t GROUP BY 1 ORDER BY 1")
    got = a.fetchall()
    check("reencrypt_in_batches skips the locked row and moves the rest", got == [(2, 1), (3, 99)], got)
except psycopg2.Error as e:
    check("reencrypt_in_batches does not wait for a locked row", False, e.pgerror)
locker.commit()
locker.close()
a.execute("SELECT ai_guard.reencrypt('regress_sess_t', 'v')")
check("the formerly locked row moves on the next run", a.fetchone()[0] == 1)
a.execute("SELECT count(*) FROM regress_sess_t WHERE ai_guard.decrypt_text(v, 'public.regress_sess_t.v') = 'value ' || id")
check("every value still decrypts", a.fetchone()[0] == 100)
a.execute("DROP TABLE regress_sess_t")

a.execute("DELETE FROM ai_guard.key_grants WHERE key_id IN (SELECT key_id FROM ai_guard.keys WHERE name = 'regress_sess')")
a.execute("DELETE FROM ai_guard.key_versions WHERE key_id IN (SELECT key_id FROM ai_guard.keys WHERE name = 'regress_sess')")
a.execute("DELETE FROM ai_guard.keys WHERE name = 'regress_sess'")
a.execute("DROP ROLE regress_sess_reader")
a.execute("DROP ROLE regress_sess_group")
admin.close()
print(f"1..{n}")
sys.exit(1 if failed else 0)
