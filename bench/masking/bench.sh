# bench/masking: ai_guard's masking functions in C against the same masking
# written in plain SQL (regexp_replace / overlay / substr, as PL/pgSQL masking
# libraries do it), on 1,000,000 demo rows, one core (no parallel query, no
# JIT). Every query aggregates its output so that only the server's work is
# timed; the floor variants run the same scan with length() (or the bare
# column) in place of the mask, so cost above the floor = variant - floor.
#
#   sudo bash bench/run.sh masking 5
#
# Variants, grouped: <floor|c|sql>_<function>; redact_* compares redact_pii
# with a chain of regexp_replace calls covering the same kinds; view_* reads
# a masked view with five masked columns and the same columns of its base
# table (COPY to /dev/null, text output of every column).

BENCH_VARIANTS=(
	floor_email c_mask_email sql_mask_email
	floor_phone c_mask_phone sql_mask_phone
	floor_card c_mask_card sql_mask_card builtin_lower_card
	floor_iban c_mask_iban sql_mask_iban
	floor_partial c_partial sql_partial
	floor_generalize c_generalize sql_generalize
	floor_noise c_noise sql_noise
	floor_redact c_redact_pii sql_redact_chain
	view_base view_masked
)

bench_setup() {
	psql -X -q -c 'CREATE EXTENSION ai_guard'
	ag_load_demo_data 1000000 42
	psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
ALTER DATABASE ai_guard_bench SET max_parallel_workers_per_gather = 0;
ALTER DATABASE ai_guard_bench SET jit = off;
CREATE SCHEMA bench_masked;
CREATE TABLE bench_five AS
	SELECT customer_id, email, phone, card_number, iban, birth_date FROM demo.customers;
SECURITY LABEL FOR ai_guard ON COLUMN bench_five.customer_id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN bench_five.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN bench_five.phone IS 'pii:phone';
SECURITY LABEL FOR ai_guard ON COLUMN bench_five.card_number IS 'pii:card';
SECURITY LABEL FOR ai_guard ON COLUMN bench_five.iban IS 'pii:iban';
SECURITY LABEL FOR ai_guard ON COLUMN bench_five.birth_date IS 'pii:birth_date';
SELECT ai_guard.create_masked_view('bench_five', 'bench_masked');
VACUUM ANALYZE bench_five, demo.customers, demo.tickets;
SQL
	psql -X -At -c "SELECT 'ticket bodies: ' || count(*) || ' rows, ' ||
	                       round(sum(octet_length(body)) / 1e6, 1) || ' MB'
	                  FROM demo.tickets" >&2
}

bq() { psql -X -q -At -c "$1" >/dev/null; }

bench_run_floor_email() { bq "SELECT sum(length(email)) FROM demo.customers"; }
bench_run_c_mask_email() { bq "SELECT sum(length(ai_guard.mask_email(email))) FROM demo.customers"; }
bench_run_sql_mask_email() { bq "SELECT sum(length(regexp_replace(email, '^(.)[^@]*(@.*)\$', '\\1***\\2'))) FROM demo.customers"; }

bench_run_floor_phone() { bq "SELECT sum(length(phone)) FROM demo.customers"; }
bench_run_c_mask_phone() { bq "SELECT sum(length(ai_guard.mask_phone(phone))) FROM demo.customers"; }
bench_run_sql_mask_phone() { bq "SELECT sum(length(regexp_replace(left(phone, -2), '[0-9]', 'X', 'g') || right(phone, 2))) FROM demo.customers"; }

bench_run_floor_card() { bq "SELECT sum(length(card_number)) FROM demo.customers"; }
bench_run_c_mask_card() { bq "SELECT sum(length(ai_guard.mask_card(card_number))) FROM demo.customers"; }
bench_run_sql_mask_card() { bq "SELECT sum(length(overlay(card_number placing repeat('X', length(card_number) - 4) from 1 for length(card_number) - 4))) FROM demo.customers"; }

