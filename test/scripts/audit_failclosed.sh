#!/usr/bin/env bash
# Fail closed: while the audit writer cannot commit (a superuser holds a lock
# on the chain head), a governed read is refused with ai_guard.audit_failure
# = refuse, and the refusal is recorded once the writer gets through; with
# warn it goes on with a WARNING. Prints TAP.
set -u
export PGDATABASE=ai_guard_tap
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
DROP TABLE IF EXISTS public.audit_fc;
CREATE TABLE public.audit_fc AS SELECT i AS id FROM generate_series(1, 10) i;
SELECT ai_guard.govern('public.audit_fc');
SELECT ai_guard.grant_purpose('postgres', 'failclosed');
SQL
psql -X -q -c "SET ai_guard.purpose = 'failclosed:warmup'" -c 'SELECT count(*) FROM public.audit_fc' >/dev/null

# hold the chain head for 4 seconds
psql -X -q -c 'BEGIN' -c 'LOCK TABLE ai_guard.audit_state IN ACCESS EXCLUSIVE MODE' \
	-c 'SELECT pg_sleep(4)' -c 'COMMIT' >/dev/null &
locker=$!
sleep 0.5

out=$(psql -X -At -c "SET ai_guard.purpose = 'failclosed:refuse'" -c "SET ai_guard.audit_timeout = '500ms'" \
	-c 'SELECT count(*) FROM public.audit_fc' 2>&1)
check "refused while the record cannot be committed" \
	"$(echo "$out" | grep -c 'ERROR:  could not record the read of governed relation public.audit_fc')" 1
check "no rows were returned" "$(echo "$out" | grep -c '^10$')" 0

# loosening enforcement is a change of governance: refused while unrecorded
out=$(psql -X -At -c "SET ai_guard.audit_timeout = '500ms'" -c 'SET ai_guard.audit_failure = warn' 2>&1)
check "SET ai_guard.audit_failure = warn is refused while it cannot be recorded" \
	"$(echo "$out" | grep -c 'ERROR:  could not record a change of governance (setting set)')" 1

# (a setting given at connection start is no statement: it is not recorded)
out=$(PGOPTIONS='-c ai_guard.audit_failure=warn' psql -X -At -c "SET ai_guard.purpose = 'failclosed:warn'" \
	-c "SET ai_guard.audit_timeout = '500ms'" -c 'SELECT count(*) FROM public.audit_fc' 2>&1)
check "audit_failure = warn lets the read through" "$(echo "$out" | grep -c '^10$')" 1
check "... with a warning" "$(echo "$out" | grep -c 'WARNING:  reading governed relation public.audit_fc without a committed audit record')" 1

wait "$locker"
psql -X -q -c 'SELECT ai_guard.audit_flush()' >/dev/null
check "the refused read is recorded as refused once the writer gets through" \
	"$(psql -X -At -c "SELECT status || ' ' || (detail LIKE '%audit_timeout%') FROM ai_guard.pulls WHERE purpose = 'failclosed:refuse'")" \
	"refused true"
check "the warned read is recorded" \
	"$(psql -X -At -c "SELECT count(*) FROM ai_guard.pulls WHERE purpose = 'failclosed:warn'")" 1
check "the chain verifies" "$(psql -X -At -c 'SELECT intact FROM ai_guard.verify_audit()')" t

psql -X -q -o /dev/null <<'SQL'
DROP TABLE public.audit_fc;
SELECT ai_guard.revoke_purpose('postgres', 'failclosed');
SQL
echo "1..$n"
exit $fail
