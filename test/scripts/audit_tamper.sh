#!/usr/bin/env bash
# Tamper evidence: a superuser who disables the protection and edits,
# deletes or truncates audit records is caught by ai_guard.verify_audit(),
# also when the hashes are recomputed (the chain is keyed: each entry's MAC
# needs the chain key, which SQL never sees). Truncating the newest entries
# is caught by anchors (audit_anchors.sh).
# Each case runs in a database of its own. Prints TAP.
set -u
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}

# fresh_db NAME: a database with the extension, its first key epoch (chain
# entry 1), 2 changes of governance (entries 2 and 3) and 4 completed pulls
# (entries 4 to 11)
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
		-c 'ALTER TABLE ai_guard.audit_epochs DISABLE TRIGGER USER' \
		-c 'ALTER TABLE ai_guard.governance_log DISABLE TRIGGER USER' \
		"$@" \
		-c 'ALTER TABLE ai_guard.pulls ENABLE ALWAYS TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.audit_log ENABLE ALWAYS TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.audit_state ENABLE ALWAYS TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.audit_epochs ENABLE ALWAYS TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.governance_log ENABLE ALWAYS TRIGGER protect'
}

# recompute every hash the way the unkeyed chain is computed (content hash of
# each pull's latest entry, links, the pulls' copies, the head): what an
# insider who knows the published formula does after an edit. With $1 true
# the MACs of entries $2 and later are removed as well.
rehash() {
	cat <<SQL
DO \$\$
DECLARE r record; prev text := ''; h text; c text;
BEGIN
  FOR r IN SELECT a.*, (SELECT max(b.seq) FROM ai_guard.audit_log b WHERE b.pull_id = a.pull_id
                          AND b.event NOT IN ('members', 'relation', 'governance', 'epoch')) AS latest
             FROM ai_guard.audit_log a ORDER BY a.seq LOOP
    c := r.content_hash;
    IF r.seq = r.latest THEN
      c := ai_guard._record_hash('', ai_guard._pull_fields((SELECT p FROM ai_guard.pulls p WHERE p.pull_id = r.pull_id)));
    END IF;
    h := ai_guard._record_hash(prev, ARRAY[r.seq::text, r.pull_id::text, r.event, c]);
    UPDATE ai_guard.audit_log SET content_hash = c, prev_hash = prev, record_hash = h,
           mac = CASE WHEN $1 AND seq >= $2 THEN NULL ELSE mac END
     WHERE seq = r.seq;
    prev := h;
  END LOOP;
  UPDATE ai_guard.audit_state SET head = prev;
  UPDATE ai_guard.pulls p SET prev_hash = l.prev_hash, record_hash = l.record_hash
    FROM (SELECT DISTINCT ON (pull_id) * FROM ai_guard.audit_log
           WHERE event NOT IN ('members', 'relation', 'governance', 'epoch')
           ORDER BY pull_id, seq DESC) l
   WHERE l.pull_id = p.pull_id;
END \$\$;
SQL
}

db=regress_audit_tamper
fresh_db $db
check "an untouched chain verifies" "$(verify $db)" "t"
check "the head is a SHA-256" "$(psql -X -At -d $db -c 'SELECT seq, length(head) FROM ai_guard.audit_head()')" "11|64"

unprotected $db -c 'UPDATE ai_guard.pulls SET rows = 0 WHERE pull_id = 2'
check "an edited record is found" "$(verify $db)" "f|2|pull 2 was altered after chain entry 7"
unprotected $db -c 'UPDATE ai_guard.pulls SET rows = 1 WHERE pull_id = 2'
check "restoring the exact values makes it verify again" "$(verify $db)" "t"

unprotected $db -c "UPDATE ai_guard.pulls SET purpose = 'audit:innocent' WHERE pull_id = 3"
check "an edited purpose is found" "$(verify $db)" "f|3|pull 3 was altered after chain entry 9"

fresh_db $db
unprotected $db -c 'DELETE FROM ai_guard.pulls WHERE pull_id = 1'
check "a deleted record is found" "$(verify $db)" "f|1|pull 1 was deleted"

