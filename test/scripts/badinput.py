#!/usr/bin/env python3
"""The bad-input matrix (docs/RELIABILITY.md): every SQL function and
procedure of the extension, listed from the catalog (pg_proc joined with
pg_depend on the extension, so new functions are covered without editing
this file), is called with NULL, empty, very long (1 MB), invalid-UTF-8 and
malformed values for each argument, one argument at a time, the others kept
at a working value; then with every argument NULL.

Each call runs in its own subtransaction (SAVEPOINT ... ROLLBACK TO, so no
call leaves anything behind). A call passes if it returns, or fails with a
SQLSTATE outside class XX (internal error, data corrupted, index corrupted)
and outside 57014 (a call that needs more than the statement timeout is a
hang, not an answer), and the backend is still alive afterwards.

The matrix runs as a superuser and as an unprivileged login role (whose
calls mostly stop at the privilege checks, which must be clean errors too),
in a UTF-8 database; then as a superuser in a SQL_ASCII database, where text
arguments can really carry bytes that are not valid UTF-8 (in a UTF-8
database the server refuses such text before any function sees it).

Trigger and event-trigger functions are skipped: PostgreSQL refuses to call
them outside a trigger before they run (0A000), and their input is the row or
the DDL event the server hands them; the regression and attack suites drive
them through writes and DDL.

Prints TAP: one test per function and role/database pass, with the failing
calls listed; a summary line "# calls: N ..." for docs/RELIABILITY.md."""
import os
import sys
import time

import psycopg2

UNPRIV = "regress_badinput_user"
MB = 1048576

n = 0
failed = 0
totals = {"calls": 0, "ok": 0, "error": 0}
codes = {}


def tap(ok, name, why=""):
    global n, failed
    n += 1
    if ok:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s%s" % (n, name, ("\n# " + why.replace("\n", "\n# ")) if why else ""))
    sys.stdout.flush()


def connect(db, user=None):
    kw = {"dbname": db, "options": ("-c ai_guard.purpose=training:badinput -c statement_timeout=20s"
                           " -c client_encoding=UTF8")}
    if user:
        kw["user"] = user
    c = psycopg2.connect(**kw)
    c.autocommit = True
    return c


def setup(db, encoding):
    su = connect("postgres")
    su.cursor().execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
    su.cursor().execute("CREATE DATABASE %s ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
                        % (db, encoding))
    su.close()
    c = connect(db)
    c.cursor().execute("""
CREATE EXTENSION ai_guard;
GRANT USAGE ON SCHEMA public TO PUBLIC;
SELECT ai_guard.create_key('mx_key');
SELECT ai_guard.create_key('mx_siv', 'aes-256-siv');
SELECT ai_guard.create_key('mx_hmac', 'hmac-sha256');
SELECT ai_guard.grant_purpose('%(u)s', 'training');
SELECT ai_guard.grant_purpose('postgres', 'training');
CREATE TABLE public.mx_t (id int NOT NULL, v text, b bytea);
SELECT ai_guard.track('public.mx_t');
SELECT ai_guard.begin_ingest('badinput', 'MIT', '{training}');
INSERT INTO public.mx_t SELECT g, 'user' || g || '@example.com', '\\x01' FROM generate_series(1, 5) g;
SELECT ai_guard.end_ingest();
CREATE TABLE public.mx_plain (id int, v text);
INSERT INTO public.mx_plain VALUES (1, 'a@example.com');
CREATE TABLE public.mx_ct AS SELECT ai_guard.encrypt('hello'::text, 'mx_key') AS c;
GRANT SELECT ON public.mx_t, public.mx_plain, public.mx_ct TO PUBLIC;
""" % {"u": UNPRIV})
    c.close()


# ---- the values ----
# Each entry: (label, SQL expression). The expressions are evaluated by the
# server inside the call, so 1 MB values do not cross the wire.

CT = "(SELECT c FROM public.mx_ct)"

