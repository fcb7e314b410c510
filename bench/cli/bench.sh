# bench/cli: pulling 1,000,000 governed rows to a file with `ai-guard pull`
# (COPY, SHA-256 of every byte, fsync, rename, manifest with the server's
# record) vs `psql -c "\copy (...) to FILE"`, the way a user would do it
# without the client. Both read the same governed table under a purpose, so
# both are audited pulls; the difference is the client's own work.

BENCH_VARIANTS=(psql_copy ai_guard_pull)

bench_setup() {
	ag_load_demo_data 1000000 42 >/dev/null
	psql -X -q -o /dev/null -c 'CREATE EXTENSION ai_guard' \
		-c "SELECT ai_guard.govern('demo.customers')" \
		-c "SELECT ai_guard.grant_purpose('postgres', 'training')"
	export PGOPTIONS='-c ai_guard.purpose=training:bench'
	BENCH_Q='SELECT * FROM demo.customers'
}

bench_prepare_psql_copy() { rm -f "$AG_TMP/psql.copy"; }
bench_prepare_ai_guard_pull() { rm -f "$AG_TMP/cli.copy" "$AG_TMP/cli.copy.manifest.json"; }

bench_run_psql_copy() {
	psql -X -q -c "\\copy ($BENCH_Q) to '$AG_TMP/psql.copy'"
}

bench_run_ai_guard_pull() {
	"$AG_BINDIR/ai-guard" pull --purpose training:bench -o "$AG_TMP/cli.copy" "$BENCH_Q"
}
