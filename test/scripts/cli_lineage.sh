#!/usr/bin/env bash
# ai-guard register-model, lineage (text, dot, svg) and report, as a data
# scientist and a compliance officer run them, against the throwaway cluster
# (database ai_guard_tap). Prints TAP. Needs graphviz (dot) and, for a second
# SVG consumer, rsvg-convert if present.
set -u
CLI=${AG_CLI:-$(/usr/lib/postgresql/15/bin/pg_config --bindir)/ai-guard}
export PGDATABASE=ai_guard_tap
PY=/usr/bin/python3
W=$(mktemp -d)
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/# /' <<<"$2" | head -n 30; }
check() { if eval "$2"; then ok "$1"; else notok "$1" "${3:-}"; fi; }
# expect_status WANT DESC CMD...: runs CMD, checks its exit status
expect_status() {
	local want=$1 desc=$2 out st
	shift 2
	out=$("$@" 2>&1)
	st=$?
	if [ "$st" -eq "$want" ]; then ok "$desc"; else notok "$desc (exit $st, want $want)" "$out"; fi
	LAST_OUT=$out
}
one_line() { [ "$(printf '%s\n' "$LAST_OUT" | grep -c .)" -eq 1 ]; }
sql() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
	psql -X -q -o /dev/null 2>/dev/null <<'SQL'
DELETE FROM ai_guard.models WHERE name LIKE 'regress\_clil%' OR name LIKE 'x<%';
DROP SCHEMA IF EXISTS regress_clil_masked CASCADE;
DROP SCHEMA IF EXISTS regress_clil CASCADE;
DELETE FROM ai_guard.purpose_grants WHERE role::text LIKE 'regress\_clil\_%';
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_clil_ds') THEN
		PERFORM ai_guard.revoke_masked_access('regress_clil_ds');
		DROP OWNED BY regress_clil_ds;
		DROP ROLE regress_clil_ds;
	END IF;
	IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_clil_other') THEN
		DROP OWNED BY regress_clil_other;
		DROP ROLE regress_clil_other;
	END IF;
	IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_clil_comp') THEN
		DROP OWNED BY regress_clil_comp;
		DROP ROLE regress_clil_comp;
	END IF;
END $$;
SQL
}
trap 'cleanup; rm -rf "$W"' EXIT
cleanup

if ! command -v dot >/dev/null; then
	echo "not ok 1 - graphviz is installed (apt-get install -y graphviz)"
	echo "1..1"
	exit 1
fi

psql -X -q -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE SCHEMA regress_clil;
CREATE TABLE regress_clil.customers (LIKE demo.customers INCLUDING ALL);
SELECT ai_guard.track('regress_clil.customers');
SELECT ai_guard.begin_ingest('regress_clil_crm', 'CC-BY-4.0', '{training}');
INSERT INTO regress_clil.customers SELECT * FROM demo.customers WHERE customer_id <= 200;
SELECT ai_guard.end_ingest();
SELECT ai_guard.begin_ingest('regress_clil_vendor', 'vendor-eula', '{training,analytics}');
INSERT INTO regress_clil.customers SELECT * FROM demo.customers WHERE customer_id > 200 AND customer_id <= 300;
SELECT ai_guard.end_ingest();
SECURITY LABEL FOR ai_guard ON COLUMN regress_clil.customers.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_clil.customers.country IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN regress_clil.customers.email IS 'pii:email mask=mask_email()';
CREATE SCHEMA regress_clil_masked;
SELECT ai_guard.create_masked_view('regress_clil.customers', 'regress_clil_masked');
CREATE ROLE regress_clil_ds LOGIN;
CREATE ROLE regress_clil_other LOGIN;
CREATE ROLE regress_clil_comp LOGIN;
GRANT USAGE ON SCHEMA regress_clil, regress_clil_masked TO regress_clil_ds, regress_clil_other;
SELECT ai_guard.grant_masked_access('regress_clil_ds');
SELECT ai_guard.grant_masked_access('regress_clil_other');
SELECT ai_guard.grant_purpose('regress_clil_ds', 'training');
SELECT ai_guard.grant_purpose('regress_clil_other', 'training');
GRANT SELECT ON ai_guard.pulls TO regress_clil_comp;
-- (a change of governance for the report to show)
SELECT ai_guard.grant_purpose('regress_clil_comp', 'audit');
GRANT SELECT ON ai_guard.governance_changes TO regress_clil_comp;
SQL

