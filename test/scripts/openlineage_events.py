#!/usr/bin/env python3
"""ai_guard.openlineage_event(pull_id): every emitted event validates against
the OpenLineage JSON schemas (spec 2-0-2 and its facets, in
../shared/data/openlineage/ or $AG_OPENLINEAGE_SCHEMAS) and against ai_guard's
own facet schema (docs/openlineage/AiGuardRunFacet.json), for pulls of every
kind: a read, a COPY, a read through a masked view by an ordinary role, a
failed pull, a refused pull, a derivation. Their content is checked against
ai_guard.pulls.

Prints TAP. Uses database ai_guard_tap; creates schema regress_ol, roles
regress_ol_*, models regress_ol_*, and removes them at the end (pull records
stay: nobody can delete those).
"""
import copy
import datetime
import json
import os
import re
import sys
import uuid

import psycopg2
import psycopg2.errors

try:
    import jsonschema
    from jsonschema import Draft202012Validator, RefResolver
except ImportError:
    print("1..1\nnot ok 1 - python3-jsonschema is installed "
          "(apt-get install -y python3-jsonschema)")
    sys.exit(1)

TOP = os.environ.get("AG_TOP", os.path.join(os.path.dirname(__file__), "..", ".."))
# ../shared beside the repository (a fixture the project does not ship)
SCHEMAS = os.environ.get("AG_OPENLINEAGE_SCHEMAS",
                         os.path.join(TOP, "..", "shared", "data", "openlineage"))
if not os.path.exists(os.path.join(SCHEMAS, "OpenLineage.json")):
    print("1..0 # SKIP the OpenLineage schemas are not at %s (set AG_OPENLINEAGE_SCHEMAS)"
          % os.path.abspath(SCHEMAS))
    sys.exit(0)
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
        print("not ok %d - %s" % (N, name))
        for line in str(info).splitlines()[:30]:
            print("# " + line)
    sys.stdout.flush()


def load(path):
    with open(path) as f:
        return json.load(f)


# ---- the schemas ----
ol = load(os.path.join(SCHEMAS, "OpenLineage.json"))
facet_files = {
    "schema": "SchemaDatasetFacet.json",
    "tags": "TagsDatasetFacet.json",
    "columnLineage": "ColumnLineageDatasetFacet.json",
    "version": "DatasetVersionDatasetFacet.json",
    "outputStatistics": "OutputStatisticsOutputDatasetFacet.json",
    "sql": "SQLJobFacet.json",
    "jobType": "JobTypeJobFacet.json",
    "processing_engine": "ProcessingEngineRunFacet.json",
}
store = {ol["$id"]: ol}
facet_schemas = {}
for key, fname in facet_files.items():
    s = load(os.path.join(SCHEMAS, "facets", fname))
    store[s["$id"]] = s
    facet_schemas[key] = s
custom = load(os.path.join(TOP, "docs", "openlineage", "AiGuardRunFacet.json"))
store[custom["$id"]] = custom
facet_schemas["ai_guard"] = custom

fmt = jsonschema.FormatChecker()

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@fmt.checks("date-time")
def is_datetime(value):
    if not isinstance(value, str) or not RFC3339.match(value):
        return False
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def validator(schema):
    return Draft202012Validator(
        schema, format_checker=fmt,
        resolver=RefResolver(base_uri=schema["$id"], referrer=schema, store=store))


ol_validator = validator(ol)
facet_validators = {k: validator(s) for k, s in facet_schemas.items()}

# the format checks are real (uri needs rfc3987; a silent skip would pass anything)
ok(not fmt.conforms("not a uri", "uri") and fmt.conforms("urn:ai_guard:0.1", "uri")
   and not fmt.conforms("2026-13-01", "date-time") and not fmt.conforms("nope", "uuid"),
   "the format checker checks uri, date-time and uuid")
bad = {"eventTime": "yesterday", "producer": "x y", "schemaURL": "u",
       "run": {"runId": "123"}, "job": {"namespace": "n", "name": "j"}}
ok(not ol_validator.is_valid(bad), "the OpenLineage schema rejects a malformed event")


def errors_of(v, instance):
    return ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
            for e in sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))]


def validate_event(ev):
    """All schema errors of an event, its facets included; [] if valid."""
    errs = errors_of(ol_validator, ev)
    facet_sets = [("run", ev.get("run", {}).get("facets", {})),
                  ("job", ev.get("job", {}).get("facets", {}))]
    for i, d in enumerate(ev.get("inputs", [])):
        facet_sets.append(("inputs/%d" % i, d.get("facets", {})))
        facet_sets.append(("inputs/%d/input" % i, d.get("inputFacets", {})))
    for i, d in enumerate(ev.get("outputs", [])):
        facet_sets.append(("outputs/%d" % i, d.get("facets", {})))
        facet_sets.append(("outputs/%d/output" % i, d.get("outputFacets", {})))
    for where, facets in facet_sets:
        for key in facets:
            if key not in facet_validators:
                errs.append("%s: facet %r has no schema to validate it" % (where, key))
                continue
            errs += ["%s/facets/%s" % (where, e)
                     for e in errors_of(facet_validators[key], {key: facets[key]})]
    return errs


