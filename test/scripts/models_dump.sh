#!/usr/bin/env bash
# Registered models survive pg_dump/pg_restore: the catalog (models,
# model_pulls, its sequence) is restored with the pulls it refers to, the
# lineage and the OpenLineage events are the same, and new models get new
# ids. Prints TAP.
set -u
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
SRC=regress_models_dump_src
DST=regress_models_dump_dst
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; dropdb --if-exists -f $SRC; dropdb --if-exists -f $DST' EXIT

dropdb --if-exists -f $SRC 2>/dev/null
dropdb --if-exists -f $DST 2>/dev/null
createdb $SRC
psql -X -q -d $SRC -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE EXTENSION ai_guard;
CREATE TABLE t (id int PRIMARY KEY, v text);
SELECT ai_guard.track('t');
SELECT ai_guard.begin_ingest('crm', 'CC-BY-4.0', '{training}');
INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 10) i;
SELECT ai_guard.end_ingest();
SET ai_guard.purpose = 'training:dump';
SELECT * FROM t;
SELECT count(*) FROM t WHERE id > 3;
SELECT ai_guard.audit_flush();
SELECT ai_guard.register_model('churn', 'v1', (SELECT array_agg(pull_id) FROM ai_guard.pulls),
                               '{"auc": 0.8}');
SELECT ai_guard.register_model('churn', 'v2', (SELECT array_agg(pull_id) FROM ai_guard.pulls WHERE rows = 10));
SQL
lineage_sql="SELECT string_agg(node || '<' || coalesce(parent, '') || ' ' || (detail - 'registered_at' - 'started_at' - 'ended_at')::text, E'\n' ORDER BY node, parent) FROM ai_guard.lineage('churn', 'v1')"
event_sql="SELECT ai_guard.openlineage_event(min(pull_id)) FROM ai_guard.model_pulls"
src_lineage=$(psql -X -At -d $SRC -c "$lineage_sql")
src_event=$(psql -X -At -d $SRC -c "$event_sql")
pg_dump -Fc -d $SRC -f "$WORK/dump"
check "pg_dump of a database with registered models" "$?" "0"

createdb $DST
PGOPTIONS='-c ai_guard.audit_restore=on' pg_restore --exit-on-error -d $DST "$WORK/dump"
check "pg_restore (with the audit records) succeeds" "$?" "0"
check "both models and their pulls are restored" \
	"$(psql -X -At -d $DST -c "SELECT string_agg(m.name || ':' || m.version || '/' || (SELECT count(*) FROM ai_guard.model_pulls mp WHERE mp.model_id = m.model_id), ',' ORDER BY m.version) FROM ai_guard.models m")" \
	"churn:v1/2,churn:v2/1"
check "the lineage is the same" "$(psql -X -At -d $DST -c "$lineage_sql")" "$src_lineage"
check "the OpenLineage event is the same (names come from the pull's record)" \
	"$(psql -X -At -d $DST -c "$event_sql")" "$src_event"
check "so is its run id: the same run in both" \
	"$(psql -X -At -d $DST -c "$event_sql" | grep -o '"runId": "[^"]*"')" "$(grep -o '"runId": "[^"]*"' <<<"$src_event")"
check "a new model gets a new id (the sequence is restored)" \
	"$(psql -X -At -d $DST -c "SELECT ai_guard.register_model('churn', 'v3', ARRAY[(SELECT min(pull_id) FROM ai_guard.pulls)]) > (SELECT max(model_id) FROM ai_guard.models WHERE version <> 'v3')")" "t"
check "a registered version stays unique after the restore" \
	"$(psql -X -At -d $DST -c "SELECT ai_guard.register_model('churn', 'v1', ARRAY[1])" 2>&1 | grep -c 'already exists')" "1"

echo "1..$n"
exit $fail
