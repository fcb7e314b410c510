#!/usr/bin/env bash
# Concurrency soak: pgbench, 16 clients, extended protocol, a mix of
#   pull_gov      a governed table, purpose training:soak-a
#   pull_masked   a masked view as a data-scientist role, analytics:soak-b
#   pull_tracked  a tracked table, training:soak-c
#   refused       a data scientist's read with a purpose that is not granted (expected
#                 refusal, caught in the script so the client goes on)
#   ingest        begin_ingest / 10 rows / end_ingest in one transaction
#   masking       masking and PII functions
#   quarantine    quarantine a source and release it
#   crypto        encrypt/decrypt, and now and then rotate a key
# for AG_SOAK_SECONDS (default 25; "make soak SOAK_SECONDS=180").
# Checks: no client aborted, no deadlock and no error in the server log other
# than the expected refusals, the chain verifies, and the counts add up: pulls
# recorded per purpose = transactions of that script, refused records =
# refused transactions, ingested rows = 10 x ingest transactions and every one
# tagged and verifying, quarantines = quarantine transactions, all released.
# Runs in database soak on the test cluster. Prints TAP and a summary line.
set -u
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else
		echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
SECS=${AG_SOAK_SECONDS:-25}
CLIENTS=${AG_SOAK_CLIENTS:-16}
DB=ai_guard_soak
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
W=$(mktemp -d)
chmod 755 "$W"
trap 'dropdb --if-exists -f $DB 2>/dev/null; dropdb --if-exists -f ${DB}_x 2>/dev/null; rm -rf "$W"; psql -X -q -d postgres -c "DROP ROLE IF EXISTS regress_soak_ds" 2>/dev/null' EXIT
dropdb --if-exists -f $DB 2>/dev/null
psql -X -q -d postgres -c "DROP ROLE IF EXISTS regress_soak_ds" 2>/dev/null
createdb $DB

psql -X -q -d $DB -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE EXTENSION ai_guard;
CREATE ROLE regress_soak_ds LOGIN;
CREATE TABLE public.t AS SELECT i AS id, md5(i::text) AS v FROM generate_series(1, 10000) i;
CREATE INDEX ON public.t (id);
SELECT ai_guard.govern('public.t');
CREATE TABLE public.ev (id bigserial, payload text);
SELECT ai_guard.track('public.ev');
SELECT ai_guard.begin_ingest('soak-seed', 'MIT', '{training}');
INSERT INTO public.ev (payload) SELECT 'seed ' || g FROM generate_series(1, 1000) g;
SELECT ai_guard.end_ingest();
CREATE TABLE public.cust AS
SELECT g AS id, 'user' || g || '@example.com' AS email, 'call +49 30 1234567 ' || g AS note
  FROM generate_series(1, 5000) g;
CREATE INDEX ON public.cust (id);
SECURITY LABEL FOR ai_guard ON COLUMN public.cust.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN public.cust.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN public.cust.note IS 'pii:free_text';
CREATE SCHEMA soak_masked;
SELECT ai_guard.create_masked_view('public.cust', 'soak_masked');
SELECT ai_guard.grant_masked_access('regress_soak_ds');
SELECT ai_guard.grant_purpose('postgres', 'training');
SELECT ai_guard.grant_purpose('regress_soak_ds', 'analytics');
SELECT ai_guard.create_key('sk');
SELECT ai_guard.create_key('sk2', 'aes-256-siv');
-- sources to quarantine (each with a batch), one per client: a source that
-- is quarantined already cannot be quarantined again (an error by design)
CREATE TABLE public.qsrc (id int, v text);
SELECT ai_guard.track('public.qsrc');
DO $$
BEGIN
	FOR i IN 0..63 LOOP
		PERFORM ai_guard.begin_ingest('soak-q-' || i, 'MIT', '{training}');
		INSERT INTO public.qsrc VALUES (i, 'q');
		PERFORM ai_guard.end_ingest();
	END LOOP;
END $$;
-- the masked-view script runs as the data scientist through SET ROLE
GRANT regress_soak_ds TO postgres;
SQL
check "set-up" "$?" 0