# reference: the cost of any built-in text -> text function call
bench_run_builtin_lower_card() { bq "SELECT sum(length(lower(card_number))) FROM demo.customers"; }

bench_run_floor_iban() { bq "SELECT sum(length(iban)) FROM demo.customers"; }
bench_run_c_mask_iban() { bq "SELECT sum(length(ai_guard.mask_iban(iban))) FROM demo.customers"; }
bench_run_sql_mask_iban() { bq "SELECT sum(length(left(iban, 2) || regexp_replace(substr(iban, 3, length(iban) - 6), '[A-Z0-9]', 'X', 'g') || right(iban, 4))) FROM demo.customers"; }

bench_run_floor_partial() { bq "SELECT sum(length(full_name)) FROM demo.customers"; }
bench_run_c_partial() { bq "SELECT sum(length(ai_guard.partial(full_name, 1, '***', 1))) FROM demo.customers"; }
bench_run_sql_partial() { bq "SELECT sum(length(substr(full_name, 1, 1) || '***' || substr(full_name, length(full_name), 1))) FROM demo.customers"; }

bench_run_floor_generalize() { bq "SELECT max(birth_date) FROM demo.customers"; }
bench_run_c_generalize() { bq "SELECT max(ai_guard.generalize(birth_date, 'decade')) FROM demo.customers"; }
bench_run_sql_generalize() { bq "SELECT max(make_date(extract(year FROM birth_date)::int / 10 * 10, 1, 1)) FROM demo.customers"; }

# the SQL noise needs its salt in the SQL text: exactly what ai_guard avoids
bench_run_floor_noise() { bq "SELECT sum(customer_id::float8) FROM demo.customers"; }
bench_run_c_noise() { bq "SELECT sum(ai_guard.noise(customer_id, 0.1)) FROM demo.customers"; }
bench_run_sql_noise() { bq "SELECT sum(customer_id * (1 + 0.1 * (2 * (('x' || substr(md5('salt' || customer_id::text), 1, 8))::bit(32)::bigint / 4294967296.0) - 1))) FROM demo.customers"; }

bench_run_floor_redact() { bq "SELECT sum(length(body)) FROM demo.tickets"; }
bench_run_c_redact_pii() { bq "SELECT sum(length(ai_guard.redact_pii(body))) FROM demo.tickets"; }
# one regexp_replace per kind, as a SQL redaction library writes it
bench_run_sql_redact_chain() {
	bq "SELECT sum(length(
	  regexp_replace(regexp_replace(regexp_replace(regexp_replace(
	  regexp_replace(regexp_replace(regexp_replace(regexp_replace(body,
	    '-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----', '[PRIVATE_KEY]', 'g'),
	    '\\m(AKIA|ASIA)[A-Z0-9]{16}\\M', '[ACCESS_KEY]', 'g'),
	    '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}', '[EMAIL]', 'g'),
	    '\\m[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\\M', '[IBAN]', 'g'),
	    '\\m(?:[0-9]{1,3}\\.){3}[0-9]{1,3}\\M', '[IPV4]', 'g'),
	    '\\m[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){2,7}\\M', '[IPV6]', 'g'),
	    '\\m[0-9]{3}-[0-9]{2}-[0-9]{4}\\M', '[SSN]', 'g'),
	    '(?:\\+[1-9][0-9 ()-]{7,18}[0-9]|\\([0-9]{3}\\) ?[0-9]{3}-[0-9]{4}|\\m0[1-9][0-9]{1,3}[ -][0-9 -]{6,12}[0-9]|\\m[2-6][0-9]{12,18}\\M)', '[PHONE_OR_CARD]', 'g')
	  )) FROM demo.tickets"
}

bench_run_view_base() { bq "COPY (SELECT customer_id, email, phone, card_number, iban, birth_date FROM bench_five) TO '/dev/null'"; }
bench_run_view_masked() { bq "COPY (SELECT * FROM bench_masked.bench_five) TO '/dev/null'"; }
