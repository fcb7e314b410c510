#!/usr/bin/env bash
# bench/evidence/callgrind.sh: instructions the audit writer executes for N
# governed point lookups, keyed (0.3) against unkeyed (the same library on a
# 0.2 database), counted by valgrind's callgrind: wall times of the point
# workload are noisier than the MACs' cost (bench/evidence/bench.sh).
#
#   sudo bash bench/evidence/callgrind.sh [N]     (default 1000, ~2 minutes)
#
# Runs the whole throwaway cluster under callgrind (every process traced),
# makes N pulls in each database, stops the cluster (the writers write their
# counts as they exit) and prints each writer's total and the ratio.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
n=${1:-1000}
ag_ensure_packages valgrind
ag_build_install
ag_cluster_start
ag_cluster_ctl stop
echo "ai_guard.audit_writer_idle_exit = 3600" >>"$AG_DATA/postgresql.conf"
echo "ai_guard.audit_timeout = 600000" >>"$AG_DATA/postgresql.conf"
CG=$AG_TMP/callgrind
mkdir -p "$CG"
ag_is_root && chown postgres "$CG"
ag_say "starting the cluster under callgrind"
ag_as_pg bash -c "valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=$CG/cg.%p \
	$AG_BINDIR/postgres -D $AG_DATA >$AG_TMP/server.log 2>&1 &"
for _ in $(seq 1 120); do psql -X -q -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done

printf '\\set id random(1, 10000)\nSELECT * FROM items WHERE id = :id;\n' >"$AG_TMP/point.sql"
declare -A writer
for v in 0.2 0.3; do
	db=cg_${v/./}
	createdb "$db"
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
CREATE EXTENSION ai_guard VERSION '$v';
CREATE TABLE items AS SELECT g AS id, 'user' || g || '@example.com' AS email FROM generate_series(1, 10000) g;
ALTER TABLE items ADD PRIMARY KEY (id);
SELECT ai_guard.govern('items');
SELECT ai_guard.grant_purpose('postgres', 'benchmark');
SQL
	PGOPTIONS='-c ai_guard.purpose=benchmark:cg' pgbench -n -M prepared -c 4 -j 2 \
		-t $((n / 4)) -f "$AG_TMP/point.sql" "$db" >/dev/null
	writer[$v]=$(psql -X -At -d "$db" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ai_guard audit writer' AND datname = '$db'")
	echo "$v: $(psql -X -At -d "$db" -c 'SELECT count(*) FROM ai_guard.pulls') pulls, $(psql -X -At -d "$db" -c 'SELECT count(*) FROM ai_guard.audit_log') chain entries" >&2
done
ag_as_pg "$AG_BINDIR/pg_ctl" -D "$AG_DATA" -m fast -w -t 300 stop >/dev/null
sleep 2
total() { sed -n 's/^totals: //p' "$CG/cg.$1" | head -n 1; }
unkeyed=$(total "${writer[0.2]}")
keyed=$(total "${writer[0.3]}")
echo "audit writer instructions for $n pulls: unkeyed (0.2) $unkeyed, keyed (0.3) $keyed"
echo "ratio $(awk -v a="$keyed" -v b="$unkeyed" 'BEGIN { printf "%.3f", a / b }'), $(( (keyed - unkeyed) / n )) more per pull"