# (pgbench's extended mode takes any :name for a variable, even in a string:
# the purposes are spelled with chr(58))
cat >"$W/pull_gov.sql" <<'SQL'
\set lo random(1, 9900)
SELECT set_config('ai_guard.purpose', 'training' || chr(58) || 'soak-a', false);
SELECT id, v FROM public.t WHERE id BETWEEN :lo AND :lo + 20;
SQL
cat >"$W/pull_masked.sql" <<'SQL'
\set lo random(1, 4900)
SET ROLE regress_soak_ds;
SELECT set_config('ai_guard.purpose', 'analytics' || chr(58) || 'soak-b', false);
SELECT id, email, note FROM soak_masked.cust WHERE id BETWEEN :lo AND :lo + 20;
RESET ROLE;
SQL
cat >"$W/pull_tracked.sql" <<'SQL'
\set lo random(1, 1000)
SELECT set_config('ai_guard.purpose', 'training' || chr(58) || 'soak-c', false);
SELECT id, payload FROM public.ev WHERE id BETWEEN :lo AND :lo + 20;
SQL
cat >"$W/refused.sql" <<'SQL'
SET ROLE regress_soak_ds;
SELECT set_config('ai_guard.purpose', 'marketing' || chr(58) || 'soak-r', false);
DO $$ BEGIN PERFORM count(*) FROM soak_masked.cust; RAISE EXCEPTION 'read was not refused'; EXCEPTION WHEN insufficient_privilege THEN NULL; END $$;
RESET ROLE;
SQL
cat >"$W/ingest.sql" <<'SQL'
\set src random(1, 50)
BEGIN;
SELECT ai_guard.begin_ingest('soak-ingest-' || :src, 'CC-BY-4.0', '{training}');
INSERT INTO public.ev (payload) SELECT 'soak ' || g FROM generate_series(1, 10) g;
SELECT ai_guard.end_ingest();
COMMIT;
SQL
cat >"$W/masking.sql" <<'SQL'
\set i random(1, 100000)
SELECT ai_guard.mask_email('user' || :i || '@example.com'), ai_guard.mask_phone('+49 30 1234' || :i, 4), ai_guard.mask_card('4111111111111111'), ai_guard.redact_pii('mail user' || :i || '@example.com or call +49 30 123456'), ai_guard.partial('abcdefgh' || :i, 1, '*', 1), ai_guard.generalize(date '2020-05-17', 'month');
SQL
cat >"$W/quarantine.sql" <<'SQL'
SELECT ai_guard.quarantine('soak-q-' || :client_id, 'soak test') AS qid \gset
SELECT ai_guard.release(:qid, 'soak test done');
SQL
cat >"$W/crypto.sql" <<'SQL'
\set i random(1, 1000)
SELECT ai_guard.decrypt_text(ai_guard.encrypt('value ' || :i, 'sk', 'soak'), 'soak') = 'value ' || :i AS ok;
SELECT ai_guard.decrypt_text(ai_guard.encrypt('value ' || :i, 'sk2', 'soak'), 'soak') = 'value ' || :i AS ok;
SQL
cat >"$W/rotate.sql" <<'SQL'
SELECT ai_guard.rotate_key('sk');
SQL
chmod 644 "$W"/*.sql

start=$(date +%s)
"$PGBENCH" -n -M extended -c "$CLIENTS" -j 2 -T "$SECS" \
	-f "$W/pull_gov.sql@20" -f "$W/pull_masked.sql@20" -f "$W/pull_tracked.sql@20" \
	-f "$W/refused.sql@5" -f "$W/ingest.sql@15" -f "$W/masking.sql@10" \
	-f "$W/quarantine.sql@5" -f "$W/crypto.sql@10" -f "$W/rotate.sql@1" \
	$DB >"$W/pgbench.out" 2>&1
status=$?
elapsed=$(($(date +%s) - start))
check "pgbench ran $CLIENTS clients for ${SECS}s without an aborted client" \
	"$status $(grep -c 'aborted\|client [0-9]* script [0-9]* aborted' "$W/pgbench.out")" "0 0"
[ "$status" -eq 0 ] && [ -z "$(grep aborted "$W/pgbench.out")" ] || sed 's/^/# /' "$W/pgbench.out" | grep -v '^# *$' | head -n 30

# per-script transaction counts from pgbench's report
txns() { awk -v f="$1" '
	$0 ~ "SQL script [0-9]+: .*" f { s = 1; next }
	s && /- [0-9]+ transactions/ { for (i = 1; i <= NF; i++) if ($i == "transactions") { print $(i - 1); exit } }' "$W/pgbench.out"; }
total=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$W/pgbench.out")
tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$W/pgbench.out" | head -n 1)
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$W/pgbench.out")
check "no failed transaction" "${failed_tx:-0}" 0
t_gov=$(txns pull_gov); t_masked=$(txns pull_masked); t_tracked=$(txns pull_tracked)
t_refused=$(txns refused); t_ingest=$(txns ingest); t_quar=$(txns quarantine)
t_rot=$(txns rotate); t_crypto=$(txns crypto); t_mask=$(txns masking)

check "every script ran" \
	"$(for x in "$t_gov" "$t_masked" "$t_tracked" "$t_refused" "$t_ingest" "$t_quar" "$t_rot" "$t_crypto" "$t_mask"; do [ "${x:-0}" -gt 0 ] || echo "none"; done)" ""
psql -X -q -d $DB -c 'SELECT ai_guard.audit_flush()' >/dev/null
count() { psql -X -At -d $DB -c "$1"; }
# pgbench counts the transactions that finished; at the deadline each client
# may have had one pull executed (so recorded) but not yet counted: the
# records may exceed the count by at most one per client, never fall short
within() { local got=$1 want=$2; if [ "$got" -ge "$want" ] && [ "$got" -le $((want + CLIENTS)) ]; then echo ok; else echo "$got records for $want transactions"; fi; }
check "pulls recorded for training:soak-a = its transactions ($t_gov, + at most one per client cut at the deadline)" \
	"$(within "$(count "SELECT count(*) FROM ai_guard.pulls WHERE purpose = 'training:soak-a' AND status = 'completed'")" "$t_gov")" ok
check "pulls recorded for analytics:soak-b (masked view, as the data scientist) = its transactions ($t_masked, + cut)" \
	"$(within "$(count "SELECT count(*) FROM ai_guard.pulls WHERE purpose = 'analytics:soak-b' AND status = 'completed' AND session_role = 'postgres' AND \"current_role\" = 'regress_soak_ds'")" "$t_masked")" ok
check "pulls recorded for training:soak-c (tracked table) = its transactions ($t_tracked, + cut)" \
	"$(within "$(count "SELECT count(*) FROM ai_guard.pulls WHERE purpose = 'training:soak-c' AND status = 'completed'")" "$t_tracked")" ok
check "refused reads recorded = refused transactions ($t_refused, + cut)" \
	"$(within "$(count "SELECT count(*) FROM ai_guard.pulls WHERE purpose = 'marketing:soak-r' AND status = 'refused'")" "$t_refused")" ok
check "no pull record is left 'started' or 'failed'" \
	"$(count "SELECT count(*) FROM ai_guard.pulls WHERE status IN ('started', 'failed')")" 0
batches=$(count "SELECT count(*) FROM ai_guard.batches WHERE source LIKE 'soak-ingest-%'")
check "ingest batches = ingest transactions ($t_ingest, + cut)" "$(within "$batches" "$t_ingest")" ok
check "ingested rows = 10 x batches, and each batch's row_count is 10" \
	"$(count "SELECT count(*) FROM public.ev e JOIN ai_guard.batches b ON b.batch_id = e.ai_guard_batch WHERE b.source LIKE 'soak-ingest-%'") $(count "SELECT count(*) FROM ai_guard.batches WHERE source LIKE 'soak-ingest-%' AND row_count <> 10")" "$((batches * 10)) 0"
check "every ingested row is tagged" \
	"$(PGOPTIONS='-c ai_guard.purpose=training:soak-check' psql -X -At -d $DB -c "SELECT count(*) FROM public.ev WHERE ai_guard_row_id IS NULL OR ai_guard_batch IS NULL OR ai_guard_digest IS NULL")" 0
check "verify_rows() reports nothing" "$(count "SELECT count(*) FROM ai_guard.verify_rows('public.ev')")" 0
check "quarantines = quarantine transactions ($t_quar, + cut), all released but those cut" \
	"$(within "$(count "SELECT count(*) FROM ai_guard.quarantines WHERE reason = 'soak test'")" "$t_quar") $(within "$(count "SELECT count(*) FROM ai_guard.quarantines WHERE released_at IS NOT NULL")" "$t_quar")" "ok ok"
check "key sk has 1 + one version per rotation ($t_rot, + cut)" \
	"$(within "$(count "SELECT current_version - 1 FROM ai_guard.keys WHERE name = 'sk'")" "$t_rot")" ok
check "the audit chain verifies" "$(count 'SELECT intact FROM ai_guard.verify_audit()')" t

# no deadlock; no transaction rolled back (the refusals are caught inside
# their transaction, so any rollback would be an unexpected error)
deadlocks=$(count "SELECT deadlocks FROM pg_stat_database WHERE datname = '$DB'")
check "no deadlock (pg_stat_database.deadlocks)" "$deadlocks" 0
conflicts=$(count "SELECT xact_rollback FROM pg_stat_database WHERE datname = '$DB'")
echo "# soak: $CLIENTS clients, ${SECS}s, $total transactions, $tps tps; per script: pull_gov $t_gov, pull_masked $t_masked, pull_tracked $t_tracked, refused $t_refused, ingest $t_ingest, masking $t_mask, quarantine $t_quar, crypto $t_crypto, rotate $t_rot; failed ${failed_tx:-0}; rollbacks $conflicts; deadlocks $deadlocks"
echo "1..$n"
exit $fail