# ---- fixtures ----
def connect(user=None, purpose=None):
    opts = "-c ai_guard.purpose=%s" % purpose if purpose else ""
    kw = {"dbname": DB, "options": opts, "application_name": "openlineage_events"}
    if user:
        kw["user"] = user
    c = psycopg2.connect(**kw)
    c.autocommit = True
    return c


admin = connect()
A = admin.cursor()


def q(sql, args=None, cur=None):
    cur = cur or A
    cur.execute(sql, args)
    try:
        return cur.fetchall()
    except psycopg2.ProgrammingError:
        return None


def cleanup():
    q("DELETE FROM ai_guard.models WHERE name LIKE 'regress_ol_%'")
    q("DROP SCHEMA IF EXISTS regress_ol_masked CASCADE")
    q("DROP SCHEMA IF EXISTS regress_ol CASCADE")
    for role in ("regress_ol_ds", "regress_ol_other"):
        if q("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)):
            q("DELETE FROM ai_guard.purpose_grants WHERE role = %s", (role,))
            q("SELECT ai_guard.revoke_masked_access(%s)", (role,))
            q("DROP OWNED BY " + role)
            q("DROP ROLE " + role)


cleanup()
q("""
CREATE SCHEMA regress_ol;
CREATE TABLE regress_ol.customers (LIKE demo.customers INCLUDING ALL);
SELECT ai_guard.track('regress_ol.customers');
SELECT ai_guard.begin_ingest('regress_ol_crm', 'CC-BY-4.0', '{training,analytics}');
INSERT INTO regress_ol.customers SELECT * FROM demo.customers WHERE customer_id <= 300;
SELECT ai_guard.end_ingest();
SELECT ai_guard.begin_ingest('regress_ol_partner', 'proprietary', '{training}');
INSERT INTO regress_ol.customers SELECT * FROM demo.customers WHERE customer_id > 300 AND customer_id <= 500;
SELECT ai_guard.end_ingest();
SECURITY LABEL FOR ai_guard ON COLUMN regress_ol.customers.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_ol.customers.country IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN regress_ol.customers.email IS 'pii:email mask=mask_email()';
SECURITY LABEL FOR ai_guard ON COLUMN regress_ol.customers.full_name IS 'pii:name';
CREATE SCHEMA regress_ol_masked;
SELECT ai_guard.create_masked_view('regress_ol.customers', 'regress_ol_masked');
CREATE ROLE regress_ol_ds LOGIN;
CREATE ROLE regress_ol_other LOGIN;
GRANT USAGE ON SCHEMA regress_ol, regress_ol_masked TO regress_ol_ds;
SELECT ai_guard.grant_masked_access('regress_ol_ds');
SELECT ai_guard.grant_purpose('regress_ol_ds', 'training');
""")


def last_pull(cur):
    cur.execute("SELECT ai_guard.last_pull_id()")
    return cur.fetchone()[0]


pulls = {}
su = connect(purpose="training:regress-ol")
S = su.cursor()
S.execute("SELECT customer_id, full_name, email FROM regress_ol.customers WHERE country = 'DE' ORDER BY 1")
S.fetchall()
pulls["read"] = last_pull(S)
S.execute("COPY (SELECT customer_id, email FROM regress_ol.customers ORDER BY 1) TO '/dev/null'")
pulls["copy"] = last_pull(S)
try:
    S.execute("SELECT 1 / (customer_id - 250) FROM regress_ol.customers ORDER BY customer_id")
    S.fetchall()
except psycopg2.Error:
    pass
pulls["failed"] = last_pull(S)
S.execute("CREATE TABLE regress_ol.derived AS SELECT customer_id, country FROM regress_ol.customers")
pulls["derivation"] = last_pull(S)

ds = connect(user="regress_ol_ds", purpose="training:regress-ol")
D = ds.cursor()
D.execute("SELECT customer_id, email, full_name FROM regress_ol_masked.customers ORDER BY 1 LIMIT 25")
D.fetchall()
pulls["masked"] = last_pull(D)
D.execute("SET ai_guard.purpose = 'marketing:regress-ol'")
try:
    D.execute("SELECT customer_id FROM regress_ol_masked.customers LIMIT 1")
except psycopg2.Error:
    pass
pulls["refused"] = last_pull(D)
D.execute("SET ai_guard.purpose = 'training:regress-ol'")
q("SELECT ai_guard.audit_flush()")

rec = {}
for k, pid in pulls.items():
    r = q("SELECT row_to_json(p) FROM ai_guard.pulls p WHERE pull_id = %s", (pid,))
    rec[k] = r[0][0] if r else None
ok(all(rec.values()) and rec["read"]["status"] == "completed" and rec["copy"]["kind"] == "copy"
   and rec["failed"]["status"] == "failed" and rec["refused"]["status"] == "refused"
   and rec["derivation"]["kind"] == "derivation" and rec["masked"]["status"] == "completed",
   "six pulls recorded: read, copy, failed, derivation, masked view, refused",
   json.dumps({k: (v or {}).get("status") for k, v in rec.items()}))

events = {}
for k, pid in pulls.items():
    events[k] = q("SELECT ai_guard.openlineage_event(%s)", (pid,))[0][0]

# ---- every event validates ----
for k, ev in events.items():
    errs = validate_event(ev)
    ok(not errs, "the %s pull's event validates against the OpenLineage schemas" % k,
       "\n".join(errs))

# the validation is not vacuous: broken copies of a valid event fail it
for desc, mutate in (
        ("a string row count", lambda e: e["outputs"][0]["outputFacets"]["outputStatistics"].update(rowCount="3")),
        ("a facet without _producer", lambda e: e["run"]["facets"]["ai_guard"].pop("_producer")),
        ("an unknown membership", lambda e: e["run"]["facets"]["ai_guard"].update(membership="maybe")),
        ("a column lineage field without inputFields",
         lambda e: e["outputs"][0]["facets"]["columnLineage"]["fields"]["email"].pop("inputFields")),
        ("a run id that is not a UUID", lambda e: e["run"].update(runId="pull-1")),
        ("an unknown event type", lambda e: e.update(eventType="DONE"))):
    broken = copy.deepcopy(events["masked"])
    mutate(broken)
    ok(validate_event(broken), "an event with %s fails validation" % desc)

expect_type = {"read": "COMPLETE", "copy": "COMPLETE", "masked": "COMPLETE",
               "derivation": "COMPLETE", "failed": "FAIL", "refused": "ABORT"}
ok(all(events[k]["eventType"] == t for k, t in expect_type.items()),
   "eventType: COMPLETE for completed pulls, FAIL for failed, ABORT for refused",
   json.dumps({k: e["eventType"] for k, e in events.items()}))

# ---- content against the record ----
ev, r = events["read"], rec["read"]
agf = ev["run"]["facets"]["ai_guard"]
ok(agf["digest"]["value"] == r["digest"] and agf["purpose"] == "training:regress-ol"
   and agf["pull_id"] == pulls["read"] and agf["rows"] == r["rows"],
   "the ai_guard facet carries the pull's digest, purpose, id and rows")
stats = ev["outputs"][0]["outputFacets"]["outputStatistics"]
ok(stats["rowCount"] == r["rows"] and stats["size"] == r["bytes"],
   "output statistics are the pull's rows and bytes", json.dumps(stats))
ok(ev["outputs"][0]["facets"]["version"]["datasetVersion"] == "sha256:" + r["digest"],
   "the output's dataset version is the digest")
ok(sorted(agf["licenses"]) == ["CC-BY-4.0", "proprietary"]
   and sorted(agf["sources"]) == ["regress_ol_crm", "regress_ol_partner"]
   and sorted(agf["consent"]) == ["analytics", "training"],
   "licenses, sources and consent of the relation's batches",
   json.dumps([agf["licenses"], agf["sources"], agf["consent"]]))
# until the audit writer records row membership, the batches are "possible"
memb = q("SELECT count(*) FROM ai_guard.pull_relations WHERE pull_id = %s", (pulls["read"],))[0][0]
ok((memb == 0 and agf["membership"] == "possible"
    and all(b["membership"] == "possible" for b in agf["batches"]))
   or (memb > 0 and agf["membership"] in ("exact", "partial")),
   "batches are exact with recorded membership, else marked possible",
   json.dumps(agf["batches"]))
ok(ev["job"]["facets"]["sql"]["query"] == r["query"], "the SQL job facet has the query")
inp = ev["inputs"][0]
ok(inp["name"] == r["database"] + ".regress_ol.customers"
   and [f["name"] for f in inp["facets"]["schema"]["fields"]][:3] == ["customer_id", "full_name", "email"]
   and inp["facets"]["schema"]["fields"][0]["type"] == "bigint",
   "the input dataset has the table's schema with types", json.dumps(inp)[:400])
tags = {(t["field"], t["value"]) for t in inp["facets"]["tags"]["tags"] if "field" in t}
ok(("email", "pii:email mask=mask_email()") in tags and ("customer_id", "public") in tags,
   "classifications are tags of the input's fields")
cl = ev["outputs"][0]["facets"]["columnLineage"]["fields"]
ok(set(cl) == {"customer_id", "full_name", "email"}
   and not any(t.get("masking") for f in cl.values() for i in f["inputFields"]
               for t in i["transformations"]),
   "a direct read: column lineage of each returned column, nothing marked masked", json.dumps(cl)[:600])
indirect = {i["field"] for i in ev["outputs"][0]["facets"]["columnLineage"]["dataset"]}
ok("country" in indirect, "the filtered column is an indirect input", json.dumps(sorted(indirect)))

ev = events["masked"]
cl = ev["outputs"][0]["facets"]["columnLineage"]["fields"]
names = {d["name"].split(".", 1)[1] for d in ev["inputs"]}
ok(names == {"regress_ol_masked.customers", "regress_ol.customers"},
   "the masked view pull's inputs are the view and its table", json.dumps(sorted(names)))


def masking_of(field, dataset_suffix):
    for i in cl.get(field, {}).get("inputFields", []):
        if i["name"].endswith(dataset_suffix):
            return [t.get("masking") for t in i["transformations"]]
    return None


ok(masking_of("email", ".regress_ol.customers") == [True]
   and masking_of("full_name", ".regress_ol.customers") == [True]
   and cl["email"].get("masked") is True,
   "through the masked view, email and full_name come masked from the table",
   json.dumps(cl)[:800])
ok(masking_of("customer_id", ".regress_ol.customers") == [False]
   and len(cl["customer_id"]["inputFields"]) == 2,
   "customer_id (public) is not masked, and each input field appears once", json.dumps(cl.get("customer_id")))
agf = ev["run"]["facets"]["ai_guard"]
ok(agf["session_role"] == "regress_ol_ds" and agf["policies"]["masked_views"]
   and agf["policies"]["purpose_class"] == "training",
   "the ai_guard facet names the role, masked views and purpose class", json.dumps(agf["policies"]))

ev = events["refused"]
ok(ev["outputs"] == [] and ev["run"]["facets"]["ai_guard"]["status"] == "refused"
   and "detail" in ev["run"]["facets"]["ai_guard"],
   "a refused pull: no output, the reason in the facet")
ev = events["derivation"]
ok(ev["outputs"][0]["name"].endswith(".regress_ol.derived"),
   "a derivation's output is the relation it wrote", ev["outputs"][0]["name"])
ok(events["failed"]["run"]["facets"]["ai_guard"]["status"] == "failed",
   "a failed pull says so in the facet")

# ---- run ids: UUIDs, deterministic, distinct ----
ids = [e["run"]["runId"] for e in events.values()]
again = q("SELECT ai_guard.openlineage_event(%s)", (pulls["read"],))[0][0]
ok(len(set(ids)) == len(ids) and again["run"]["runId"] == events["read"]["run"]["runId"]
   and all(uuid.UUID(i).version == 8 for i in ids),
   "run ids are version-8 UUIDs, the same on every call, distinct per pull", json.dumps(ids))
ok(again == events["read"], "the event of a pull is the same on every call")

# ---- models appear in the facet ----
q("SELECT ai_guard.register_model('regress_ol_churn', 'v1', %s)", ([pulls["read"], pulls["copy"]],))
ev = q("SELECT ai_guard.openlineage_event(%s)", (pulls["read"],))[0][0]
ok(ev["run"]["facets"]["ai_guard"]["models"] == [{"name": "regress_ol_churn", "version": "v1"}]
   and not validate_event(ev),
   "a registered model is named in its pulls' events (still valid)")

# ---- who may ask ----
D.execute("SELECT ai_guard.openlineage_event(%s)", (pulls["masked"],))
ok(D.fetchone()[0]["run"]["runId"] == events["masked"]["run"]["runId"],
   "a data scientist gets the event of their own pull")
try:
    D.execute("SELECT ai_guard.openlineage_event(%s)", (pulls["read"],))
    ok(False, "another role's pull is reported as missing (42704)")
except psycopg2.Error as e:
    ok(e.pgcode == "42704" and "does not exist" in e.pgerror,
       "another role's pull is reported as missing (42704)", e.pgerror)
for arg, code in (("NULL", "22004"), ("-1", "42704"), ("9223372036854775807", "42704")):
    try:
        D.execute("SELECT ai_guard.openlineage_event(%s)" % arg)
        ok(False, "openlineage_event(%s) is an error %s" % (arg, code))
    except psycopg2.Error as e:
        ok(e.pgcode == code, "openlineage_event(%s) is an error %s" % (arg, code), e.pgerror)

ds.close()
su.close()
cleanup()
print("1..%d" % N)
sys.exit(1 if FAILED else 0)