# ---- a data scientist pulls and registers a model ----
Q='SELECT customer_id, email, country FROM regress_clil_masked.customers ORDER BY customer_id'
expect_status 0 "a data scientist pulls through the masked view" \
	"$CLI" pull -U regress_clil_ds --purpose training:clil -o "$W/train.copy" "$Q"
P1=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['pull_id'])" "$W/train.copy.manifest.json")
check "the manifest names the licenses, sources and consent of the rows" \
	"$PY - '$W/train.copy.manifest.json' <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
p = m['provenance']
assert sorted(p['licenses']) == ['CC-BY-4.0', 'vendor-eula'], p
assert sorted(p['sources']) == ['regress_clil_crm', 'regress_clil_vendor'], p
assert sorted(p['consent']) == ['analytics', 'training'], p
assert p['membership'] in ('exact', 'possible', 'partial'), p
assert all(b['relation'] == 'regress_clil.customers' for b in p['batches']), p
PYEOF" "$(cat "$W/train.copy.manifest.json")"
expect_status 0 "and a second pull" \
	"$CLI" pull -U regress_clil_ds --purpose training:clil -o "$W/t2.copy" \
	'SELECT customer_id FROM regress_clil_masked.customers WHERE customer_id < 50'
P2=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['pull_id'])" "$W/t2.copy.manifest.json")
expect_status 0 "another data scientist pulls" \
	"$CLI" pull -U regress_clil_other --purpose training:clil -o "$W/o.copy" \
	'SELECT customer_id FROM regress_clil_masked.customers LIMIT 5'
PO=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['pull_id'])" "$W/o.copy.manifest.json")

expect_status 0 "register-model with repeated --pull" \
	"$CLI" register-model -U regress_clil_ds regress_clil_churn v1 --pull "$P1" --pull "$P2" \
	--metadata '{"framework": "sklearn"}'
check "it names the model and its pulls" "grep -q 'registered model regress_clil_churn:v1 (model id [0-9]*) trained on 2 pulls' <<<\"\$LAST_OUT\"" "$LAST_OUT"
expect_status 0 "register-model with a comma-separated list" \
	"$CLI" register-model -U regress_clil_ds regress_clil_churn v2 --pull "$P1,$P2"
expect_status 1 "registering the same version again fails" \
	"$CLI" register-model -U regress_clil_ds regress_clil_churn v2 --pull "$P1"
check "with the server's reason on one line" "one_line && grep -q 'already exists' <<<\"\$LAST_OUT\"" "$LAST_OUT"
expect_status 1 "another role's pull cannot be registered" \
	"$CLI" register-model -U regress_clil_ds regress_clil_x v1 --pull "$PO"
check "permission denied for that pull" "one_line && grep -q \"permission denied for pull $PO\" <<<\"\$LAST_OUT\"" "$LAST_OUT"
expect_status 1 "an unknown pull fails" \
	"$CLI" register-model -U regress_clil_ds regress_clil_x v1 --pull 999999999
check "saying it does not exist" "grep -q 'pull 999999999 does not exist' <<<\"\$LAST_OUT\"" "$LAST_OUT"
expect_status 2 "a malformed pull id is a usage error" \
	"$CLI" register-model -U regress_clil_ds regress_clil_x v1 --pull 12x
expect_status 2 "an empty item in the list is a usage error" \
	"$CLI" register-model -U regress_clil_ds regress_clil_x v1 --pull "$P1,"
expect_status 2 "no --pull is a usage error" \
	"$CLI" register-model -U regress_clil_ds regress_clil_x v1
expect_status 2 "a missing version is a usage error" \
	"$CLI" register-model -U regress_clil_ds regress_clil_x --pull "$P1"
expect_status 1 "metadata that is not a JSON object fails" \
	"$CLI" register-model -U regress_clil_ds regress_clil_x v1 --pull "$P1" --metadata '[1]'
