#!/usr/bin/env bash
# Audit records survive pg_dump/pg_restore: a restore refuses them unless a
# superuser asks for it with ai_guard.audit_restore, then the restored chain
# verifies, holds every record, and new pulls extend it. Prints TAP.
set -u
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
SRC=regress_audit_dump_src
DST=regress_audit_dump_dst
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; dropdb --if-exists -f $SRC; dropdb --if-exists -f $DST' EXIT

dropdb --if-exists -f $SRC 2>/dev/null
createdb $SRC
psql -X -q -d $SRC -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE EXTENSION ai_guard;
CREATE TABLE t AS SELECT i AS id, 'row ' || i AS v FROM generate_series(1, 10) i;
SELECT ai_guard.govern('t');
SET ai_guard.purpose = 'backup:test';
SELECT * FROM t;
SELECT count(*) FROM t WHERE id > 3;
-- a pull of a tracked table records its row membership
CREATE TABLE tr (id int, v text);
SELECT ai_guard.track('tr');
SELECT ai_guard.begin_ingest('dump-test', 'MIT', '{research}');
INSERT INTO tr SELECT i, 'r' || i FROM generate_series(1, 20) i;
SELECT ai_guard.end_ingest();
SET ai_guard.purpose = 'research:dump';
SELECT * FROM tr WHERE id <= 5;
-- a copy of governed data is governed, labelled, and on the governance log
SECURITY LABEL FOR ai_guard ON COLUMN t.v IS 'pii:note';
SET ai_guard.purpose = 'backup:copy';
CREATE TABLE copy_of_t AS SELECT id, v FROM t;
SELECT ai_guard.audit_flush();
SQL
pulls=$(psql -X -At -d $SRC -c 'SELECT count(*) FROM ai_guard.pulls')
members=$(psql -X -At -d $SRC -c "SELECT count(*) || ':' || sum(row_count) FROM ai_guard.pull_members")
head=$(psql -X -At -d $SRC -c 'SELECT head FROM ai_guard.audit_head()')
changes=$(psql -X -At -d $SRC -c 'SELECT count(*) FROM ai_guard.governance_changes')
derived=$(psql -X -At -d $SRC -c "SELECT count(*) FROM ai_guard.derived_relations WHERE rel = 'copy_of_t'::regclass")
pg_dump -Fc -d $SRC -f "$WORK/dump"
check "pg_dump of a governed database as a superuser, without a purpose" "$?" "0"

createdb $DST
pg_restore --exit-on-error -d $DST "$WORK/dump" >"$WORK/err" 2>&1
check "a plain pg_restore refuses to insert audit records" "$?" "1"
check "and says how to restore them" \
	"$(grep -c "ai_guard.audit_restore=on" "$WORK/err")" "1"

dropdb -f $DST
createdb $DST
PGOPTIONS='-c ai_guard.audit_restore=on' pg_restore --exit-on-error -d $DST "$WORK/dump"
check "pg_restore with ai_guard.audit_restore succeeds" "$?" "0"
check "every pull record is restored" \
	"$(psql -X -At -d $DST -c 'SELECT count(*) FROM ai_guard.pulls')" "$pulls"
check "the restored chain has the same head" \
	"$(psql -X -At -d $DST -c 'SELECT head FROM ai_guard.audit_head()')" "$head"
check "the restored chain verifies" \
	"$(psql -X -At -d $DST -c 'SELECT intact FROM ai_guard.verify_audit()')" "t"
check "the governance log is restored (and the restore added nothing)" \
	"$(psql -X -At -d $DST -c 'SELECT count(*) FROM ai_guard.governance_changes')" "$changes"
check "the copy is still governed as derived, with its derivation" \
	"$(psql -X -At -d $DST -c "SELECT string_agg(reason, ',') FROM ai_guard.governed_relations WHERE rel = 'copy_of_t'::regclass"):$(psql -X -At -d $DST -c "SELECT count(*) FROM ai_guard.derived_relations WHERE rel = 'copy_of_t'::regclass")" "derived:$derived"
check "the copy keeps the label its column took" \
	"$(psql -X -At -d $DST -c "SELECT label FROM pg_seclabel WHERE objoid = 'copy_of_t'::regclass AND objsubid = 2")" "pii:note"
check "row membership is restored" \
	"$(psql -X -At -d $DST -c "SELECT count(*) || ':' || sum(row_count) FROM ai_guard.pull_members")" "$members"
check "erasure_impact finds the pull of a restored row" \
	"$(PGOPTIONS="-c ai_guard.purpose=research:check" psql -X -At -d $DST \
		-c "SELECT count(*) FROM ai_guard.erasure_impact('tr', (SELECT array_agg(ai_guard_row_id) FROM tr WHERE id = 2)) WHERE membership = 'exact'")" "1"
check "audit_restore does not allow changes" \
	"$(PGOPTIONS='-c ai_guard.audit_restore=on' psql -X -At -d $DST -c 'DELETE FROM ai_guard.pulls' 2>&1 | grep -c 'cannot modify')" "1"
check "an ordinary role cannot turn audit_restore on" \
	"$(psql -X -At -d $DST -c 'CREATE ROLE regress_audit_dump_user' \
		-c 'SET ROLE regress_audit_dump_user' -c 'SET ai_guard.audit_restore = on' 2>&1 |
		grep -c 'permission denied to set parameter')" "1"
psql -X -q -d $DST -c 'DROP ROLE regress_audit_dump_user' >/dev/null 2>&1
psql -X -q -d $DST -c 'SELECT ai_guard.audit_flush()' >/dev/null
pulls=$(psql -X -At -d $DST -c 'SELECT count(*) FROM ai_guard.pulls')
psql -X -q -d $DST -v ON_ERROR_STOP=1 -o /dev/null \
	-c "SET ai_guard.purpose = 'backup:after-restore'" -c 'SELECT * FROM t' \
	-c 'SELECT ai_guard.audit_flush()'
check "a pull after the restore extends the chain" \
	"$(psql -X -At -d $DST -c 'SELECT count(*) FROM ai_guard.pulls')" "$((pulls + 1))"
check "and the chain still verifies" \
	"$(psql -X -At -d $DST -c 'SELECT intact FROM ai_guard.verify_audit()')" "t"

echo "1..$n"
exit $fail
