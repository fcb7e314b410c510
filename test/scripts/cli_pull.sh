#!/usr/bin/env bash
# ai-guard pull and verify, as a data scientist would run them, against the
# throwaway cluster (database ai_guard_tap with the demo data). Prints TAP.
set -u
CLI=$(/usr/lib/postgresql/15/bin/pg_config --bindir)/ai-guard
export PGDATABASE=ai_guard_tap
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/# /' <<<"$2"; }
# expect_status WANT DESC CMD...: runs CMD, checks its exit status
expect_status() {
	local want=$1 desc=$2 out st
	shift 2
	out=$("$@" 2>&1)
	st=$?
	if [ "$st" -eq "$want" ]; then ok "$desc"; else notok "$desc (exit $st, want $want)" "$out"; fi
	LAST_OUT=$out
}
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
Q='SELECT customer_id, full_name, email, birth_date FROM demo.customers ORDER BY customer_id'

expect_status 0 "--help exits 0" "$CLI" --help
expect_status 0 "--version exits 0" "$CLI" --version
# make install links the client where users find it (not in PostgreSQL's bindir)
[ "$(PATH=/usr/local/bin:/usr/bin:/bin command -v ai-guard)" = /usr/local/bin/ai-guard ] &&
	[ "$(readlink /usr/local/bin/ai-guard)" = "$CLI" ] &&
	ok "ai-guard is a command: a link in /usr/local/bin" ||
	notok "ai-guard is a command: a link in /usr/local/bin" "$(ls -l /usr/local/bin/ai-guard 2>&1)"
expect_status 2 "pull without a purpose is a usage error" "$CLI" pull -o "$W/x" "$Q"
expect_status 2 "an unknown command is a usage error" "$CLI" frobnicate

expect_status 0 "pull a query" "$CLI" pull --purpose training:cli-test -o "$W/a.copy" "$Q"
[ -f "$W/a.copy" ] && [ -f "$W/a.copy.manifest.json" ] && ok "file and manifest written" || notok "file and manifest written"
[ "$(json "$W/a.copy.manifest.json" rows)" = 1000 ] && ok "manifest counts 1000 rows" || notok "manifest counts 1000 rows"
[ "$(json "$W/a.copy.manifest.json" sha256)" = "$(sha256sum <"$W/a.copy" | cut -d' ' -f1)" ] &&
	ok "manifest sha256 is sha256sum of the file" || notok "manifest sha256 is sha256sum of the file"
[ "$(json "$W/a.copy.manifest.json" purpose)" = training:cli-test ] && ok "manifest names the purpose" || notok "manifest names the purpose"
psql -X -q -c "\\copy ($Q) to '$W/psql.copy'"
cmp -s "$W/a.copy" "$W/psql.copy" && ok "the file is byte for byte what psql \\copy writes" ||
	notok "the file is byte for byte what psql \\copy writes"
ls "$W" | grep -q partial && notok "no partial files left" || ok "no partial files left"

expect_status 0 "verify --offline of an intact file" "$CLI" verify --offline "$W/a.copy"
grep -q VERIFIED <<<"$LAST_OUT" && ok "verify says VERIFIED" || notok "verify says VERIFIED" "$LAST_OUT"

head -c 5000 "$W/a.copy" >"$W/t.copy"
cp "$W/a.copy.manifest.json" "$W/t.copy.manifest.json"
expect_status 1 "verify of a truncated file fails" "$CLI" verify --offline "$W/t.copy"
grep -q "sha256     DOES NOT MATCH manifest" <<<"$LAST_OUT" && ok "and says the sha256 does not match" ||
	notok "and says the sha256 does not match" "$LAST_OUT"

sed 's/"rows": 1000/"rows": 999/' "$W/a.copy.manifest.json" >"$W/edited.json"
expect_status 1 "verify against a hand-edited manifest fails" "$CLI" verify --offline --manifest "$W/edited.json" "$W/a.copy"
printf '{"ai_guard_manifest": 1, "sha256": ' >"$W/broken.json"
expect_status 1 "verify against a broken manifest fails" "$CLI" verify --offline --manifest "$W/broken.json" "$W/a.copy"
grep -q "is not valid JSON" <<<"$LAST_OUT" && ok "and says the manifest is not valid JSON" || notok "and says the manifest is not valid JSON" "$LAST_OUT"

expect_status 0 "pull a second, different query" "$CLI" pull --purpose training:cli-test -o "$W/b.copy" \
	'SELECT ticket_id, body FROM demo.tickets ORDER BY ticket_id'
expect_status 1 "a file verified against another pull's manifest fails" "$CLI" verify --offline --manifest "$W/b.copy.manifest.json" "$W/a.copy"

expect_status 0 "pull --table" "$CLI" pull --purpose training:cli-test -o "$W/t2.copy" --table demo.customers
[ "$(json "$W/t2.copy.manifest.json" rows)" = 1000 ] && ok "--table pulls every row" || notok "--table pulls every row"
expect_status 1 "pull --table of a missing table fails" "$CLI" pull --purpose training:cli-test -o "$W/m.copy" --table demo.nope
expect_status 0 "pull --format csv" "$CLI" pull --purpose training:cli-test --format csv -o "$W/c.csv" "$Q"
head -n1 "$W/c.csv" | grep -q '^1,Liam Johnson,' && ok "csv rows" || notok "csv rows"