fresh_db $db
unprotected $db -c 'DELETE FROM ai_guard.pulls WHERE pull_id = 2' -c "DELETE FROM ai_guard.audit_log WHERE pull_id = 2 AND event <> 'governance'"
check "a record deleted with its chain entries is found" "$(verify $db)" "f|chain entry 6 is missing (next present is 8)"

fresh_db $db
unprotected $db -c "UPDATE ai_guard.audit_log SET content_hash = repeat('0', 64) WHERE seq = 8"
check "an edited chain entry is found" "$(verify $db)" "f|3|chain entry 8 was altered"

fresh_db $db
unprotected $db -c 'DELETE FROM ai_guard.pulls WHERE pull_id = 4' -c "DELETE FROM ai_guard.audit_log WHERE pull_id = 4 AND event <> 'governance'"
check "a removed tail is found by the head" "$(verify $db)" "f|the chain ends at entry 9 but its recorded head is entry 11"

fresh_db $db
unprotected $db -c 'TRUNCATE ai_guard.pulls, ai_guard.audit_log'
check "a truncation is found" "$(verify $db)" "f|the chain ends at entry 0 but its recorded head is entry 11"

# the keyed chain: recomputing the hashes does not hide an edit
fresh_db $db
unprotected $db -c 'UPDATE ai_guard.pulls SET rows = 99 WHERE pull_id = 2' -c "$(rehash false 0)"
check "an edit with every hash recomputed is found by its MAC" "$(verify $db)" \
	"f|2|chain entry 7 is forged: its MAC does not verify under the chain key of epoch 1"
out=$(psql -X -At -d $db -c 'SELECT seq FROM ai_guard.audit_head()' 2>&1)
check "a forged head is not signed" "$out" \
	"$(printf 'ERROR:  the audit chain head (entry 11) does not verify, so it is not signed\nHINT:  Run ai_guard.verify_audit().\nCONTEXT:  SQL function "audit_head" statement 1')"
psql -X -q -d $db -o /dev/null -c "SET ai_guard.purpose = 'audit:after'" -c 'SELECT count(*) FROM t' -c 'SELECT ai_guard.audit_flush()'
check "records written after a forgery do not hide it" "$(verify $db)" \
	"f|2|chain entry 7 is forged: its MAC does not verify under the chain key of epoch 1"

fresh_db $db
unprotected $db -c 'UPDATE ai_guard.pulls SET rows = 99 WHERE pull_id = 2' -c "$(rehash true 7)"
check "an edit whose MACs are removed is found" "$(verify $db)" \
	"f|2|chain entry 7 is forged: it carries no MAC"

fresh_db $db
unprotected $db -c "UPDATE ai_guard.audit_epochs SET previous_verified = true"
check "an edited key epoch is found" "$(verify $db)" "f|key epoch 1 was altered"

fresh_db $db
unprotected $db -c "DELETE FROM ai_guard.audit_epochs"
check "a deleted key epoch is found" "$(verify $db)" \
	"f|key epoch 1 (chain entry 1) was deleted or belongs to another database"

fresh_db $db
unprotected $db -c "UPDATE ai_guard.audit_state SET database_id = gen_random_uuid()::text"
check "another audit identity (other keys) is found" "$(verify $db)" \
	"f|key epoch 1 (chain entry 1) was deleted or belongs to another database"

# strip the keying: drop the epoch, renumber, remove every MAC, rehash; the
# writer then keys the chain again as if it had been updated from 0.2
fresh_db $db
unprotected $db -c "DELETE FROM ai_guard.audit_log WHERE event = 'epoch'" -c 'DELETE FROM ai_guard.audit_epochs' \
	-c 'UPDATE ai_guard.audit_log SET seq = seq - 1' -c "$(rehash true 0)" -c 'UPDATE ai_guard.audit_state SET seq = seq - 1'
psql -X -q -d $db -o /dev/null -c "SET ai_guard.purpose = 'audit:after'" -c 'SELECT count(*) FROM t' -c 'SELECT ai_guard.audit_flush()'
check "a chain stripped of its MACs is not intact on a database created at 0.3" "$(verify $db)" \
	"f|10 chain entries carry no MAC but ai_guard.audit_unkeyed_entries is 0: a database created at 0.3 has none; after an update from 0.2, set it to the number of entries the chain then had"

