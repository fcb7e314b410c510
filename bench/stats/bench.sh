# bench/stats: what it costs the planner that governed columns keep no
# statistics (src/stats_policy.c, docs/audit.md "Statistics").
#
# Two copies of demo.customers (100,000 rows) with demo.tickets, both
# governed, both read under a purpose: customers_stats has every column
# labelled public (its statistics are kept), customers has PII labels on
# name, e-mail, phone and birth date (they keep none), city and country
# internal. Each variant runs the same analytic queries that
# filter, group and join on PII columns; set-up also prints, per query, the
# planner's row estimate against the true count for both tables.
#
#   sudo bash bench/run.sh stats 5

BENCH_VARIANTS=(stats_kept stats_stripped)

STATS_QUERIES=(
	"SELECT count(*) FROM demo.%s c JOIN demo.tickets t USING (customer_id) WHERE c.email LIKE 'a%%'"
	"SELECT full_name, count(*) FROM demo.%s GROUP BY full_name ORDER BY 2 DESC LIMIT 10"
	"SELECT count(*) FROM demo.%s c JOIN demo.tickets t USING (customer_id) WHERE c.birth_date BETWEEN '1980-01-01' AND '1980-12-31'"
	"SELECT count(*) FROM demo.%s WHERE email = 'nobody@example.org'"
	"SELECT city, count(*) FROM demo.%s WHERE phone LIKE '+49%%' GROUP BY city"
)

bench_setup() {
	psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION ai_guard'
	ag_load_demo_data 100000
	psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE demo.customers_stats (LIKE demo.customers INCLUDING ALL);
INSERT INTO demo.customers_stats SELECT * FROM demo.customers;
DO $$
DECLARE c text;
BEGIN
	FOR c IN SELECT attname FROM pg_attribute
	          WHERE attrelid = 'demo.customers_stats'::regclass AND attnum > 0 AND NOT attisdropped LOOP
		EXECUTE format('SECURITY LABEL FOR ai_guard ON COLUMN demo.customers_stats.%I IS %L', c, 'public');
	END LOOP;
END $$;
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.full_name IS 'pii:name';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.phone IS 'pii:phone';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.birth_date IS 'pii:birth_date';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.city IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN demo.customers.country IS 'internal';
SQL
	psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT ai_guard.govern('demo.customers');
SELECT ai_guard.govern('demo.customers_stats');
SELECT ai_guard.govern('demo.tickets');
SELECT ai_guard.grant_purpose('postgres', 'benchmark');
VACUUM ANALYZE demo.customers, demo.customers_stats, demo.tickets;
SQL
	echo "estimates (rows): condition | kept estimate | stripped estimate | actual" >&2
	local q est_k est_s actual
	for q in "SELECT * FROM demo.%s WHERE email LIKE 'a%%'" \
		"SELECT * FROM demo.%s WHERE birth_date BETWEEN '1980-01-01' AND '1980-12-31'" \
		"SELECT * FROM demo.%s WHERE email = 'nobody@example.org'" \
		"SELECT * FROM demo.%s WHERE phone LIKE '+49%%'" \
		"SELECT full_name FROM demo.%s GROUP BY full_name"; do
		# shellcheck disable=SC2059
		est_k=$(printf "EXPLAIN (FORMAT JSON) $q" customers_stats | psql -X -At | plan_rows)
		# shellcheck disable=SC2059
		est_s=$(printf "EXPLAIN (FORMAT JSON) $q" customers | psql -X -At | plan_rows)
		# shellcheck disable=SC2059
		actual=$(printf "SELECT count(*) FROM ($q) s" customers | PGOPTIONS='-c ai_guard.purpose=benchmark:stats' psql -X -At)
		# shellcheck disable=SC2059
		echo "$(printf "$q" t) | $est_k | $est_s | $actual" >&2
	done
}

plan_rows() {
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Plan"]["Plan Rows"])'
}

stats_queries() {
	local q
	for q in "${STATS_QUERIES[@]}"; do
		# shellcheck disable=SC2059
		printf "$q;\n" "$1"
	done | PGOPTIONS='-c ai_guard.purpose=benchmark:stats' psql -X -q -v ON_ERROR_STOP=1 >/dev/null
}
bench_run_stats_kept() { stats_queries customers_stats; }
bench_run_stats_stripped() { stats_queries customers; }
