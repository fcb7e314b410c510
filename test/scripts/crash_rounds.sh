#!/usr/bin/env bash
# Multi-capability crash rounds: on a cluster of its own, clients pull
# governed rows (a governed table, a tracked table, a masked view; four
# purposes; a superuser and a data-scientist role), ingest into a tracked
# table, encrypt values (encrypt() and an encrypt_column() trigger), rotate
# keys and re-encrypt, all at once; at a random moment the postmaster and then
# every backend are killed with SIGKILL. After each restart (crash recovery):
#   - every pull whose first row reached a client has its audit record,
#   - the audit chain verifies,
#   - every ingest whose COMMIT returned is there, and no row of the tracked
#     table lacks its provenance tags or fails verify_rows,
#   - every encrypted value (both tables, every key version) still decrypts
#     to what was written, and every one whose COMMIT returned is there,
#   - the server works on: a new pull is recorded as completed.
#
#   AG_CRASH_ROUNDS=N (default 3; "make crash-check ROUNDS=20" for the long run)
#
# Prints TAP; the last comment line sums up the rounds for docs/RELIABILITY.md.
source "$AG_TOP/scripts/lib.sh"
set +e
ROUNDS=${AG_CRASH_ROUNDS:-3}
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else
		echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
py=/usr/bin/python3
worker="$AG_TOP/test/scripts/py/crash_rounds_worker.py"

ag_cluster_start preload >/dev/null 2>&1
createdb crash
psql -X -q -d crash -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE EXTENSION ai_guard;
CREATE ROLE crash_ds LOGIN;
CREATE TABLE public.t AS SELECT i AS id, md5(i::text) AS v FROM generate_series(1, 3000) i;
SELECT ai_guard.govern('public.t');
CREATE TABLE public.ev (id bigint, payload text);
SELECT ai_guard.track('public.ev');
CREATE TABLE public.cust AS
SELECT g AS id, 'user' || g || '@example.com' AS email, 'note ' || g AS note
  FROM generate_series(1, 1500) g;
SECURITY LABEL FOR ai_guard ON COLUMN public.cust.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN public.cust.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN public.cust.note IS 'pii:free_text';
CREATE SCHEMA crash_masked;
SELECT ai_guard.create_masked_view('public.cust', 'crash_masked');
SELECT ai_guard.grant_masked_access('crash_ds');
SELECT ai_guard.grant_purpose('postgres', 'training');
SELECT ai_guard.grant_purpose('postgres', 'analytics');
SELECT ai_guard.grant_purpose('crash_ds', 'training');
SELECT ai_guard.grant_purpose('crash_ds', 'analytics');
SELECT ai_guard.create_key('ck');
SELECT ai_guard.create_key('ck2');
CREATE TABLE public.secrets (id bigint PRIMARY KEY, plain text, v bytea);
CREATE TABLE public.enc (id bigint PRIMARY KEY, plain text, v text);
SELECT ai_guard.encrypt_column('public.enc', 'v', 'ck2');
SQL
check "set-up" "$?" 0

