# bench/preload: the cost of having ai_guard in shared_preload_libraries for
# queries that touch no governed data (pgbench select-only on its own
# tables). The baseline is the same server without the library.

BENCH_VARIANTS=(no_preload preload)
BENCH_PRELOAD=nopreload

bench_setup() {
	pgbench -i -q -s 10 >/dev/null 2>&1
}

bench_prepare_no_preload() {
	ag_cluster_set_preload nopreload
	ag_cluster_ctl restart
}

bench_prepare_preload() {
	ag_cluster_set_preload preload
	ag_cluster_ctl restart
}

bench_workload() {
	pgbench -n -S -M prepared -c 4 -j 2 -t 20000
}

bench_run_no_preload() { bench_workload; }
bench_run_preload() { bench_workload; }
