#!/usr/bin/env bash
# pg_dump / pg_restore of a database with encrypted columns, on the running
# throwaway cluster: keys, versions, grants and encrypted_columns come back
# (extension config tables), every value decrypts in the restored database,
# and nothing is encrypted twice, neither by a full restore nor by a
# data-only restore into a schema whose encryption triggers are active.
# Prints TAP.
set -u
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
work=
cleanup() {
	for db in regress_dump_src regress_dump_dst regress_dump_data; do
		dropdb --if-exists "$db" >/dev/null 2>&1
	done
	psql -X -q -d postgres -c 'DROP ROLE IF EXISTS regress_dump_reader' >/dev/null 2>&1
	[ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
cleanup
work=$(mktemp -d /tmp/ai_guard-dump.XXXXXX)

psql -X -q -d postgres -c 'CREATE ROLE regress_dump_reader'
createdb regress_dump_src
psql -X -q -v ON_ERROR_STOP=1 -d regress_dump_src >/dev/null <<'SQL'
CREATE EXTENSION ai_guard;
SELECT ai_guard.create_key('dump_gcm', 'aes-256-gcm');
SELECT ai_guard.create_key('dump_siv', 'aes-256-siv');
SELECT ai_guard.grant_key('dump_gcm', 'regress_dump_reader', 'decrypt');
CREATE TABLE people (id int PRIMARY KEY, ssn text, email text);
GRANT SELECT ON people TO regress_dump_reader;
INSERT INTO people SELECT g, format('%s-00-%s', g, g), format('user%s@example.com', g)
  FROM generate_series(1, 50) g;
SELECT ai_guard.encrypt_column('people', 'ssn', 'dump_gcm');
SELECT ai_guard.encrypt_column('people', 'email', 'dump_siv');
-- a second key version in use
SELECT ai_guard.rotate_key('dump_gcm');
INSERT INTO people VALUES (51, '51-00-51', 'user51@example.com');
CREATE TABLE people_digest AS SELECT id, md5(ssn) AS ssn_md5, md5(email) AS email_md5 FROM people;
SQL
check "source has 51 encrypted rows over 2 key versions" \
	"$(q regress_dump_src "SELECT count(*) || '/' || count(DISTINCT ai_guard.key_version(ssn)) FROM people")" "51/2"

pg_dump -Fc -f "$work/src.dump" regress_dump_src
check "pg_dump succeeds" "$?" "0"
createdb regress_dump_dst
PGOPTIONS='-c ai_guard.audit_restore=on' pg_restore -d regress_dump_dst --exit-on-error "$work/src.dump"
check "pg_restore succeeds" "$?" "0"

check "keys, versions and grants restored" \
	"$(q regress_dump_dst "SELECT (SELECT count(*) FROM ai_guard.keys) || '/' || (SELECT count(*) FROM ai_guard.key_versions) || '/' || (SELECT count(*) FROM ai_guard.key_grants)")" "2/3/1"
check "encrypted_columns restored" \
	"$(q regress_dump_dst "SELECT string_agg(rel::text || '.' || column_name, ',' ORDER BY column_name) FROM ai_guard.encrypted_columns")" "people.email,people.ssn"
check "ciphertexts restored byte for byte (nothing encrypted twice)" \
	"$(q regress_dump_dst "SELECT count(*) FROM people p JOIN people_digest d USING (id) WHERE md5(p.ssn) = d.ssn_md5 AND md5(p.email) = d.email_md5")" "51"
check "every value decrypts in the restored database" \
	"$(q regress_dump_dst "SELECT count(*) FROM people WHERE ai_guard.decrypt_text(ssn, 'public.people.ssn') = format('%s-00-%s', id, id) AND ai_guard.decrypt_text(email, 'public.people.email') = format('user%s@example.com', id)")" "51"
check "the encryption triggers are back" \
	"$(q regress_dump_dst "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'people'::regclass AND tgname LIKE 'zz_ai_guard_encrypt_%'")" "2"
q regress_dump_dst "INSERT INTO people VALUES (52, '52-00-52', 'user52@example.com')" >/dev/null
check "new rows in the restored database are encrypted" \
	"$(q regress_dump_dst "SELECT ai_guard.key_version(ssn) || ':' || ai_guard.decrypt_text(ssn, 'public.people.ssn') FROM people WHERE id = 52")" "2:52-00-52"
check "grants work after restore (reader decrypts)" \
	"$(q regress_dump_dst "SET ROLE regress_dump_reader; SELECT ai_guard.decrypt_text(ssn, 'public.people.ssn') FROM people WHERE id = 1" | tail -n 1)" "1-00-1"
check "new keys after restore do not collide with restored key ids" \
	"$(q regress_dump_dst "SELECT ai_guard.create_key('dump_new', 'aes-256-gcm') > max(key_id) FILTER (WHERE name <> 'dump_new') FROM ai_guard.keys")" "t"

# data-only restore into a database that already has the schema, the keys
# and the active encryption triggers: the triggers recognise the ciphertexts
createdb regress_dump_data
pg_dump -Fc --section=pre-data --section=post-data -f "$work/schema.dump" regress_dump_src
pg_restore -d regress_dump_data --exit-on-error "$work/schema.dump"
pg_dump -Fc --data-only -t people -f "$work/data.dump" regress_dump_src
# the key tables' rows (extension config) come first, then the user table
pg_dump --data-only -t 'ai_guard.keys' -t 'ai_guard.key_versions' -t 'ai_guard.keys_key_id_seq' regress_dump_src |
	psql -X -q -v ON_ERROR_STOP=1 -d regress_dump_data >/dev/null
pg_restore -d regress_dump_data --data-only --exit-on-error "$work/data.dump"
check "data-only restore with active triggers succeeds" "$?" "0"
check "the triggers were active during the data-only restore" \
	"$(q regress_dump_data "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'people'::regclass AND tgname LIKE 'zz_ai_guard_encrypt_%' AND tgenabled = 'O'")" "2"
check "data-only restore keeps ciphertexts byte for byte" \
	"$(q regress_dump_data "SELECT string_agg(md5(ssn) || md5(email), ',' ORDER BY id) FROM people")" \
	"$(q regress_dump_src "SELECT string_agg(md5(ssn) || md5(email), ',' ORDER BY id) FROM people")"
check "data-only restored values decrypt" \
	"$(q regress_dump_data "SELECT count(*) FROM people WHERE ai_guard.decrypt_text(ssn, 'public.people.ssn') = format('%s-00-%s', id, id)")" "51"

echo "1..$n"
exit $fail
