#!/usr/bin/env bash
# Tamper evidence: a superuser who disables the protection and edits,
# deletes or truncates audit records is caught by ai_guard.verify_audit().
# Each case runs in a database of its own. Prints TAP.
set -u
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}

# fresh_db NAME: a database with the extension, 2 changes of governance
# (chain entries 1 and 2) and 4 completed pulls (entries 3 to 10)
fresh_db() {
	dropdb --if-exists -f "$1" 2>/dev/null
	createdb "$1"
	psql -X -q -d "$1" -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE EXTENSION ai_guard;
CREATE TABLE t AS SELECT i AS id, 'secret ' || i AS v FROM generate_series(1, 5) i;
SELECT ai_guard.govern('t');
SELECT ai_guard.grant_purpose('postgres', 'audit');
SET ai_guard.purpose = 'audit:tamper';
SELECT * FROM t;
SELECT * FROM t WHERE id = 2;
SELECT count(*) FROM t;
SELECT v FROM t ORDER BY id;
SELECT ai_guard.audit_flush();
SQL
}
verify() { psql -X -At -d "$1" -c "SELECT concat_ws('|', intact, broken_pull_id, problem) FROM ai_guard.verify_audit()"; }
unprotected() {
	local db=$1
	shift
	psql -X -q -d "$db" -v ON_ERROR_STOP=1 -o /dev/null \
		-c 'ALTER TABLE ai_guard.pulls DISABLE TRIGGER USER' \
		-c 'ALTER TABLE ai_guard.audit_log DISABLE TRIGGER USER' \
		-c 'ALTER TABLE ai_guard.audit_state DISABLE TRIGGER USER' \
		"$@" \
		-c 'ALTER TABLE ai_guard.pulls ENABLE ALWAYS TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.audit_log ENABLE ALWAYS TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.audit_state ENABLE ALWAYS TRIGGER protect'
}

db=regress_audit_tamper
fresh_db $db
check "an untouched chain verifies" "$(verify $db)" "t"
check "the head is a SHA-256" "$(psql -X -At -d $db -c 'SELECT seq, length(head) FROM ai_guard.audit_head()')" "10|64"

unprotected $db -c 'UPDATE ai_guard.pulls SET rows = 0 WHERE pull_id = 2'
check "an edited record is found" "$(verify $db)" "f|2|pull 2 was altered after chain entry 6"
unprotected $db -c 'UPDATE ai_guard.pulls SET rows = 1 WHERE pull_id = 2'
check "restoring the exact values makes it verify again" "$(verify $db)" "t"

unprotected $db -c "UPDATE ai_guard.pulls SET purpose = 'audit:innocent' WHERE pull_id = 3"
check "an edited purpose is found" "$(verify $db)" "f|3|pull 3 was altered after chain entry 8"

fresh_db $db
unprotected $db -c 'DELETE FROM ai_guard.pulls WHERE pull_id = 1'
check "a deleted record is found" "$(verify $db)" "f|1|pull 1 was deleted"

fresh_db $db
unprotected $db -c 'DELETE FROM ai_guard.pulls WHERE pull_id = 2' -c "DELETE FROM ai_guard.audit_log WHERE pull_id = 2 AND event <> 'governance'"
check "a record deleted with its chain entries is found" "$(verify $db)" "f|chain entry 5 is missing (next present is 7)"

fresh_db $db
unprotected $db -c "UPDATE ai_guard.audit_log SET content_hash = repeat('0', 64) WHERE seq = 7"
check "an edited chain entry is found" "$(verify $db)" "f|3|chain entry 7 was altered"

fresh_db $db
unprotected $db -c 'DELETE FROM ai_guard.pulls WHERE pull_id = 4' -c "DELETE FROM ai_guard.audit_log WHERE pull_id = 4 AND event <> 'governance'"
check "a removed tail is found by the head" "$(verify $db)" "f|the chain ends at entry 8 but its recorded head is entry 10"

fresh_db $db
unprotected $db -c 'TRUNCATE ai_guard.pulls, ai_guard.audit_log'
check "a truncation is found" "$(verify $db)" "f|the chain ends at entry 0 but its recorded head is entry 10"

# a dump of the database works (pg_dump reads the governed table: a pull)
out=$(PGOPTIONS='-c ai_guard.purpose=audit:backup' pg_dump -d $db 2>&1 >/dev/null; echo "status $?")
check "pg_dump with a purpose succeeds" "$out" "status 0"
check "the dump's read of the governed table is recorded" \
	"$(psql -X -At -d $db -c "SELECT ai_guard.audit_flush()" -c "SELECT kind || ' ' || status FROM ai_guard.pulls WHERE purpose = 'audit:backup'")" \
	"$(printf '\ncopy completed')"
out=$(psql -X -q -d $db -c 'DROP EXTENSION ai_guard' 2>&1; echo "status $?")
check "DROP EXTENSION works" "$out" "status 0"
check "the extension and its tables are gone" \
	"$(psql -X -At -d $db -c "SELECT count(*) FROM pg_extension WHERE extname = 'ai_guard'" -c "SELECT to_regclass('ai_guard.pulls') IS NULL")" "$(printf '0\nt')"
out=$(psql -X -At -d $db -c 'SELECT count(*) FROM t' 2>&1)
check "without the extension nothing is governed" "$out" 5

dropdb -f $db
echo "1..$n"
exit $fail
