# bench/evidence: what the keyed audit chain costs (docs/audit.md, "Evidence
# that survives the DBA"), on two workloads chosen with AG_EVIDENCE_WORKLOAD:
#
#   point   governed point lookups by primary key, 8 clients, 1,000 each,
#           every one a synchronously recorded pull (two chain entries):
#           "unkeyed" is the same library on a database whose extension is
#           still 0.2 (the writer appends hash-only entries), "keyed" is 0.3
#           (each entry also gets its HMAC, under the epoch's key)
#   verify  verify_audit() of a chain of 1,000,000 entries: "unkeyed" checks
#           it the way 0.3 did before the chain was keyed (hashes and links,
#           bench/evidence/unkeyed_verify.sql), "keyed" is verify_audit(),
#           which also checks every entry's MAC
#
#   sudo AG_EVIDENCE_WORKLOAD=point  bash bench/run.sh evidence 7
#   sudo AG_EVIDENCE_WORKLOAD=verify bash bench/run.sh evidence 5

EVIDENCE_WORKLOAD=${AG_EVIDENCE_WORKLOAD:-point}
case "$EVIDENCE_WORKLOAD" in
	point) BENCH_VARIANTS=(pt_unkeyed pt_keyed) ;;
	verify) BENCH_VARIANTS=(vf_unkeyed vf_keyed) ;;
	*) ag_die "AG_EVIDENCE_WORKLOAD must be point or verify" ;;
esac
EVIDENCE_ENTRIES=${AG_EVIDENCE_ENTRIES:-1000000}

evidence_point_db() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<SQL
CREATE EXTENSION ai_guard VERSION '$2';
CREATE TABLE public.items (id int PRIMARY KEY, email text, city text);
INSERT INTO public.items SELECT g, 'user' || g || '@example.com', 'city' || (g % 100)
  FROM generate_series(1, 100000) g;
VACUUM ANALYZE public.items;
SELECT ai_guard.govern('public.items');
SELECT ai_guard.grant_purpose('postgres', 'benchmark');
SQL
}

bench_setup() {
	echo "ai_guard.audit_writer_idle_exit = 3600" >>"$AG_DATA/postgresql.conf"
	ag_cluster_ctl restart
	if [ "$EVIDENCE_WORKLOAD" = point ]; then
		createdb ai_guard_bench_v02
		evidence_point_db ai_guard_bench 0.3
		evidence_point_db ai_guard_bench_v02 0.2
		printf '\\set id random(1, 100000)\nSELECT * FROM public.items WHERE id = :id;\n' >"$AG_TMP/point.sql"
		: >"$AG_TMP/../writer_ns.txt"
		# warm up: both writers running before the first timed run
		for db in ai_guard_bench ai_guard_bench_v02; do
			PGOPTIONS='-c ai_guard.purpose=benchmark:point' pgbench -n -c 2 -t 100 -f "$AG_TMP/point.sql" $db >/dev/null
		done
		return
	fi
	# a chain of EVIDENCE_ENTRIES entries: changes of governance (grants of
	# purposes), written by 8 sessions so the writer batches them; fsync is
	# off while it is built (verify only reads)
	psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION ai_guard' \
		-c 'CREATE SEQUENCE public.grant_seq' -f "$BENCH_DIR/unkeyed_verify.sql" >/dev/null
	psql -X -q -c 'ALTER SYSTEM SET fsync = off' -c 'SELECT pg_reload_conf()' >/dev/null
	printf "INSERT INTO ai_guard.purpose_grants (role, purpose) SELECT 'postgres', 'p' || nextval('public.grant_seq') FROM generate_series(1, 100);\n" \
		>"$AG_TMP/grants.sql"
	pgbench -n -c 8 -j 2 -t $((EVIDENCE_ENTRIES / 800)) -f "$AG_TMP/grants.sql" >/dev/null
	psql -X -q -c 'SELECT ai_guard.audit_flush()' -c 'ALTER SYSTEM RESET fsync' \
		-c 'SELECT pg_reload_conf()' -c 'VACUUM ANALYZE ai_guard.audit_log' \
		-c 'VACUUM ANALYZE ai_guard.governance_log' >/dev/null
	echo "chain entries: $(psql -X -At -c 'SELECT count(*) FROM ai_guard.audit_log')" >&2
	echo "keyed verify:   $(psql -X -At -c 'SELECT intact, records FROM ai_guard.verify_audit()')" >&2
	echo "unkeyed verify: $(psql -X -At -c 'SELECT intact, records FROM public.unkeyed_verify_audit()')" >&2
}

# the audit writer's CPU time (ns, /proc/PID/schedstat) during a run, where
# the MACs are computed, appended to $AG_TMP/../writer_ns.txt: a finer
# figure than the noisy wall time
writer_ns() {
	local pid
	pid=$(psql -X -At -d "$1" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ai_guard audit writer' AND datname = '$1'")
	[ -n "$pid" ] && cut -d' ' -f1 "/proc/$pid/schedstat" || echo 0
}
point() {
	local before after
	before=$(writer_ns "$1")
	PGOPTIONS='-c ai_guard.purpose=benchmark:point' pgbench -n -M prepared -c 8 -j 2 -t 1000 -f "$AG_TMP/point.sql" "$1"
	after=$(writer_ns "$1")
	if [ "$before" != 0 ]; then echo "$1 $((after - before))" >>"$AG_TMP/../writer_ns.txt"; fi
}
bench_run_pt_unkeyed() { point ai_guard_bench_v02; }
bench_run_pt_keyed() { point ai_guard_bench; }

bench_run_vf_unkeyed() { psql -X -q -v ON_ERROR_STOP=1 -c 'SELECT intact FROM public.unkeyed_verify_audit()'; }
bench_run_vf_keyed() { psql -X -q -v ON_ERROR_STOP=1 -c 'SELECT intact FROM ai_guard.verify_audit()'; }