check "saying so" "grep -q 'must be a JSON object' <<<\"\$LAST_OUT\"" "$LAST_OUT"
expect_status 2 "register-model against an unreachable server is exit 2" \
	"$CLI" register-model -h /nonexistent regress_clil_x v1 --pull 1

# ---- lineage ----
expect_status 0 "lineage as text" "$CLI" lineage -U regress_clil_ds regress_clil_churn:v1
TEXT=$LAST_OUT
check "the text shows model, pulls, view, table and batches with source and license" \
	"grep -q '^model regress_clil_churn:v1' <<<\"\$TEXT\" && grep -q \"<- pull $P1 (training:clil)\" <<<\"\$TEXT\" &&
	 grep -q '<- view regress_clil_masked.customers' <<<\"\$TEXT\" &&
	 grep -q '<- relation regress_clil.customers' <<<\"\$TEXT\" &&
	 grep -q 'source regress_clil_vendor, license vendor-eula, consent analytics training' <<<\"\$TEXT\"" "$TEXT"
expect_status 0 "lineage NAME alone is the latest version" "$CLI" lineage -U regress_clil_ds regress_clil_churn
check "which is v2" "head -n1 <<<\"\$LAST_OUT\" | grep -q '^model regress_clil_churn:v2'" "$LAST_OUT"
expect_status 0 "lineage as DOT" "$CLI" lineage -U regress_clil_ds --format dot regress_clil_churn:v1
printf '%s\n' "$LAST_OUT" >"$W/l.dot"
check "Graphviz accepts the DOT" "dot -Tcanon '$W/l.dot' >/dev/null 2>&1" "$LAST_OUT"
check "the DOT has one node per model, pull, relation, batch, source, license and consent" \
	"[ \$(grep -c '^  \"[a-z_]*:[^\"]*\" \\[label=' '$W/l.dot') -eq \$(grep -o '^  \"[a-z_]*:[^\"]*\" \\[' '$W/l.dot' | sort -u | wc -l) ] &&
	 grep -q '\"model:[0-9]*\" \\[label=\"regress_clil_churn:v1\"' '$W/l.dot' &&
	 grep -q '\"source:regress_clil_crm\" -> \"batch:[0-9]*\"' '$W/l.dot'" "$(cat "$W/l.dot")"
expect_status 0 "lineage as SVG to a file" "$CLI" lineage -U regress_clil_ds --format svg -o "$W/l.svg" regress_clil_churn:v1
check "the SVG is well-formed XML with an svg root that names the model" \
	"$PY - '$W/l.svg' <<'PYEOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag
texts = [t.text for t in root.iter('{http://www.w3.org/2000/svg}text')]
assert 'regress_clil_churn:v1' in texts, texts
assert 'regress_clil_vendor' in texts and 'vendor-eula' in texts, texts
PYEOF"
if command -v rsvg-convert >/dev/null; then
	check "rsvg-convert renders the SVG" \
		"rsvg-convert -o '$W/l.png' '$W/l.svg' && [ \"\$(head -c 8 '$W/l.png' | od -An -tx1 | tr -d ' \n')\" = 89504e470d0a1a0a ]"
fi
expect_status 1 "SVG without Graphviz fails" env PATH=/nonexistent "$CLI" lineage -U regress_clil_ds --format svg -o "$W/n.svg" regress_clil_churn:v1
check "with a clear message, and no file" "one_line && grep -q 'Graphviz program \"dot\" was not found' <<<\"\$LAST_OUT\" && [ ! -e '$W/n.svg' ] && ! ls '$W' | grep -q partial" "$LAST_OUT"
expect_status 1 "another data scientist cannot see the model" "$CLI" lineage -U regress_clil_other regress_clil_churn:v1
check "it does not exist for them" "one_line && grep -q 'model \"regress_clil_churn\" version \"v1\" does not exist' <<<\"\$LAST_OUT\"" "$LAST_OUT"
expect_status 1 "an unknown model fails" "$CLI" lineage regress_clil_nothing
expect_status 2 "an unknown format is a usage error" "$CLI" lineage --format png regress_clil_churn
expect_status 2 "lineage without a model is a usage error" "$CLI" lineage
expect_status 0 "compliance sees the lineage too" "$CLI" lineage -U regress_clil_comp regress_clil_churn:v1

