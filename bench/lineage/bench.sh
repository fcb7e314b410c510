# bench/lineage: the cost of row membership, and the speed of impact queries,
# each against the alternative, chosen with AG_LINEAGE_WORKLOAD:
#
#   copy    COPY (SELECT * FROM demo.customers) TO STDOUT of 1,000,000 rows
#           of a tracked table: audited with ai_guard.row_membership = off
#           (baseline) / audited with row membership recorded
#   select  the same rows through psql's cursor (FETCH_COUNT=10000), the
#           path of a SELECT that pandas or psql streams: membership off
#           (baseline) / on
#   impact  which of 10,000 recorded pulls (100 rows each: half a range of
#           customers, half scattered at random) contained any of 10 given rows, 20 questions per run:
#           a plain table of (pull, row id) pairs with a B-tree index, what
#           one would build instead (baseline) / ai_guard.erasure_impact()
#           over pull_members
#
#   sudo AG_LINEAGE_WORKLOAD=copy   bash bench/run.sh lineage 5
#   sudo AG_LINEAGE_WORKLOAD=select bash bench/run.sh lineage 5
#   sudo AG_LINEAGE_WORKLOAD=impact bash bench/run.sh lineage 5
#
# The set-up prints the storage figures (bytes per row id) to stderr.

LINEAGE_WORKLOAD=${AG_LINEAGE_WORKLOAD:-copy}
case "$LINEAGE_WORKLOAD" in
	copy) BENCH_VARIANTS=(cp_membership_off cp_membership_on) ;;
	select) BENCH_VARIANTS=(sel_membership_off sel_membership_on) ;;
	impact) BENCH_VARIANTS=(impact_plain_table impact_erasure_impact) ;;
	*) ag_die "AG_LINEAGE_WORKLOAD must be copy, select or impact" ;;
esac

bench_setup() {
	echo "ai_guard.audit_writer_idle_exit = 3600" >>"$AG_DATA/postgresql.conf"
	ag_cluster_ctl restart
	psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION ai_guard'
	ag_load_demo_data 1000000
	psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT ai_guard.track('demo.customers');
VACUUM ANALYZE demo.customers;
SELECT ai_guard.grant_purpose('postgres', 'benchmark');
SQL
	if [ "$LINEAGE_WORKLOAD" = impact ]; then
		# 10,000 pulls: 100 consecutive customers, or 100 scattered ones
		cat >"$AG_TMP/pull.sql" <<'PULL'
\set a random(1, 999900)
SELECT count(*) FROM demo.customers WHERE customer_id BETWEEN :a AND :a + 99;
SELECT count(*) FROM demo.customers WHERE customer_id IN
  (SELECT (random() * 999999)::int + 1 FROM generate_series(1, 100));
PULL
		PGOPTIONS='-c ai_guard.purpose=benchmark:pulls' \
			pgbench -n -c 4 -j 2 -t 1250 -f "$AG_TMP/pull.sql" >/dev/null
		psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT ai_guard.audit_flush();
CREATE TABLE pull_rows_plain AS
SELECT pull_id, relation, ai_guard.rowset_ids(row_ids) AS row_id FROM ai_guard.pull_members;
CREATE INDEX ON pull_rows_plain (relation, row_id);
VACUUM ANALYZE pull_rows_plain;
SQL
		psql -X -At -F ' ' >&2 <<'SQL'
SELECT 'pulls with membership:', count(DISTINCT pull_id) FROM ai_guard.pull_members;
SELECT 'row ids recorded:', sum(row_count) FROM ai_guard.pull_members;
SELECT 'pull_members bytes per row id (row_ids column):',
       round(sum(length(row_ids))::numeric / sum(row_count), 3) FROM ai_guard.pull_members;
SELECT 'pull_members bytes per row id (table + indexes):',
       round(pg_total_relation_size('ai_guard.pull_members')::numeric
             / (SELECT sum(row_count) FROM ai_guard.pull_members), 3);
SELECT 'plain table bytes per row id (table + index):',
       round(pg_total_relation_size('pull_rows_plain')::numeric
             / (SELECT count(*) FROM pull_rows_plain), 3);
SQL
		# the questions: 10 row ids each, 5 that some pull delivered and 5
		# at random (read from the plain table: reading demo.customers here
		# would be one more pull)
		psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE questions AS
SELECT q, ARRAY(SELECT row_id FROM pull_rows_plain WHERE q > 0 ORDER BY random() LIMIT 5)
          || ARRAY(SELECT (random() * 1000000)::int8 + 1 + q * 0 FROM generate_series(1, 5)) AS ids
  FROM generate_series(1, 20) q;
SQL
		psql -X -At -o "$AG_TMP/q_plain.sql" -c "SELECT format('SELECT count(DISTINCT pull_id) FROM pull_rows_plain WHERE relation = %L AND row_id = ANY (%L);', 'demo.customers', ids) FROM questions ORDER BY q"
		psql -X -At -o "$AG_TMP/q_impact.sql" -c "SELECT format('SELECT count(DISTINCT pull_id) FILTER (WHERE membership = ''exact'') FROM ai_guard.erasure_impact(%L, %L);', 'demo.customers', ids) FROM questions ORDER BY q"
		# the same answers both ways
		diff <(psql -X -At -f "$AG_TMP/q_plain.sql") <(psql -X -At -f "$AG_TMP/q_impact.sql") >&2 ||
			ag_die "erasure_impact and the plain table disagree"
	fi
}

membership() { psql -X -q -c "ALTER SYSTEM SET ai_guard.row_membership = $1" -c 'SELECT pg_reload_conf()' >/dev/null; }
bench_prepare_cp_membership_off() { membership off; }
bench_prepare_cp_membership_on() { membership on; }
bench_prepare_sel_membership_off() { membership off; }
bench_prepare_sel_membership_on() { membership on; }
copy_out() { PGOPTIONS='-c ai_guard.purpose=benchmark:copy' psql -X -q -c "COPY (SELECT * FROM demo.customers) TO STDOUT" >/dev/null; }
select_out() { PGOPTIONS='-c ai_guard.purpose=benchmark:select' psql -X -q -v FETCH_COUNT=10000 -c "SELECT * FROM demo.customers" >/dev/null; }
bench_run_cp_membership_off() { copy_out; }
bench_run_cp_membership_on() { copy_out; }
bench_run_sel_membership_off() { select_out; }
bench_run_sel_membership_on() { select_out; }
bench_run_impact_plain_table() { psql -X -q -f "$AG_TMP/q_plain.sql" >/dev/null; }
bench_run_impact_erasure_impact() { psql -X -q -f "$AG_TMP/q_impact.sql" >/dev/null; }
