# bench/derived: what it costs a CREATE TABLE AS of 1,000,000 governed rows
# that the copy inherits governance (src/derived.c, docs/governance.md):
# the copy governed, its derivation recorded, each column's label traced
# through the plan and set, and the labels logged in the audit chain.
#
# "today" is the same library on a database whose extension is still 0.2
# (no derived_relations or governance log: the copy is recorded as a
# derivation and nothing more); "inherit" is 0.3. Both read the same
# governed, labelled table under a purpose; "ungoverned" copies an
# ungoverned table (no record at all), for scale.
#
#   sudo bash bench/run.sh derived 7

BENCH_VARIANTS=(today inherit ungoverned)

derived_setup_db() {
	local db=$1 version=$2
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
CREATE EXTENSION ai_guard VERSION '$version';
CREATE TABLE public.src (id int PRIMARY KEY, email text, city text, born date, score float8);
INSERT INTO public.src
  SELECT g, 'user' || g || '@example.com', 'city' || (g % 1000),
         date '1950-01-01' + (g % 20000), random()
    FROM generate_series(1, 1000000) g;
CREATE TABLE public.plain AS TABLE public.src;
SECURITY LABEL FOR ai_guard ON COLUMN public.src.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN public.src.email IS 'pii:email mask=mask_email()';
SECURITY LABEL FOR ai_guard ON COLUMN public.src.city IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN public.src.born IS 'pii:birth_date mask=generalize(''decade'')';
SECURITY LABEL FOR ai_guard ON COLUMN public.src.score IS 'public';
SELECT ai_guard.govern('public.src');
SELECT ai_guard.grant_purpose('postgres', 'benchmark');
VACUUM ANALYZE public.src, public.plain;
SQL
}

bench_setup() {
	createdb ai_guard_bench_v02
	derived_setup_db ai_guard_bench 0.3
	derived_setup_db ai_guard_bench_v02 0.2
	# the copy is governed and labelled in 0.3 only
	psql -X -q -v ON_ERROR_STOP=1 -d ai_guard_bench -c "SET ai_guard.purpose = 'benchmark:check'" \
		-c 'CREATE TABLE public.check_copy AS SELECT * FROM public.src WHERE id < 10' >/dev/null
	echo "0.3 copy governed: $(psql -X -At -d ai_guard_bench -c "SELECT string_agg(reason, ',') FROM ai_guard.governed_relations WHERE rel = 'public.check_copy'::regclass")" >&2
	echo "0.3 copy labels: $(psql -X -At -d ai_guard_bench -c "SELECT count(*) FROM pg_seclabel WHERE objoid = 'public.check_copy'::regclass")" >&2
}

derived_ctas() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "SET ai_guard.purpose = 'benchmark:ctas'" \
		-c "CREATE TABLE public.copy AS SELECT * FROM public.$2"
}

derived_drop() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c 'DROP TABLE IF EXISTS public.copy' -c 'CHECKPOINT' >/dev/null
}

bench_prepare_today() { derived_drop ai_guard_bench_v02; }
bench_run_today() { derived_ctas ai_guard_bench_v02 src; }
bench_prepare_inherit() { derived_drop ai_guard_bench; }
bench_run_inherit() { derived_ctas ai_guard_bench src; }
bench_prepare_ungoverned() { derived_drop ai_guard_bench; }
bench_run_ungoverned() { derived_ctas ai_guard_bench plain; }
