# bench/models: latency of ai_guard.lineage() and ai_guard.openlineage_event()
# on a database with about 10,000 recorded pulls.
#
#   sudo bash bench/run.sh models [REPEAT]
#
# Set-up (untimed): a tracked table (12 ingest batches from 4 sources, 1,200
# rows) with a masked view; a data-scientist role makes BENCH_PULLS governed
# reads of the masked view (pgbench, 4 clients, each a real recorded pull);
# two models are registered, from 10 and from 100 of those pulls.
# Every variant makes BENCH_CALLS calls in one session (a PL/pgSQL loop), so
# a variant's time divided by BENCH_CALLS is the latency of one call:
#   pull_record        ai_guard.pull(id): one pull record (the baseline)
#   lineage_10_pulls   lineage() of the model trained on 10 pulls
#   lineage_100_pulls  lineage() of the model trained on 100 pulls
#   openlineage_event  openlineage_event() of BENCH_CALLS different pulls
# Without recorded row membership (pull_relations empty) lineage takes the
# fallback path (relation_batches), which is the more expensive one.

BENCH_VARIANTS=(pull_record lineage_10_pulls lineage_100_pulls openlineage_event)
BENCH_PULLS=${BENCH_PULLS:-10000}
BENCH_CALLS=${BENCH_CALLS:-100}

bench_setup() {
	psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION ai_guard;
CREATE SCHEMA bench;
CREATE TABLE bench.customers (customer_id bigint PRIMARY KEY, email text, country text,
	birth_date date, score int);
SELECT ai_guard.track('bench.customers');
DO \$\$
BEGIN
	FOR b IN 0..11 LOOP
		PERFORM ai_guard.begin_ingest('source_' || b % 4, 'license-' || b % 3,
		                              CASE WHEN b % 2 = 0 THEN '{training}' ELSE '{training,analytics}' END::text[]);
		INSERT INTO bench.customers
		SELECT g, 'user' || g || '@example.com', (ARRAY['DE','FR','US','NL'])[1 + g % 4],
		       date '1970-01-01' + (g * 37) % 15000, g % 100
		  FROM generate_series(b * 100 + 1, b * 100 + 100) g;
		PERFORM ai_guard.end_ingest();
	END LOOP;
END \$\$;
SECURITY LABEL FOR ai_guard ON COLUMN bench.customers.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN bench.customers.country IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN bench.customers.score IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN bench.customers.email IS 'pii:email mask=mask_email()';
SECURITY LABEL FOR ai_guard ON COLUMN bench.customers.birth_date IS 'pii:birth_date mask=generalize(''decade'')';
CREATE SCHEMA bench_masked;
SELECT ai_guard.create_masked_view('bench.customers', 'bench_masked');
CREATE ROLE bench_ds LOGIN;
GRANT USAGE ON SCHEMA bench_masked TO bench_ds;
SELECT ai_guard.grant_masked_access('bench_ds');
SELECT ai_guard.grant_purpose('bench_ds', 'training');
SQL
	echo "SELECT customer_id, email, country, birth_date FROM bench_masked.customers WHERE score < 5;" \
		>"$AG_TMP/pull.sql"
	PGOPTIONS='-c ai_guard.purpose=training:bench' "$AG_BINDIR/pgbench" -n -U bench_ds \
		-c 4 -j 2 -t $((BENCH_PULLS / 4)) -f "$AG_TMP/pull.sql" >"$AG_TMP/pgbench.log" 2>&1 ||
		{ cat "$AG_TMP/pgbench.log" >&2; ag_die "pgbench failed"; }
	psql -X -q -v ON_ERROR_STOP=1 <<SQL
SELECT ai_guard.audit_flush();
SELECT ai_guard.register_model('bench_churn', 'p10',
	(SELECT array_agg(pull_id) FROM (SELECT pull_id FROM ai_guard.pulls
	  WHERE status = 'completed' ORDER BY pull_id DESC LIMIT 10) s));
SELECT ai_guard.register_model('bench_churn', 'p100',
	(SELECT array_agg(pull_id) FROM (SELECT pull_id FROM ai_guard.pulls
	  WHERE status = 'completed' ORDER BY pull_id DESC LIMIT 100) s));
VACUUM ANALYZE;
SQL
	psql -X -At -c "SELECT 'pulls recorded: ' || count(*) FROM ai_guard.pulls" \
		-c "SELECT 'lineage rows, 10 pulls: ' || count(*) FROM ai_guard.lineage('bench_churn', 'p10')" \
		-c "SELECT 'lineage rows, 100 pulls: ' || count(*) FROM ai_guard.lineage('bench_churn', 'p100')" \
		-c "SELECT 'event bytes: ' || length(ai_guard.openlineage_event(max(pull_id))::text) FROM ai_guard.pulls" >&2
}

bench_calls() {
	psql -X -q -v ON_ERROR_STOP=1 -c "DO \$\$
DECLARE
	ids int8[] := (SELECT array_agg(pull_id ORDER BY pull_id) FROM (SELECT pull_id
	               FROM ai_guard.pulls WHERE status = 'completed'
	               ORDER BY pull_id DESC LIMIT $BENCH_CALLS) s);
BEGIN
	FOR i IN 1..$BENCH_CALLS LOOP
		$1;
	END LOOP;
END \$\$"
}

bench_run_pull_record() { bench_calls "PERFORM * FROM ai_guard.pull(ids[i])"; }
bench_run_lineage_10_pulls() { bench_calls "PERFORM count(*) FROM ai_guard.lineage('bench_churn', 'p10')"; }
bench_run_lineage_100_pulls() { bench_calls "PERFORM count(*) FROM ai_guard.lineage('bench_churn', 'p100')"; }
bench_run_openlineage_event() { bench_calls "PERFORM ai_guard.openlineage_event(ids[i])"; }
