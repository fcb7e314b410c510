#!/usr/bin/env bash
# Crash test: the postmaster and all its processes are killed with SIGKILL
# while 6 clients pull governed rows; after restart (crash recovery), every
# pull whose first row reached a client has its record, and the chain
# verifies. Runs a cluster of its own. Prints TAP.
source "$AG_TOP/scripts/lib.sh"
set +e
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
py=python3
if ! "$py" -c 'import psycopg2' 2>/dev/null; then py=/usr/bin/python3; fi

ag_cluster_start preload >/dev/null 2>&1
createdb crash
psql -X -q -d crash -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE EXTENSION ai_guard;
CREATE TABLE t AS SELECT i AS id, md5(i::text) AS v FROM generate_series(1, 2000) i;
SELECT ai_guard.govern('t');
SELECT ai_guard.grant_purpose('postgres', 'training');
SQL

log=$AG_TMP/first_rows.log
: >"$log"
chmod 666 "$log"
pids=()
for w in 1 2 3 4 5 6; do
	"$py" "$AG_TOP/test/scripts/py/crash_worker.py" "$w" "$log" &
	pids+=($!)
done
sleep 3

pm=$(head -n 1 "$AG_DATA/postmaster.pid")
children=$(ps -o pid= --ppid "$pm")
kill -9 "$pm" $children 2>/dev/null
for p in "${pids[@]}"; do wait "$p"; done
seen=$(sort -u "$log" | wc -l)
check "clients received first rows before the crash" "$([ "$seen" -gt 20 ] && echo yes || echo "only $seen")" yes

# a postmaster killed here may stay a zombie if nothing reaps it (containers
# whose init does not): then its stale postmaster.pid is removed by hand
for _ in $(seq 50); do
	state=$(awk '{print $3}' "/proc/$pm/stat" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ] && break
	sleep 0.1
done
[ "$(awk '{print $3}' "/proc/$pm/stat" 2>/dev/null)" = Z ] && rm -f "$AG_DATA/postmaster.pid" "$AG_SOCK"/.s.PGSQL.*.lock
ag_cluster_ctl start
psql -X -q -d crash -c 'SELECT ai_guard.audit_flush()' >/dev/null
recorded=$(psql -X -At -d crash -c "SELECT substring(query from '/\* (w[0-9]+-[0-9]+) \*/') FROM ai_guard.pulls WHERE purpose = 'training:crash'" | sort -u)
missing=$(comm -23 <(sort -u "$log") <(echo "$recorded"))
check "every pull whose first row reached a client has a record ($seen pulls)" "${missing:-none}" none
check "the chain verifies after crash recovery" \
	"$(psql -X -At -d crash -c 'SELECT intact FROM ai_guard.verify_audit()')" t
check "records still 'started' are only the pulls cut by the crash (at most 6)" \
	"$(psql -X -At -d crash -c "SELECT count(*) <= 6 FROM ai_guard.pulls WHERE status = 'started'")" t
# the cluster works on after the crash
out=$(PGOPTIONS='-c ai_guard.purpose=training:after' psql -X -At -d crash -c 'SELECT count(*) FROM t' -c 'SELECT ai_guard.audit_flush()' -c "SELECT status FROM ai_guard.pulls WHERE pull_id = ai_guard.last_pull_id()")
check "governed reads are recorded after restart" "$(echo "$out" | tr '\n' ' ')" "2000  completed "
echo "1..$n"
exit $fail
