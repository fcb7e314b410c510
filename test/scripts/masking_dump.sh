#!/usr/bin/env bash
# Labels, masked views and masked access survive pg_dump / pg_restore, and the
# restored views still follow their tables. Uses the running throwaway
# cluster (PGHOST/PGPORT/PGUSER). Prints TAP.
set -u
n=0
failed=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1 (got '$2', want '$3')"
		failed=1
	fi
}
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

src=masking_dump_src
dst=masking_dump_dst
ds=regress_masking_dump_ds
dump=$(mktemp /tmp/masking_dump.XXXXXX)
cleanup() {
	dropdb --if-exists "$src" >/dev/null 2>&1
	dropdb --if-exists "$dst" >/dev/null 2>&1
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ds" >/dev/null 2>&1
	rm -f "$dump"
}
trap cleanup EXIT
cleanup
psql -X -q -d postgres -c "CREATE ROLE $ds LOGIN" || exit 1

createdb "$src" || exit 1
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d "$src" <<SQL || { echo "not ok 1 - set-up"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION ai_guard;
CREATE SCHEMA crm;
CREATE SCHEMA masked;
CREATE TABLE crm.people (id int PRIMARY KEY, email text, phone text, birth date,
                         notes text, internal_code text);
INSERT INTO crm.people VALUES
 (1, 'anna@example.com', '+49 30 1234567', '1987-06-05', 'mail anna@example.com', 'x1'),
 (2, 'liam@example.org', '(212) 555-0123', '1990-12-31', 'card 4111111111111111', 'x2');
SECURITY LABEL FOR ai_guard ON COLUMN crm.people.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN crm.people.email IS 'pii:email';
SECURITY LABEL FOR ai_guard ON COLUMN crm.people.phone IS 'pii:phone mask=mask_phone(3)';
SECURITY LABEL FOR ai_guard ON COLUMN crm.people.birth IS 'pii:birth_date mask=generalize(''decade'')';
SECURITY LABEL FOR ai_guard ON COLUMN crm.people.notes IS 'pii:free_text';
SELECT ai_guard.create_masked_view('crm.people', 'masked');
SELECT ai_guard.grant_masked_access('$ds');
SELECT ai_guard.grant_purpose('$ds', 'training');
SQL

view_sql='SELECT id, email, phone, birth, notes FROM masked.people ORDER BY id'
labels_sql="SELECT string_agg(a.attname || '=' || s.label, ';' ORDER BY a.attnum)
  FROM pg_seclabel s JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
 WHERE s.provider = 'ai_guard' AND s.objoid = 'crm.people'::regclass"
before_view=$(q "$src" "$view_sql")
before_labels=$(q "$src" "$labels_sql")

pg_dump -Fc -f "$dump" "$src" || { echo "not ok 1 - pg_dump"; exit 1; }
createdb "$dst" || exit 1
restore_log=$(PGOPTIONS='-c ai_guard.audit_restore=on' pg_restore --exit-on-error -d "$dst" "$dump" 2>&1)
check "pg_restore succeeds" "$?" "0"
[ -n "$restore_log" ] && echo "# $restore_log" | head -n 20

check "labels survive" "$(q "$dst" "$labels_sql")" "$before_labels"
check "the masked view survives with the same masked rows" "$(q "$dst" "$view_sql")" "$before_view"
check "the restored view is a security_barrier view" \
	"$(q "$dst" "SELECT reloptions::text FROM pg_class WHERE oid = 'masked.people'::regclass")" \
	"{security_barrier=true}"
check "the registry knows the restored view" \
	"$(q "$dst" "SELECT view::text || ' of ' || base::text FROM ai_guard.masked_views")" \
	"masked.people of crm.people"
check "the restored view is governed" \
	"$(q "$dst" "SELECT rel::text FROM ai_guard.governed_relations WHERE reason = 'masked_view'")" \
	"masked.people"
check "masked access survives" \
	"$(q "$dst" "SELECT has_table_privilege('$ds', 'masked.people', 'SELECT')::text || has_table_privilege('$ds', 'crm.people', 'SELECT')::text")" \
	"truefalse"
check "the data scientist reads the restored view" \
	"$(PGUSER=$ds PGOPTIONS='-c ai_guard.purpose=training:dump' q "$dst" "SELECT count(*) FROM masked.people WHERE email LIKE '%***@%'")" "2"
check "the data scientist cannot read the restored base table" \
	"$(PGUSER=$ds psql -X -At -d "$dst" -c 'SELECT * FROM crm.people' 2>&1 | grep -c 'permission denied')" "1"

# the restored view still follows its table
q "$dst" "ALTER TABLE crm.people ADD COLUMN city text DEFAULT 'Berlin';
          SECURITY LABEL FOR ai_guard ON COLUMN crm.people.city IS 'public';
          ALTER TABLE crm.people DROP COLUMN phone" >/dev/null
check "the restored view follows ALTER TABLE and new labels" \
	"$(q "$dst" "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	              WHERE attrelid = 'masked.people'::regclass AND attnum > 0")" \
	"id,email,birth,notes,city"
check "and masked access still applies to it" \
	"$(PGUSER=$ds PGOPTIONS='-c ai_guard.purpose=training:dump' q "$dst" "SELECT count(*) FROM masked.people WHERE city = 'Berlin'")" "2"
check "a dump never carries the noise secret" \
	"$(pg_restore -l "$dump" | grep -c 'TABLE DATA ai_guard masking_secret' || true)" "0"

echo "1..$n"
exit $failed