VALUES = {
    "text": [
        ("empty", "''"),
        ("1MB", "repeat('x', %d)" % MB),
        ("1MB-multibyte", "repeat('é€𝄞', %d)" % (MB // 9)),
        ("key-name", "'mx_key'"),
        ("hmac-key", "'mx_hmac'"),
        ("sql-injection", "$q$x'); DROP TABLE public.mx_plain; --$q$"),
        ("format-string", "'%s%s%n%x'"),
        ("control-chars", "E'a\\tb\\nc\\rd\\x01\\x7f'"),
        ("non-characters", "E'\\uFFFE\\uFFFF\\u200B\\u202E'"),
        ("long-identifier", "repeat('k', 300)"),
        ("spaces", "'   '"),
        ("purpose-like", "'training:x'"),
        ("label-like", "$q$pii:email mask=noise(0.2) mask=partial(1,'),$q$"),
        ("email-like", "repeat('a@b.', 100000)"),
        ("digits", "repeat('4111111111111111 ', 50000)"),
    ],
    "name": [
        ("empty", "''"), ("column", "'v'"), ("missing-column", "'nope'"),
        ("system-column", "'ctid'"), ("provenance-column", "'ai_guard_row_id'"),
        ("long", "repeat('n', 300)"), ("quoted", "'\"; DROP TABLE x; --'"),
    ],
    "bytea": [
        ("empty", "'\\x'::bytea"),
        ("1MB-ff", "decode(repeat('ff', %d), 'hex')" % MB),
        ("ff", "'\\xff'::bytea"),
        ("ciphertext", CT),
        ("ciphertext-truncated", "substring(%s from 1 for 13)" % CT),
        ("ciphertext-header-only", "substring(%s from 1 for 12)" % CT),
        ("ciphertext-bitflip", "set_byte(%s, 20, get_byte(%s, 20) # 1)" % (CT, CT)),
        ("ciphertext-bad-version", "set_byte(%s, 2, 255)" % CT),
        ("ciphertext-bad-keyid", "overlay(%s placing '\\xffffffff'::bytea from 5 for 4)" % CT),
        ("magic-only", "'\\x4147'::bytea"),
        ("magic-1MB", "'\\x474701'::bytea || decode(repeat('00', %d), 'hex')" % MB),
        ("invalid-utf8", "'\\xc328a0a1e28228f0288cbc'::bytea"),
    ],
    "int4": [("zero", "0"), ("negative", "-1"), ("max", "2147483647"), ("min", "(-2147483648)")],
    "int8": [("zero", "0"), ("negative", "-1"), ("max", "9223372036854775807"),
             ("min", "(-9223372036854775808)"), ("existing", "1")],
    "bool": [("true", "true"), ("false", "false")],
    "float8": [("nan", "'NaN'"), ("inf", "'Infinity'"), ("-inf", "'-Infinity'"),
               ("negative", "-1"), ("huge", "1e308"), ("tiny", "1e-308"), ("-zero", "'-0'")],
    "numeric": [("nan", "'NaN'"), ("inf", "'Infinity'"), ("zero", "0"), ("negative", "-5"),
                ("huge", "('1' || repeat('0', 1000))::numeric"),
                ("tiny", "('0.' || repeat('0', 1000) || '1')::numeric")],
    "date": [("infinity", "'infinity'"), ("-infinity", "'-infinity'"), ("min", "'4713-01-01 BC'"),
             ("max", "'5874897-12-31'")],
    "timestamp": [("infinity", "'infinity'"), ("-infinity", "'-infinity'"),
                  ("min", "'4713-01-01 00:00 BC'"), ("max", "'294276-12-31 23:59:59'")],
    "timestamptz": [("infinity", "'infinity'"), ("-infinity", "'-infinity'"), ("past", "'2000-01-01'"),
                    ("max", "'294276-12-30 23:59:59+00'")],
    "regclass": [
        ("invalid-oid", "0"), ("dangling-oid", "4294967295"), ("tracked", "'public.mx_t'"),
        ("plain", "'public.mx_plain'"), ("catalog", "'pg_catalog.pg_authid'"),
        ("catalog-view", "'pg_catalog.pg_stats'"), ("own-catalog", "'ai_guard.pulls'"),
        ("own-catalog-2", "'ai_guard.governed_relations'"), ("sequence", "'ai_guard.row_id_seq'"),
        ("index", "(SELECT indexrelid::regclass FROM pg_index LIMIT 1)"),
        ("toast", "(SELECT reltoastrelid::regclass FROM pg_class WHERE relname = 'pg_proc')"),
    ],
    "regrole": [
        ("invalid-oid", "0"), ("dangling-oid", "4294967295"), ("superuser", "'postgres'"),
        ("predefined", "'pg_read_all_data'"), ("unprivileged", "'%s'" % UNPRIV),
    ],
    "record": [
        ("empty-row", "ROW()"), ("row", "ROW(1, 'a')"),
        ("tracked-row", "(SELECT t FROM public.mx_t t LIMIT 1)"),
        ("plain-row", "(SELECT t FROM public.mx_plain t LIMIT 1)"),
        ("1MB-row", "ROW(repeat('x', %d), decode(repeat('ff', 1000), 'hex'))" % MB),
        ("nested", "ROW(ROW(1, ROW('x')), ARRAY[1, 2])"),
        ("wide", "(SELECT ROW(%s))" % ", ".join(str(i) for i in range(200))),
    ],
}
ARRAY_VALUES = [
    ("empty", "'{}'"), ("null-element", "ARRAY[NULL]"), ("two-dim", "'{{a,b},{c,d}}'"),
    ("10k", "(SELECT array_agg(g::text) FROM generate_series(1, 10000) g)"),
    ("1MB-element", "ARRAY[repeat('x', %d)]" % MB),
]
JSONB_VALUES = [
    ("empty-object", "'{}'"), ("array", "'[]'"), ("scalar", "'1'"), ("null", "'null'"),
    ("deep", "(repeat('[', 5000) || repeat(']', 5000))::jsonb"),
    ("1MB", "jsonb_build_object('k', repeat('x', %d))" % MB),
]
ALIASES = {"integer": "int4", "bigint": "int8", "boolean": "bool", "double precision": "float8",
           "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
           "smallint": "int4", "real": "float8", "character varying": "text", "oid": "int8"}

WORKING = {
    # a value that lets the call get past this argument, to reach the next
    "text": "'mx_key'", "name": "'v'", "bytea": CT, "int4": "1", "int8": "1", "bool": "false",
    "float8": "0.5", "numeric": "10", "date": "'2020-05-17'", "timestamp": "'2020-05-17 10:00'",
    "timestamptz": "'2999-01-01'", "regclass": "'public.mx_t'", "regrole": "'%s'" % UNPRIV,
    "record": "(SELECT t FROM public.mx_t t LIMIT 1)", "jsonb": "'{\"a\": 1}'",
}


def values_for(conn, typ, typoid):
    """(label, expression) pairs for one argument type, NULL first."""
    base = ALIASES.get(typ, typ)
    out = [("NULL", "NULL")]
    if base in VALUES:
        out += VALUES[base]
    elif base == "jsonb" or base == "json":
        out += JSONB_VALUES
    elif typ.endswith("[]"):
        out += ARRAY_VALUES
    else:
        cur = conn.cursor()
        cur.execute("SELECT typtype, typrelid::regclass::text FROM pg_type WHERE oid = %s", (typoid,))
        typtype, rel = cur.fetchone()
        out.append(("empty-literal", "''"))
        if typtype == "c" and rel:
            # a table's row type: an existing row if any, and an all-NULL one
            out.append(("row", "(SELECT x FROM %s x LIMIT 1)" % rel))
            out.append(("null-row", "ROW(NULL)"))
        cur.close()
    return out


def working(typ):
    base = ALIASES.get(typ, typ)
    if base in WORKING:
        return WORKING[base]
    if typ.endswith("[]"):
        return "'{training}'"
    return "NULL"


def functions(conn):
    cur = conn.cursor()
    cur.execute("""
SELECT p.oid, p.oid::regprocedure::text, p.proname, p.prokind,
       pg_catalog.format_type(p.prorettype, NULL), p.proretset,
       coalesce((SELECT array_agg(pg_catalog.format_type(t, NULL) ORDER BY i)
                   FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)), '{}'),
       p.proargtypes::oid[]
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass
   AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'ai_guard'
 ORDER BY 2""")
    rows = cur.fetchall()
    cur.close()
    return rows


def call_sql(schema_fn, kind, argtypes, exprs):
    args = ", ".join("(%s)::%s" % (e, t) for e, t in zip(exprs, argtypes))
    if kind == "p":
        return "CALL %s(%s)" % (schema_fn, args)
    return "SELECT %s(%s)" % (schema_fn, args)


class Dead(Exception):
    pass


def run_call(conn, sql):
    """'ok', 'error:SQLSTATE' or raises Dead."""
    cur = conn.cursor()
    try:
        cur.execute("SAVEPOINT mx")
        try:
            cur.execute(sql)
            if cur.description:
                cur.fetchall()
            res = "ok"
        except psycopg2.OperationalError as e:
            if conn.closed or e.pgcode is None:
                raise Dead(str(e))
            res = "error:%s" % e.pgcode
        except psycopg2.Error as e:
            if e.pgcode is None:
                raise Dead(str(e))
            res = "error:%s" % e.pgcode
        cur.execute("ROLLBACK TO SAVEPOINT mx")
        return res
    except (psycopg2.InterfaceError, psycopg2.OperationalError) as e:
        raise Dead(str(e))
    finally:
        try:
            cur.close()
        except psycopg2.Error:
            pass


def bad_code(res):
    # 25P02 would mean the savepoint handling broke and nothing ran
    return res.startswith("error:XX") or res in ("error:57014", "error:25P02")


def matrix(db, user, label):
    conn = connect(db, user)
    conn.autocommit = False
    fns = functions(conn)
    calls = 0
    skipped = []
    started = time.time()
    for oid, sig, name, kind, rettype, retset, argtypes, argoids in fns:
        if rettype in ("trigger", "event_trigger"):
            skipped.append(sig)
            continue
        qual = "ai_guard.%s" % psycopg2.extensions.quote_ident(name, conn)
        cases = []
        if not argtypes:
            cases.append(("no arguments", []))
        else:
            cases.append(("all NULL", ["NULL"] * len(argtypes)))
            for i, (t, toid) in enumerate(zip(argtypes, argoids)):
                for vlabel, expr in values_for(conn, t, toid):
                    exprs = [working(a) for a in argtypes]
                    exprs[i] = expr
                    cases.append(("arg %d %s" % (i + 1, vlabel), exprs))
        bad = []
        for clabel, exprs in cases:
            sql = call_sql(qual, kind, argtypes, exprs)
            calls += 1
            try:
                res = run_call(conn, sql)
            except Dead as e:
                bad.append("%s: backend died: %s" % (clabel, e))
                time.sleep(3)
                conn = connect(db, user)
                conn.autocommit = False
                continue
            totals["calls"] += 1
            totals["ok" if res == "ok" else "error"] += 1
            codes[res] = codes.get(res, 0) + 1
            if os.environ.get("AG_BADINPUT_DEBUG") and res == os.environ["AG_BADINPUT_DEBUG"]:
                print("# debug %s: %s" % (clabel, sql[:150]))
            if bad_code(res):
                bad.append("%s: %s  [%s]" % (clabel, res, sql[:200]))
        tap(not bad, "%s: %s (%d calls)" % (label, sig, len(cases)), "\n".join(bad))
    try:
        conn.rollback()
        cur = conn.cursor()
        cur.execute("SELECT 1")
        alive = cur.fetchone() == (1,)
    except psycopg2.Error:
        alive = False
    tap(alive, "%s: the session is alive after %d calls" % (label, calls))
    conn.close()
    print("# %s: %d functions, %d calls, %d skipped (trigger functions: %s), %.1f s"
          % (label, len(fns) - len(skipped), calls, len(skipped), ", ".join(skipped), time.time() - started))


def main():
    su = connect("postgres")
    cur = su.cursor()
    cur.execute("DROP ROLE IF EXISTS %s" % UNPRIV)
    cur.execute("CREATE ROLE %s LOGIN" % UNPRIV)
    su.close()
    only = os.environ.get("AG_BADINPUT_ONLY")
    passes = [("ai_guard_badinput", "UTF8", None, "superuser"),
              ("ai_guard_badinput", "UTF8", UNPRIV, "unprivileged"),
              ("ai_guard_badinput_ascii", "SQL_ASCII", None, "superuser, SQL_ASCII")]
    made = set()
    for db, enc, user, label in passes:
        if only and only not in label:
            continue
        if db not in made:
            setup(db, enc)
            made.add(db)
        if enc == "SQL_ASCII":
            # text that is not valid UTF-8 reaches the functions here
            VALUES["text"].extend([
                ("invalid-utf8", "convert_from('\\xc328a0a1e28228f0288cbcff'::bytea, 'SQL_ASCII')"),
                ("1MB-invalid-utf8", "convert_from(decode(repeat('ff', %d), 'hex'), 'SQL_ASCII')" % MB),
                ("truncated-sequence", "convert_from('\\x6140e282'::bytea, 'SQL_ASCII')"),
            ])
        matrix(db, user, label)
    su = connect("postgres")
    cur = su.cursor()
    for db in made:
        cur.execute("DROP DATABASE %s WITH (FORCE)" % db)
    cur.execute("DROP ROLE %s" % UNPRIV)
    su.close()
    print("# calls: %(calls)d in all, %(ok)d returned, %(error)d errors with a proper SQLSTATE" % totals
          if not failed else "# calls: %(calls)d" % totals)
    print("# outcomes: " + ", ".join("%s %d" % (k, v) for k, v in sorted(codes.items(), key=lambda kv: -kv[1])))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