expect_status 1 "a query that fails mid-stream fails the pull" "$CLI" pull --purpose training:cli-test -o "$W/e.copy" \
	'SELECT 1 / (customer_id - 500) FROM demo.customers ORDER BY customer_id'
[ ! -e "$W/e.copy" ] && [ ! -e "$W/e.copy.manifest.json" ] && ! ls "$W" | grep -q partial &&
	ok "and leaves no file, no manifest, no partial file" || notok "and leaves no file, no manifest, no partial file"
expect_status 1 "a malformed purpose is refused" "$CLI" pull --purpose 'Bad Purpose' -o "$W/p.copy" "$Q"
expect_status 2 "an unreachable server is exit 2" "$CLI" pull --purpose training:x -h /nonexistent -o "$W/u.copy" "$Q"
[ "$(wc -l <<<"$LAST_OUT")" -le 2 ] && grep -q "could not connect" <<<"$LAST_OUT" && ok "with a short error" ||
	notok "with a short error" "$LAST_OUT"
expect_status 2 "an unknown database is exit 2" "$CLI" pull --purpose training:x -d no_such_db -o "$W/u.copy" "$Q"

# ---- against the audit: a governed table, a recorded pull, the chain ----
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
DROP TABLE IF EXISTS public.cli_governed;
CREATE TABLE public.cli_governed AS
  SELECT customer_id, full_name, email FROM demo.customers WHERE customer_id <= 300;
SELECT ai_guard.govern('public.cli_governed');
DROP ROLE IF EXISTS regress_cli_ds;
CREATE ROLE regress_cli_ds LOGIN;
GRANT SELECT ON public.cli_governed TO regress_cli_ds;
SELECT ai_guard.grant_purpose('regress_cli_ds', 'training');
SQL
G='SELECT * FROM public.cli_governed ORDER BY customer_id'
expect_status 0 "pull of a governed table with a granted purpose" \
	"$CLI" pull -U regress_cli_ds --purpose training:cli-test -o "$W/g.copy" "$G"
pid=$(json "$W/g.copy.manifest.json" pull_id)
[ -n "$pid" ] && [ "$pid" != None ] && ok "the manifest names the server's pull id" || notok "the manifest names the server's pull id"
[ "$(psql -X -At -c "SELECT digest FROM ai_guard.pulls WHERE pull_id = $pid")" = "$(sha256sum <"$W/g.copy" | cut -d' ' -f1)" ] &&
	ok "the server's digest is sha256sum of the file" || notok "the server's digest is sha256sum of the file"
expect_status 0 "verify against the server" "$CLI" verify -U regress_cli_ds "$W/g.copy"
grep -q "chain      intact" <<<"$LAST_OUT" && grep -q "digest     matches server record" <<<"$LAST_OUT" &&
	ok "digest and chain checked on the server" || notok "digest and chain checked on the server" "$LAST_OUT"
head -c 2000 "$W/g.copy" >"$W/gt.copy"
sed 's/"sha256": "[0-9a-f]*"/"sha256": "'"$(sha256sum <"$W/gt.copy" | cut -d' ' -f1)"'"/; s/"bytes": [0-9]*/"bytes": '"$(stat -c %s "$W/gt.copy")"'/' \
	"$W/g.copy.manifest.json" >"$W/gt.copy.manifest.json"
expect_status 1 "a truncated file with a manifest forged to match fails against the server" \
	"$CLI" verify -U regress_cli_ds "$W/gt.copy"
grep -q "digest     DOES NOT MATCH server record" <<<"$LAST_OUT" && ok "and says the server's digest differs" ||
	notok "and says the server's digest differs" "$LAST_OUT"
expect_status 1 "a pull with a purpose not granted is refused" \
	"$CLI" pull -U regress_cli_ds --purpose analytics:x -o "$W/r.copy" "$G"
grep -q "not granted" <<<"$LAST_OUT" && [ ! -e "$W/r.copy" ] && ok "with the server's reason, and no file" ||
	notok "with the server's reason, and no file" "$LAST_OUT"
other=$(psql -X -At -c "SET ai_guard.purpose = 'audit:cli-test'" -c 'SELECT count(*) FROM public.cli_governed' \
	-c 'SELECT ai_guard.last_pull_id()' | tail -n1)
[ "$(psql -X -At -U regress_cli_ds -c "SELECT count(*) FROM ai_guard.pull($pid)")" = 1 ] &&
	[ "$(psql -X -At -U regress_cli_ds -c "SELECT count(*) FROM ai_guard.pull($other)")" = 0 ] &&
	ok "a data scientist reads the record of their own pull, not another role's" ||
	notok "a data scientist reads the record of their own pull, not another role's"
psql -X -q -o /dev/null -c "SELECT ai_guard.revoke_purpose('regress_cli_ds', 'training')" \
	-c 'DROP TABLE public.cli_governed' -c 'DROP ROLE regress_cli_ds'

echo "1..$n"
exit $failed
