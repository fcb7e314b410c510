#!/usr/bin/env bash
# test/scripts/provenance_dump.sh: tags, batches and quarantines of tracked
# tables survive pg_dump/pg_restore (custom format), and the restored copy is
# still enforced: digests verify, the consent policy filters, the trigger
# stamps new rows with fresh row ids. Uses the running throwaway cluster
# (PGHOST/PGPORT/PGUSER); prints TAP.
set -uo pipefail

SRC=regress_prov_dump_src
DST=regress_prov_dump_dst
ROLE=regress_prov_dump_reader
WORK=$(mktemp -d)
n=0
failed=0

cleanup() {
	dropdb --if-exists -q "$SRC" 2>/dev/null
	dropdb --if-exists -q "$DST" 2>/dev/null
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ROLE" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() {
	n=$((n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3"
		echo "#   got:      '$1'"
		echo "#   expected: '$2'"
		failed=1
	fi
}

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

cleanup
WORK=$(mktemp -d)
createdb "$SRC" && createdb "$DST" || { echo "not ok 1 - create databases"; exit 1; }
psql -X -q -d postgres -c "CREATE ROLE $ROLE"

psql -X -q -v ON_ERROR_STOP=1 -d "$SRC" >/dev/null <<SQL || { echo "not ok 1 - set-up"; exit 1; }
CREATE EXTENSION ai_guard;
CREATE TABLE people (id int PRIMARY KEY, name text, born date, score numeric);
INSERT INTO people VALUES (0, 'before tracking', NULL, NULL);
SELECT ai_guard.track('people');
SELECT ai_guard.begin_ingest('crm', 'CC-BY-4.0', '{training,analytics}');
INSERT INTO people SELECT g, 'crm ' || g, date '1990-01-01' + g, g * 1.5 FROM generate_series(1, 50) g;
SELECT ai_guard.end_ingest();
SELECT ai_guard.begin_ingest('web', 'MIT', '{evaluation}');
INSERT INTO people SELECT g, 'web ' || g, NULL, g FROM generate_series(51, 80) g;
SELECT ai_guard.end_ingest();
UPDATE people SET name = 'renamed' WHERE id = 7;
SELECT ai_guard.quarantine('web', 'suspicious labels');
CREATE TABLE events (id int, region text, payload text) PARTITION BY LIST (region);
CREATE TABLE events_eu PARTITION OF events FOR VALUES IN ('eu');
CREATE TABLE events_us PARTITION OF events FOR VALUES IN ('us');
SELECT ai_guard.track('events');
SELECT ai_guard.begin_ingest('sensors', 'MIT', '{training}');
INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, 'p' || g FROM generate_series(1, 20) g;
SELECT ai_guard.end_ingest();
CREATE TABLE joined AS SELECT p.id, p.name, e.payload FROM people p JOIN events e USING (id);
GRANT SELECT ON people, events, joined TO $ROLE;
SELECT ai_guard.grant_purpose('$ROLE', c) FROM unnest(ARRAY['training', 'evaluation']) AS c;
SQL

ROWS="SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM %s t"
CATALOGS="SELECT md5(concat_ws('#',
  (SELECT string_agg(b::text, '|' ORDER BY b.batch_id) FROM ai_guard.batches b),
  (SELECT string_agg(q::text, '|' ORDER BY q.quarantine_id) FROM ai_guard.quarantines q),
  (SELECT string_agg(r.rel::text || ',' || r.root::text, '|' ORDER BY r.rel::text) FROM ai_guard.tracked_relations r),
  (SELECT string_agg(g.rel::text || ',' || g.reason, '|' ORDER BY g.rel::text, g.reason) FROM ai_guard.governed_relations g),
  (SELECT string_agg(rb.rel::text || ',' || rb.batch_id, '|' ORDER BY rb.rel::text, rb.batch_id) FROM ai_guard.relation_batches rb)))"

pg_dump -Fc -f "$WORK/dump" "$SRC" 2>"$WORK/dump.err"
ok "$?" 0 "pg_dump of a database with tracked tables"
PGOPTIONS='-c ai_guard.audit_restore=on' pg_restore -d "$DST" "$WORK/dump" 2>"$WORK/restore.err"
ok "$?" 0 "pg_restore into an empty database"
[ -s "$WORK/restore.err" ] && sed 's/^/# /' "$WORK/restore.err"

for t in people events joined; do
	ok "$(q "$DST" "$(printf "$ROWS" "$t")")" "$(q "$SRC" "$(printf "$ROWS" "$t")")" \
		"rows and tags of $t are identical after restore"
done
ok "$(q "$DST" "$CATALOGS")" "$(q "$SRC" "$CATALOGS")" \
	"batches, quarantines, tracked and governed relations are identical after restore"
ok "$(q "$DST" "SELECT count(*) FROM ai_guard.verify_rows('people')")" 0 \
	"restored rows still match their digests"
ok "$(q "$DST" "SELECT count(*) FROM ai_guard.verify_rows('events')")" 0 \
	"restored partitions still match their digests"
ok "$(q "$DST" "SELECT (ai_guard.tags(p)).source || '/' || (ai_guard.tags(p)).license || '/' || (ai_guard.tags(p)).updated_by FROM people p WHERE id = 7")" \
	"crm/CC-BY-4.0/postgres" "tags() reads the restored batches"
ok "$(q "$DST" "SELECT (ai_guard.tags(j)).source FROM joined j LIMIT 1")" "derived" \
	"derived tags survive restore"

# the restored copy is enforced
ok "$(psql -X -q -At -d "$DST" -c "SET ROLE $ROLE" -c "SET ai_guard.purpose = 'training:x'" -c "SELECT count(*) FROM people")" 50 \
	"consent policy filters the restored table"
ok "$(psql -X -q -At -d "$DST" -c "SET ROLE $ROLE" -c "SET ai_guard.purpose = 'evaluation'" -c "SELECT count(*) FROM people")" 0 \
	"the restored quarantine still hides its source"
ok "$(psql -X -q -At -d "$DST" -c "SET ROLE $ROLE" -c "SET ai_guard.purpose = 'training'" -c "SELECT count(*) FROM events")" 20 \
	"consent policy filters the restored partitioned table"
maxid=$(q "$DST" "SELECT max(ai_guard_row_id) FROM people")
psql -X -q -v ON_ERROR_STOP=1 -d "$DST" -c "SELECT ai_guard.begin_ingest('late', 'MIT', '{training}')" \
	-c "INSERT INTO people VALUES (100, 'after restore')" >/dev/null
ok "$(q "$DST" "SELECT ai_guard_row_id > $maxid AND ai_guard_digest = ai_guard.row_digest(p) FROM people p WHERE id = 100")" t \
	"new rows after restore are stamped with fresh row ids"

echo "1..$n"
exit $failed