# ---- report ----
# a model name full of HTML: everything must come out escaped
expect_status 0 "compliance registers a model with HTML in its name" \
	"$CLI" register-model -U regress_clil_comp 'x<script>alert("&")</script>' "v'1" --pull "$PO"
psql -X -q -o /dev/null -U regress_clil_ds -c "SET ai_guard.purpose = 'marketing:clil'" \
	-c 'SELECT count(*) FROM regress_clil_masked.customers' 2>/dev/null
expect_status 0 "the report" "$CLI" report -U regress_clil_comp --since 1d -o "$W/report.html"
check "no partial file is left" "! ls '$W' | grep -q partial"
check "the report is well-formed, self-contained and complete" \
	"$PY - '$W/report.html' '$P1' <<'PYEOF'
import re, sys, xml.etree.ElementTree as ET
from html.parser import HTMLParser
text = open(sys.argv[1], encoding='utf-8').read()
root = ET.fromstring(text)            # well-formed (XHTML-compatible)
assert root.tag == 'html'
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.tags = []; self.ext = []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ('src', 'href', 'xlink:href', 'data', 'action') and v and not v.startswith('#'):
                self.ext.append((tag, k, v))
p = P(); p.feed(text); p.close()
assert not p.ext, p.ext                                  # no external assets
assert 'script' not in p.tags and 'link' not in p.tags and 'img' not in p.tags, set(p.tags)
assert not re.search(r'url\(|@import', text), 'CSS loads nothing'
assert 'INTACT' in text
assert re.search(r'signed by the Ed25519 public key <code>[0-9a-f]{64}</code>', text)
h2 = [e.text for e in root.iter('h2')]
assert h2 == ['Audit chain', 'Pulls by purpose and role', 'PII columns accessed',
              'Refused reads', 'Changes of governance', 'Registered models'], h2
cells = [td.text for td in root.iter('td')]
assert 'purpose_grants' in cells and 'regress_clil_comp' in cells, cells  # a change
assert 'regress_clil.customers.email' in text              # a PII column read
assert 'marketing:clil' in text                            # the refused read
assert 'training:clil' in text and 'regress_clil_ds' in text
assert 'regress_clil_churn:v1' in text
svgs = [e for e in root.iter('{http://www.w3.org/2000/svg}svg')]
assert len(svgs) >= 3, len(svgs)                           # inline lineage pictures
assert '&lt;script&gt;alert(&quot;&amp;&quot;)&lt;/script&gt;:v&#39;1' in text
PYEOF" "$(head -c 3000 "$W/report.html")"
expect_status 0 "the report without Graphviz" env PATH=/nonexistent "$CLI" report -U regress_clil_comp -o "$W/r2.html"
check "draws lineage as tables and says why" \
	"$PY - '$W/r2.html' <<'PYEOF'
import sys, xml.etree.ElementTree as ET
text = open(sys.argv[1], encoding='utf-8').read()
root = ET.fromstring(text)
assert 'Graphviz (dot) is not installed' in text
assert not list(root.iter('{http://www.w3.org/2000/svg}svg'))
cells = [td.text for td in root.iter('td')]
assert 'regress_clil_churn:v1' in cells and 'regress_clil_vendor' in cells
PYEOF"
expect_status 0 "the report to standard output" "$CLI" report -U regress_clil_comp --since 12h
check "is HTML" "head -n1 <<<\"\$LAST_OUT\" | grep -q '<!DOCTYPE html>'"
expect_status 1 "a data scientist cannot write the report" "$CLI" report -U regress_clil_ds -o "$W/r3.html"
check "which needs SELECT on ai_guard.pulls; no file left" \
	"one_line && grep -q 'needs SELECT on ai_guard.pulls' <<<\"\$LAST_OUT\" && [ ! -e '$W/r3.html' ] && ! ls '$W' | grep -q partial" "$LAST_OUT"
expect_status 2 "a malformed --since is a usage error" "$CLI" report --since 30x
expect_status 2 "a zero --since is a usage error" "$CLI" report --since 0d
expect_status 2 "the report against an unreachable server is exit 2" "$CLI" report -h /nonexistent

echo "1..$n"
exit $failed
