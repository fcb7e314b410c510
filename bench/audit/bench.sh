# bench/audit: the cost of the training-pull audit, side by side with pgaudit
# (Debian's postgresql-15-pgaudit, object audit of the same table), on three
# workloads chosen with AG_AUDIT_WORKLOAD:
#
#   select  pgbench -S -M prepared, 4 clients, on pgbench's own (never
#           governed) tables: library not preloaded (baseline) / ai_guard
#           preloaded with a governed table in the database / pgaudit
#   point   point lookups by primary key on demo.customers, 8 clients, 1,000
#           transactions each: an ungoverned copy of the table with ai_guard
#           preloaded (baseline) / the governed table, purpose set, every
#           lookup a synchronously recorded pull / pgaudit object audit
#   hook    one backend running 500,000 primary-key lookups on pgbench's
#           accounts from PL/pgSQL (each one an executor start and end
#           through the hooks, no network, no parsing): library not
#           preloaded (baseline) / ai_guard preloaded with a governed table
#           elsewhere in the database; the backend's CPU time is also
#           appended to $AG_TMP/../hook_cpu.txt (in clock ticks)
#   copy    COPY (SELECT * FROM demo.customers) TO STDOUT of 1,000,000 rows:
#           ungoverned copy (baseline) / governed (digest of every byte) /
#           pgaudit object audit
#
#   sudo AG_AUDIT_WORKLOAD=select bash bench/run.sh audit 7
#   sudo AG_AUDIT_WORKLOAD=point  bash bench/run.sh audit 5
#   sudo AG_AUDIT_WORKLOAD=copy   bash bench/run.sh audit 5
#   sudo AG_AUDIT_WORKLOAD=hook   bash bench/run.sh audit 7
#
# Wall times at a fixed amount of work: a time ratio is the inverse of the
# TPS ratio, and at a fixed client count the mean-latency ratio.

AUDIT_WORKLOAD=${AG_AUDIT_WORKLOAD:-select}
case "$AUDIT_WORKLOAD" in
	select) BENCH_VARIANTS=(sel_no_preload sel_ai_guard sel_pgaudit) ;;
	point) BENCH_VARIANTS=(pt_ungoverned pt_governed pt_pgaudit) ;;
	copy) BENCH_VARIANTS=(cp_ungoverned cp_governed cp_pgaudit) ;;
	hook) BENCH_VARIANTS=(hook_no_preload hook_ai_guard) ;;
	*) ag_die "AG_AUDIT_WORKLOAD must be select, point or copy" ;;
esac
BENCH_PRELOAD=preload
AUDIT_LIBS=unset

# audit_libs LIBS: restart with these preloaded (only if they change)
audit_libs() {
	[ "$AUDIT_LIBS" = "$1" ] && return 0
	sed -i '/^shared_preload_libraries/d' "$AG_DATA/postgresql.conf"
	echo "shared_preload_libraries = '$1'" >>"$AG_DATA/postgresql.conf"
	ag_cluster_ctl restart
	AUDIT_LIBS=$1
}

bench_setup() {
	ag_ensure_packages postgresql-15-pgaudit
	cat >>"$AG_DATA/postgresql.conf" <<CONF
pgaudit.log = 'none'
pgaudit.role = 'auditor'
pgaudit.log_relation = on
ai_guard.audit_writer_idle_exit = 3600
CONF
	audit_libs 'ai_guard,pgaudit'
	psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION ai_guard' -c 'CREATE EXTENSION pgaudit'
	if [ "$AUDIT_WORKLOAD" = select ] || [ "$AUDIT_WORKLOAD" = hook ]; then
		pgbench -i -q -s 10 >/dev/null 2>&1
		psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE TABLE governed_elsewhere (id int)' \
			-c "SELECT ai_guard.govern('governed_elsewhere')" >/dev/null
	else
		if [ "$AUDIT_WORKLOAD" = copy ]; then ag_load_demo_data 1000000; else ag_load_demo_data 100000; fi
		psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE demo.customers_plain (LIKE demo.customers INCLUDING ALL);
INSERT INTO demo.customers_plain SELECT * FROM demo.customers;
VACUUM ANALYZE demo.customers_plain, demo.customers;
SELECT ai_guard.govern('demo.customers');
SELECT ai_guard.grant_purpose('postgres', 'benchmark');
CREATE ROLE auditor;
GRANT SELECT ON demo.customers TO auditor;
SQL
		n=$(psql -X -At -c 'SELECT count(*) FROM demo.customers_plain')
		printf '\\set id random(1, %d)\nSELECT * FROM demo.customers WHERE customer_id = :id;\n' "$n" \
			>"$AG_TMP/point_governed.sql"
		printf '\\set id random(1, %d)\nSELECT * FROM demo.customers_plain WHERE customer_id = :id;\n' "$n" \
			>"$AG_TMP/point_plain.sql"
	fi
}

bench_prepare_sel_no_preload() { audit_libs ''; }
bench_prepare_sel_ai_guard() { audit_libs 'ai_guard'; }
bench_prepare_sel_pgaudit() { audit_libs 'pgaudit'; }
select_only() { pgbench -n -S -M prepared -c 4 -j 2 -t 20000; }
bench_run_sel_no_preload() { select_only; }
bench_run_sel_ai_guard() { select_only; }
bench_run_sel_pgaudit() { select_only; }

bench_prepare_hook_no_preload() { audit_libs ''; }
bench_prepare_hook_ai_guard() { audit_libs 'ai_guard'; }
# 500,000 executor runs in one backend; prints the backend's CPU ticks
hook_loop() {
	local ticks
	ticks=$(psql -X -At <<'SQL'
DO $$
DECLARE b int;
BEGIN
	FOR i IN 1..500000 LOOP
		SELECT abalance INTO b FROM pgbench_accounts WHERE aid = 1 + i % 1000000;
	END LOOP;
END $$;
SELECT (string_to_array(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' '))[14]::int
     + (string_to_array(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' '))[15]::int;
SQL
)
	echo "$1 $(echo "$ticks" | tail -n 1)" >>"$AG_TMP/../hook_cpu.txt"
}
bench_run_hook_no_preload() { hook_loop no_preload; }
bench_run_hook_ai_guard() { hook_loop ai_guard; }

bench_prepare_pt_ungoverned() { audit_libs 'ai_guard'; }
bench_prepare_pt_governed() { audit_libs 'ai_guard'; }
bench_prepare_pt_pgaudit() { audit_libs 'pgaudit'; }
point() { pgbench -n -M prepared -c 8 -j 2 -t 1000 -f "$AG_TMP/$1.sql"; }
bench_run_pt_ungoverned() { point point_plain; }
bench_run_pt_governed() { PGOPTIONS='-c ai_guard.purpose=benchmark:point' point point_governed; }
bench_run_pt_pgaudit() { point point_governed; }

bench_prepare_cp_ungoverned() { audit_libs 'ai_guard'; }
bench_prepare_cp_governed() { audit_libs 'ai_guard'; }
bench_prepare_cp_pgaudit() { audit_libs 'pgaudit'; }
copy_out() { psql -X -q -c "COPY (SELECT * FROM $1) TO STDOUT" >/dev/null; }
bench_run_cp_ungoverned() { copy_out demo.customers_plain; }
bench_run_cp_governed() { PGOPTIONS='-c ai_guard.purpose=benchmark:copy' copy_out demo.customers; }
bench_run_cp_pgaudit() { copy_out demo.customers; }
