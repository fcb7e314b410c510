#!/usr/bin/env bash
# bench/preload/callgrind.sh: instructions per ordinary query with and
# without ai_guard preloaded, counted by callgrind (repeatable where wall
# times on 2 noisy cores are not).
#
#   sudo bash bench/preload/callgrind.sh
#
# A single-user backend runs N point lookups on pgbench_accounts (not
# governed) in a database where ai_guard is installed and another table is
# governed, so every query takes the hooks' full path for non-governed
# reads. Runs N = 5,000 and 20,000 and divides the difference by 15,000, so
# start-up costs (loading the library, OpenSSL, shared memory) cancel out.

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd "$AG_TOP"

ag_ensure_packages valgrind
ag_build_install
ag_cluster_start preload
createdb cg
psql -X -q -d cg -o /dev/null -c 'CREATE EXTENSION ai_guard' \
	-c 'CREATE TABLE governed AS SELECT 1 AS x' -c "SELECT ai_guard.govern('governed')"
pgbench -i -q -s 1 cg >/dev/null 2>&1
ag_cluster_ctl stop

declare -A ir
for n in 5000 20000; do
	awk -v n=$n 'BEGIN { srand(1); for (i = 0; i < n; i++)
		printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", 1 + int(rand() * 100000) }' \
		>"$AG_TMP/q$n.sql"
	chmod 644 "$AG_TMP/q$n.sql"
	for libs in "" ai_guard; do
		log=$AG_TMP/cg.$n.${libs:-none}
		ag_as_pg valgrind --tool=callgrind --callgrind-out-file="$log.out" \
			"$AG_BINDIR/postgres" --single -D "$AG_DATA" \
			-c shared_preload_libraries="$libs" cg <"$AG_TMP/q$n.sql" >/dev/null 2>"$log.err"
		ir[$n.${libs:-none}]=$(sed -n 's/.*Collected : //p' "$log.err")
	done
done
awk -v a5="${ir[5000.none]}" -v a20="${ir[20000.none]}" \
	-v b5="${ir[5000.ai_guard]}" -v b20="${ir[20000.ai_guard]}" 'BEGIN {
	base = (a20 - a5) / 15000; pre = (b20 - b5) / 15000
	printf "instructions per query: without ai_guard %.0f, with %.0f: %+.0f (%+.2f%%)\n",
		base, pre, pre - base, 100 * (pre - base) / base
}'