# ids reused: a record deleted and its id handed out again, so that a new,
# MACed record stands in for the old one
fresh_db $db
unprotected $db -c 'DELETE FROM ai_guard.pulls WHERE pull_id = 2' -c "SELECT setval('ai_guard.pulls_pull_id_seq', 1)"
psql -X -q -d $db -o /dev/null -c "SET ai_guard.purpose = 'audit:stand-in'" -c 'SELECT * FROM t WHERE id = 2' -c 'SELECT ai_guard.audit_flush()'
check "a pull id handed out again is found" "$(verify $db)" "f|2|pull 2 was recorded more than once (its id was reused)"
fresh_db $db
unprotected $db -c 'DELETE FROM ai_guard.governance_log WHERE change_id = 2' \
	-c "SELECT setval('ai_guard.governance_log_change_id_seq', 1)"
psql -X -q -d $db -o /dev/null -c "SELECT ai_guard.grant_purpose('postgres', 'analytics')" -c 'SELECT ai_guard.audit_flush()'
check "a governance change id handed out again is found" "$(verify $db)" \
	"f|governance change 2 was recorded more than once (its id was reused)"

# a pull edited between its start and its outcome (the outcome's entry
# would hash the edit)
fresh_db $db
psql -X -q -d $db -o /dev/null <<SQL
SET ai_guard.purpose = 'audit:cursor';
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM t;
FETCH 1 FROM c;
\! psql -X -q -d $db -c 'ALTER TABLE ai_guard.pulls DISABLE TRIGGER protect' -c "UPDATE ai_guard.pulls SET purpose = 'audit:innocent' WHERE pull_id = 5" -c 'ALTER TABLE ai_guard.pulls ENABLE ALWAYS TRIGGER protect'
FETCH ALL FROM c;
COMMIT;
SELECT ai_guard.audit_flush();
SQL
check "a pull edited between its start and its outcome is found" "$(verify $db)" \
	"f|5|pull 5 was altered between its start (chain entry 12) and its outcome"

# the writer hashes what it wrote itself, not what a replaced function says
fresh_db $db
def=$(psql -X -At -d $db -c "SELECT pg_get_functiondef('ai_guard._pull_fields(ai_guard.pulls)'::regprocedure)")
psql -X -q -d $db -o /dev/null -c "CREATE OR REPLACE FUNCTION ai_guard._pull_fields(p ai_guard.pulls) RETURNS text[] LANGUAGE sql STABLE AS \$\$ SELECT ARRAY['forged'] \$\$" \
	-c "SET ai_guard.purpose = 'audit:replaced'" -c 'SELECT count(*) FROM t' -c 'SELECT ai_guard.audit_flush()'
psql -X -q -d $db -o /dev/null -c "$def"
check "a replaced _pull_fields() does not decide what the writer MACs" "$(verify $db)" "t"

# the writer extends only a head whose MAC verifies
fresh_db $db
unprotected $db -c "INSERT INTO ai_guard.audit_log SELECT 12, 99, 'started', repeat('a', 64), record_hash, ai_guard._record_hash(record_hash, ARRAY['12', '99', 'started', repeat('a', 64)]), repeat('0', 64) FROM ai_guard.audit_log WHERE seq = 11" \
	-c "UPDATE ai_guard.audit_state SET seq = 12, head = (SELECT record_hash FROM ai_guard.audit_log WHERE seq = 12)"
check "a forged head stops the writer: reads are refused" \
	"$(psql -X -q -d $db -c "SET ai_guard.purpose = 'audit:after'" -c 'SELECT count(*) FROM t' 2>&1 | grep -c 'could not record the read')" 1
check "and nothing extends it" "$(psql -X -At -d $db -c 'SELECT max(seq) FROM ai_guard.audit_log')" 12

# a head a superuser nulled is refused, not a crash
fresh_db $db
out=$(psql -X -q -d $db -c 'ALTER TABLE ai_guard.audit_state DISABLE TRIGGER protect' \
	-c 'ALTER TABLE ai_guard.audit_state ALTER head DROP NOT NULL' -c 'UPDATE ai_guard.audit_state SET head = NULL' \
	-c 'SELECT * FROM ai_guard.audit_head()' 2>&1 | grep -E '^ERROR|terminated')