WORKERS="pull:1 pull:2 pull:3 pull:4 pull:5 ingest:6 ingest:7 crypto:8"
total_pulls=0
total_ingests=0
total_values=0
started=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
	log=$AG_TMP/round$round.log
	: >"$log"
	pids=()
	for w in $WORKERS; do
		"$py" "$worker" "${w%%:*}" "${w##*:}" "$round" "$log" 2>>"$AG_TMP/workers.err" &
		pids+=($!)
	done
	# a random moment between 1.5 and 4 s into the load
	sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 1.5 + rand() * 2.5 }')"
	pm=$(head -n 1 "$AG_DATA/postmaster.pid")
	children=$(ps -o pid= --ppid "$pm")
	kill -9 "$pm"
	kill -9 $children 2>/dev/null
	for p in "${pids[@]}"; do wait "$p"; done
	# a postmaster nobody reaps stays a zombie holding postmaster.pid
	for _ in $(seq 50); do
		state=$(awk '{print $3}' "/proc/$pm/stat" 2>/dev/null)
		[ -z "$state" ] || [ "$state" = Z ] && break
		sleep 0.1
	done
	[ "$(awk '{print $3}' "/proc/$pm/stat" 2>/dev/null)" = Z ] &&
		rm -f "$AG_DATA/postmaster.pid" "$AG_SOCK"/.s.PGSQL.*.lock
	ag_cluster_ctl start

	pulls=$(grep -c '^pull ' "$log")
	ingests=$(grep -c '^ingest ' "$log")
	values=$(grep -c '^crypto ' "$log")
	total_pulls=$((total_pulls + pulls))
	total_ingests=$((total_ingests + ingests))
	total_values=$((total_values + values))
	check "round $round: the clients worked before the kill ($pulls pulls, $ingests ingests, $values values)" \
		"$([ "$pulls" -gt 5 ] && [ "$ingests" -gt 0 ] && [ "$values" -gt 0 ] && echo yes)" yes

	psql -X -q -d crash -c 'SELECT ai_guard.audit_flush()' >/dev/null
	# 1. every pull that delivered a row has its record
	psql -X -At -d crash -c "SELECT substring(query from '/\* (r[0-9]+-p[0-9]+-[0-9]+) \*/') FROM ai_guard.pulls WHERE query LIKE '%/* r$round-p%'" |
		sort -u >"$AG_TMP/recorded"
	missing=$(grep '^pull ' "$log" | cut -d' ' -f2 | sort -u | comm -23 - "$AG_TMP/recorded" | head -n 5 | tr '\n' ' ')
	check "round $round: every pull whose rows reached a client has a record" "${missing:-none}" none
	# 2. the chain
	check "round $round: verify_audit() is intact" \
		"$(psql -X -At -d crash -c 'SELECT intact FROM ai_guard.verify_audit()')" t
	# 3. ingests: durable, tagged, verifying
	missing=$(grep '^ingest ' "$log" | while read -r _ lo hi; do echo "$lo $hi"; done |
		psql -X -At -d crash -c "CREATE TEMP TABLE want (lo bigint, hi bigint)" \
			-c "COPY want FROM STDIN WITH (DELIMITER ' ')" \
			-c "SET ai_guard.purpose = 'training:crash-check'" \
			-c "SELECT count(*) FROM want w WHERE (SELECT count(*) FROM public.ev e WHERE e.id BETWEEN w.lo AND w.hi) <> w.hi - w.lo + 1" 2>&1 | tail -n 1)
	check "round $round: every committed ingest is complete" "$missing" 0
	untagged=$(PGOPTIONS='-c ai_guard.purpose=training:crash-check' psql -X -At -d crash -c \
		"SELECT count(*) FROM public.ev WHERE ai_guard_row_id IS NULL OR ai_guard_batch IS NULL OR ai_guard_digest IS NULL")
	check "round $round: no row of the tracked table lacks its provenance tags" "$untagged" 0
	check "round $round: verify_rows() reports nothing" \
		"$(psql -X -At -d crash -c "SELECT count(*) FROM ai_guard.verify_rows('public.ev')")" 0
	check "round $round: no ingest batch is left open with rows of an uncommitted ingest" \
		"$(PGOPTIONS='-c ai_guard.purpose=training:crash-check' psql -X -At -d crash -c \
			"SELECT count(*) FROM public.ev e LEFT JOIN ai_guard.batches b ON b.batch_id = e.ai_guard_batch WHERE b.batch_id IS NULL")" 0
	# 4. every encrypted value decrypts, every committed one is there
	check "round $round: every encrypt() value still decrypts to what was written" \
		"$(psql -X -At -d crash -c "SELECT count(*) FILTER (WHERE ai_guard.decrypt_text(v, 'crash') IS DISTINCT FROM plain) FROM public.secrets")" 0
	check "round $round: every encrypt_column() value still decrypts to what was written" \
		"$(psql -X -At -d crash -c "SELECT count(*) FILTER (WHERE ai_guard.decrypt_text(v::bytea, 'public.enc.v') IS DISTINCT FROM plain) FROM public.enc")" 0
	lost=$(grep '^crypto ' "$log" | while read -r _ tbl id; do echo "$tbl $id"; done |
		psql -X -At -d crash -c "CREATE TEMP TABLE want (tbl text, id bigint)" \
			-c "COPY want FROM STDIN WITH (DELIMITER ' ')" \
			-c "SELECT count(*) FROM want w WHERE NOT EXISTS (SELECT 1 FROM public.secrets s WHERE w.tbl = 'secrets' AND s.id = w.id) AND NOT EXISTS (SELECT 1 FROM public.enc s WHERE w.tbl = 'enc' AND s.id = w.id)" 2>&1 | tail -n 1)
	check "round $round: every committed encrypted value is there" "$lost" 0
	# 5. the server works on
	out=$(PGOPTIONS='-c ai_guard.purpose=training:after' psql -X -At -d crash -c 'SELECT count(*) FROM public.t' \
		-c 'SELECT ai_guard.audit_flush()' -c "SELECT status FROM ai_guard.pulls WHERE pull_id = ai_guard.last_pull_id()")
	check "round $round: a governed read after the restart is recorded" "$(echo "$out" | tr '\n' ' ')" "3000  completed "
done
versions=$(psql -X -At -d crash -c "SELECT string_agg(name || ' v' || current_version, ', ' ORDER BY name) FROM ai_guard.keys")
secs=$(($(date +%s) - started))
echo "# crash rounds: $ROUNDS rounds in ${secs}s; before the kills clients got the first rows of $total_pulls pulls, committed $total_ingests ingests and $total_values encrypted values; keys at $versions"
if [ -s "$AG_TMP/workers.err" ]; then sed 's/^/# worker: /' "$AG_TMP/workers.err" | head -n 10; fi
echo "1..$n"
exit $fail
