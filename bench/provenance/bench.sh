# bench/provenance: the cost of provenance stamping.
#
#   sudo bash bench/run.sh provenance [REPEAT]
#
# COPY FROM of 1,000,000 demo customer rows (tools/datagen, 13 columns, about
# 200 bytes a row) into
#   copy_untracked   a plain table (the baseline),
#   copy_tracked     the same table tracked by ai_guard.track() inside an
#                    ingest context (C trigger: row id, batch, SHA-256 digest),
#   copy_plpgsql     the same stamping done the way users do it today: extra
#                    columns and a PL/pgSQL BEFORE trigger computing
#                    sha256 of the row's text form,
#   copy_c_trigger_floor  the cheapest possible BEFORE ROW trigger in C
#                    (contrib insert_username: sets one column): what any
#                    row trigger costs, since PostgreSQL then gives up COPY's
#                    multi-insert buffering,
# and a SELECT aggregating over all 1,000,000 rows
#   select_untracked as the table owner of an untracked table,
#   select_tracked   as a non-owner role with ai_guard.purpose set, so that
#                    the consent policy filters every row.
# The COPY variants truncate their table first (untimed).

BENCH_VARIANTS=(copy_untracked copy_tracked copy_plpgsql copy_c_trigger_floor select_untracked select_tracked)
BENCH_ROWS=${BENCH_ROWS:-1000000}

bench_setup() {
	BENCH_FILE=$AG_TMP/customers.tsv
	"$AG_TOP/tools/datagen/datagen" --table customers --scale "$BENCH_ROWS" --seed 7 >"$BENCH_FILE"
	chmod 644 "$BENCH_FILE"
	psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION ai_guard;
CREATE SCHEMA demo;
CREATE TABLE demo.c_untracked (
	customer_id bigint PRIMARY KEY, full_name text NOT NULL, email text NOT NULL,
	phone text NOT NULL, card_number text NOT NULL, iban text NOT NULL,
	birth_date date NOT NULL, street text NOT NULL, city text NOT NULL,
	country text NOT NULL, source text NOT NULL, license text NOT NULL,
	consent text[] NOT NULL);
CREATE TABLE demo.c_tracked (LIKE demo.c_untracked INCLUDING ALL);
SELECT ai_guard.track('demo.c_tracked');
CREATE TABLE demo.c_plpgsql (LIKE demo.c_untracked INCLUDING ALL,
	row_id bigint, batch_id bigint, ingested_at timestamptz, digest bytea);
CREATE SEQUENCE demo.plpgsql_row_id;
CREATE FUNCTION demo.plpgsql_stamp() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	NEW.row_id := nextval('demo.plpgsql_row_id');
	NEW.batch_id := current_setting('bench.batch')::bigint;
	NEW.ingested_at := statement_timestamp();
	NEW.digest := sha256(convert_to(ROW(NEW.customer_id, NEW.full_name, NEW.email,
		NEW.phone, NEW.card_number, NEW.iban, NEW.birth_date, NEW.street, NEW.city,
		NEW.country, NEW.source, NEW.license, NEW.consent)::text, 'UTF8'));
	RETURN NEW;
END \$\$;
CREATE TRIGGER stamp BEFORE INSERT OR UPDATE ON demo.c_plpgsql
	FOR EACH ROW EXECUTE FUNCTION demo.plpgsql_stamp();
CREATE EXTENSION insert_username;
CREATE TABLE demo.c_floor (LIKE demo.c_untracked INCLUDING ALL, inserted_by text);
CREATE TRIGGER floor BEFORE INSERT ON demo.c_floor
	FOR EACH ROW EXECUTE FUNCTION insert_username(inserted_by);
CREATE ROLE bench_reader;
GRANT USAGE ON SCHEMA demo TO bench_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA demo TO bench_reader;
SQL
	# the SELECT variants read the same rows: load them once
	bench_run_copy_untracked >/dev/null
	bench_run_copy_tracked >/dev/null
	psql -X -q -c 'VACUUM ANALYZE demo.c_untracked' -c 'VACUUM ANALYZE demo.c_tracked'
}

bench_prepare_copy_untracked() { psql -X -q -c 'TRUNCATE demo.c_untracked' -c 'CHECKPOINT'; }
bench_prepare_copy_tracked() { psql -X -q -c 'TRUNCATE demo.c_tracked' -c 'CHECKPOINT'; }
bench_prepare_copy_plpgsql() { psql -X -q -c 'TRUNCATE demo.c_plpgsql' -c 'CHECKPOINT'; }
bench_prepare_copy_c_trigger_floor() { psql -X -q -c 'TRUNCATE demo.c_floor' -c 'CHECKPOINT'; }

bench_run_copy_untracked() {
	psql -X -q -v ON_ERROR_STOP=1 -c "COPY demo.c_untracked FROM '$BENCH_FILE'"
}

bench_run_copy_tracked() {
	psql -X -q -v ON_ERROR_STOP=1 \
		-c "SELECT ai_guard.begin_ingest('crm_eu', 'proprietary-internal', '{training,analytics}')" \
		-c "COPY demo.c_tracked FROM '$BENCH_FILE'" \
		-c "SELECT ai_guard.end_ingest()"
}

bench_run_copy_plpgsql() {
	psql -X -q -v ON_ERROR_STOP=1 -c "SET bench.batch = '1'" \
		-c "COPY demo.c_plpgsql (customer_id, full_name, email, phone, card_number, iban, birth_date, street, city, country, source, license, consent) FROM '$BENCH_FILE'"
}

bench_run_copy_c_trigger_floor() {
	psql -X -q -v ON_ERROR_STOP=1 \
		-c "COPY demo.c_floor (customer_id, full_name, email, phone, card_number, iban, birth_date, street, city, country, source, license, consent) FROM '$BENCH_FILE'"
}

# the SELECT: every row passes through the filter
BENCH_QUERY="SELECT country, count(*), count(DISTINCT city) FROM %s GROUP BY country"

bench_prepare_select_untracked() { :; }
bench_run_select_untracked() {
	psql -X -q -v ON_ERROR_STOP=1 -c "$(printf "$BENCH_QUERY" demo.c_untracked)"
}

bench_run_select_tracked() {
	psql -X -q -v ON_ERROR_STOP=1 -c "SET ROLE bench_reader" \
		-c "SET ai_guard.purpose = 'training:bench'" \
		-c "$(printf "$BENCH_QUERY" demo.c_tracked)"
}