check "a NULL head is reported as malformed" "$out" "ERROR:  the audit chain head is malformed, so it is not signed"

# code attached to an audit table would run inside the writer (where writes
# pass the protect trigger) and could swap what it MACs: the writer refuses
fresh_db $db
psql -X -q -d $db -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE TABLE public.forged AS SELECT * FROM ai_guard.pulls WHERE pull_id = 2;
UPDATE public.forged SET query = 'SELECT 1', rows = 1;
CREATE FUNCTION public.swap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM ai_guard.pulls WHERE pull_id = 2;
	RETURN (SELECT f FROM public.forged f);
END $$;
CREATE FUNCTION public.evil() RETURNS bool LANGUAGE plpgsql AS $$
BEGIN DELETE FROM ai_guard.pulls WHERE pull_id = 2; RETURN true; END $$;
CREATE FUNCTION public.evil_text() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
CREATE FUNCTION public.evil_imm(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RETURN $1; END $$;
SQL
read_once() {
	psql -X -q -d $db -c "SET ai_guard.purpose = 'audit:attached'" -c 'SELECT count(*) FROM t' 2>&1 |
		grep -c 'could not record the read'
}
for attach in \
	"trigger|CREATE TRIGGER zz_swap BEFORE INSERT ON ai_guard.pulls FOR EACH ROW EXECUTE FUNCTION public.swap()|DROP TRIGGER zz_swap ON ai_guard.pulls" \
	"rule|CREATE RULE zz_rule AS ON INSERT TO ai_guard.audit_log DO ALSO DELETE FROM ai_guard.pulls WHERE pull_id = 2|DROP RULE zz_rule ON ai_guard.audit_log" \
	"check constraint|ALTER TABLE ai_guard.audit_epochs ADD CONSTRAINT zz_check CHECK (public.evil()) NOT VALID|ALTER TABLE ai_guard.audit_epochs DROP CONSTRAINT zz_check" \
	"default|ALTER TABLE ai_guard.pulls ALTER COLUMN target SET DEFAULT public.evil_text()|ALTER TABLE ai_guard.pulls ALTER COLUMN target DROP DEFAULT" \
	"index expression|CREATE INDEX zz_index ON ai_guard.governance_log (public.evil_imm(catalog))|DROP INDEX ai_guard.zz_index"; do
	IFS='|' read -r what add drop <<<"$attach"
	psql -X -q -d $db -v ON_ERROR_STOP=1 -c "$add"
	check "code in a $what on an audit table stops the writer: the read is refused" "$(read_once)" 1
	psql -X -q -d $db -v ON_ERROR_STOP=1 -c "$drop"
	check "once the $what is gone, reads are recorded again" "$(read_once)" 0
done
check "and nothing was swapped" "$(verify $db)|$(psql -X -At -d $db -c 'SELECT query FROM ai_guard.pulls WHERE pull_id = 2')" \
	"t|SELECT * FROM t WHERE id = 2;"

# a model and the pulls it was trained on are changes of governance: chained
fresh_db $db
psql -X -q -d $db -o /dev/null -c "SELECT ai_guard.register_model('m', '1', ARRAY[1, 2]::bigint[])" -c 'SELECT ai_guard.audit_flush()'
check "a registered model is in the chain" \
	"$(psql -X -At -d $db -c "SELECT string_agg(DISTINCT a.event || ':' || g.catalog, ',') FROM ai_guard.governance_log g JOIN ai_guard.audit_log a ON a.pull_id = g.change_id AND a.event = 'governance' WHERE g.catalog IN ('models', 'model_pulls')")" \
	"governance:model_pulls,governance:models"
unprotected $db -c "UPDATE ai_guard.governance_log SET after = jsonb_set(after, '{version}', '\"2\"') WHERE catalog = 'models'"
check "an edited model registration is found" "$(verify $db | sed 's/change [0-9]*/change N/')" \
	"f|governance change N was altered"

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
