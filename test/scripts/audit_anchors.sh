#!/usr/bin/env bash
# Evidence outside the database: signed heads (ai-guard anchor), pull
# manifests as anchors, ai-guard verify-chain offline and online, and key
# epochs across a master key change and a restore under another master key.
# The attacks are a superuser's: a truncated and regrown chain, a flipped
# signature byte, another database's key, a replayed anchor. Prints TAP.
set -u
CLI=$(/usr/lib/postgresql/15/bin/pg_config --bindir)/ai-guard
W=$(mktemp -d)
chmod 755 "$W"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/# /' <<<"$2"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "got: $2
want: $3"; fi; }
# expect WANT_STATUS PATTERN DESC CMD...: exit status and a line of output
expect() {
	local want=$1 pattern=$2 desc=$3 out st
	shift 3
	out=$("$@" 2>&1)
	st=$?
	LAST_OUT=$out
	if [ "$st" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out"; then ok "$desc"; else
		notok "$desc (exit $st, want $want, pattern /$pattern/)" "$out"; fi
}
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

DB=regress_anchors
OTHER=regress_anchors_other
KEYDB=regress_anchors_restored
restore_keys() {
	psql -X -q -d postgres -c 'ALTER SYSTEM RESET ai_guard.master_key_file' \
		-c 'ALTER SYSTEM RESET ai_guard.previous_master_key_file' -c 'SELECT pg_reload_conf()' >/dev/null
	for d in $DB $OTHER $KEYDB; do dropdb --if-exists -f $d 2>/dev/null; done
	psql -X -q -d postgres -c 'DROP ROLE IF EXISTS regress_anchor_reader' 2>/dev/null
	rm -rf "$W"
}
trap restore_keys EXIT

setup_db() {
	dropdb --if-exists -f "$1" 2>/dev/null
	createdb "$1"
	psql -X -q -d "$1" -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE EXTENSION ai_guard;
CREATE TABLE t AS SELECT i AS id, 'v' || i AS v FROM generate_series(1, 20) i;
SELECT ai_guard.govern('t');
SELECT ai_guard.grant_purpose('postgres', 'audit');
SQL
}
pull() { psql -X -q -d "$1" -o /dev/null -c "SET ai_guard.purpose = 'audit:anchors'" -c "SELECT * FROM t WHERE id <= ${2:-5}" -c 'SELECT ai_guard.audit_flush()'; }

setup_db $DB
check "the head is signed once governance changes are recorded" \
	"$(q -c 'SELECT seq > 0, signature IS NOT NULL FROM ai_guard.audit_head()')" "t|t"
pull $DB 3
expect 0 '^$' "ai-guard anchor appends a signed head" "$CLI" anchor -d $DB -o "$W/anchors"
pull $DB 4
expect 0 '^$' "a second anchor is appended" "$CLI" anchor -d $DB -o "$W/anchors"
check "the anchors file has one JSON line per anchor" "$(wc -l <"$W/anchors")" 2
KEY=$(q -c 'SELECT ai_guard.audit_public_key()')
check "audit_public_key() is the key in the anchors" \
	"$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["public_key"])' "$W/anchors")" "$KEY"
expect 0 '2 anchor\(s\) verified' "verify-chain accepts its anchors (first anchor's key trusted)" \
	"$CLI" verify-chain -d $DB --anchors "$W/anchors"
expect 0 'trusting the first anchor' "verify-chain says when it trusts a key on first use" \
	"$CLI" verify-chain -d $DB --anchors "$W/anchors" --offline
expect 0 '2 anchor\(s\) verified' "verify-chain with the pinned public key" \
	"$CLI" verify-chain -d $DB --anchors "$W/anchors" --public-key "$KEY"

# the signature is plain Ed25519 over the documented message: openssl checks it
python3 - "$W/anchors" "$W" <<'PY'
import json, sys
a = json.loads(open(sys.argv[1]).readline())
w = sys.argv[2]
msg = "ai_guard audit head v1\n%s\n%d\n%s\n%s" % (a["database_id"], a["seq"], a["head"], a["signed_at"])
open(w + "/msg", "w").write(msg)
open(w + "/sig", "wb").write(bytes.fromhex(a["signature"]))
open(w + "/pub.der", "wb").write(bytes.fromhex("302a300506032b6570032100" + a["public_key"]))
PY
expect 0 'Signature Verified Successfully' "openssl verifies a signed head with the public key alone" \
	openssl pkeyutl -verify -pubin -keyform DER -inkey "$W/pub.der" -rawin -in "$W/msg" -sigfile "$W/sig"

# a pull manifest carries the signed head after the pull: it is an anchor
PGDATABASE=$DB "$CLI" pull --purpose audit:manifest -o "$W/pulled.copy" --table t >/dev/null 2>&1
check "a pull manifest carries a signed head" \
	"$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["audit_head"]; print(len(h["signature"]), h["public_key"] == sys.argv[2])' "$W/pulled.copy.manifest.json" "$KEY")" "128 True"
expect 0 '3 anchor\(s\) verified' "verify-chain takes manifests as anchors" \
	"$CLI" verify-chain -d $DB --anchors "$W/anchors" --anchors "$W/pulled.copy.manifest.json" --public-key "$KEY"
expect 0 '3 anchor\(s\) verified' "files of anchors in any order (a newer file first is no replay)" \
	"$CLI" verify-chain -d $DB --anchors "$W/pulled.copy.manifest.json" --anchors "$W/anchors" --public-key "$KEY"

# a flipped byte of a signature
python3 - "$W/anchors" "$W/flipped" <<'PY'
import json, sys
a = json.loads(open(sys.argv[1]).readline())
s = bytearray(bytes.fromhex(a["signature"])); s[10] ^= 1
a["signature"] = s.hex()
open(sys.argv[2], "w").write(json.dumps(a) + "\n")
PY
expect 1 'THE SIGNATURE DOES NOT VERIFY' "a flipped signature byte is reported" \
	"$CLI" verify-chain -d $DB --anchors "$W/flipped" --public-key "$KEY" --offline
# a changed head under the old signature
python3 - "$W/anchors" "$W/edited" <<'PY'
import json, sys
a = json.loads(open(sys.argv[1]).readline())
a["seq"] += 1
open(sys.argv[2], "w").write(json.dumps(a) + "\n")
PY
expect 1 'THE SIGNATURE DOES NOT VERIFY' "an anchor whose entry number was changed is reported" \
	"$CLI" verify-chain -d $DB --anchors "$W/edited" --public-key "$KEY" --offline

# another database's key, and another database's anchor
setup_db $OTHER
pull $OTHER 2
OKEY=$(psql -X -At -d $OTHER -c 'SELECT ai_guard.audit_public_key()')
check "each database has its own signing key" "$([ "$OKEY" != "$KEY" ] && echo differ)" "differ"
expect 1 'SIGNED BY AN UNKNOWN KEY' "anchors checked against another database's public key are reported" \
	"$CLI" verify-chain -d $DB --anchors "$W/anchors" --public-key "$OKEY" --offline
"$CLI" anchor -d $OTHER -o "$W/other" >/dev/null 2>&1
expect 1 'FROM ANOTHER DATABASE' "another database's anchor against this database is reported" \
	"$CLI" verify-chain -d $DB --anchors "$W/other" --public-key "$OKEY"

# a replayed anchor: the first one again after the second
{ cat "$W/anchors"; head -n 1 "$W/anchors"; } >"$W/replayed"
expect 1 'OLDER than the anchor before it' "a replayed old anchor is reported" \
	"$CLI" verify-chain -d $DB --anchors "$W/replayed" --public-key "$KEY" --offline

# a superuser truncates the newest entries and resets the head: the chain
# verifies by itself, but not against the anchors
cp "$W/anchors" "$W/before-truncation"
pull $DB 6
"$CLI" anchor -d $DB -o "$W/before-truncation" >/dev/null 2>&1
CUT=$(sed -n 2p "$W/anchors" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
psql -X -q -d $DB -v ON_ERROR_STOP=1 -o /dev/null <<SQL
BEGIN;
ALTER TABLE ai_guard.pulls DISABLE TRIGGER USER;
ALTER TABLE ai_guard.audit_log DISABLE TRIGGER USER;
ALTER TABLE ai_guard.audit_state DISABLE TRIGGER USER;
DELETE FROM ai_guard.pulls p WHERE NOT EXISTS
  (SELECT 1 FROM ai_guard.audit_log a WHERE a.pull_id = p.pull_id AND a.seq <= $CUT
      AND a.event NOT IN ('members', 'relation', 'governance', 'epoch'));
DELETE FROM ai_guard.audit_log WHERE seq > $CUT;
UPDATE ai_guard.audit_state SET seq = $CUT, head = (SELECT record_hash FROM ai_guard.audit_log WHERE seq = $CUT);
ALTER TABLE ai_guard.pulls ENABLE ALWAYS TRIGGER protect;
ALTER TABLE ai_guard.audit_log ENABLE ALWAYS TRIGGER protect;
ALTER TABLE ai_guard.audit_state ENABLE ALWAYS TRIGGER protect;
COMMIT;
SQL
check "after a truncation and a reset head verify_audit() alone sees nothing" \
	"$(q -c 'SELECT intact FROM ai_guard.verify_audit()')" "t"
expect 1 'IS GONE: the chain was truncated after this anchor' "verify-chain reports the truncation after an anchor" \
	"$CLI" verify-chain -d $DB --anchors "$W/before-truncation" --public-key "$KEY"
pull $DB 7
pull $DB 8
expect 1 'WAS REWRITTEN after it was anchored' "a truncated chain grown back over the anchor is reported" \
	"$CLI" verify-chain -d $DB --anchors "$W/before-truncation" --public-key "$KEY"

# functions on the server can be replaced by a superuser: verify-chain
# reads the raw chain and recomputes it rather than trust them
psql -X -q -d $DB -v ON_ERROR_STOP=1 -o /dev/null <<SQL
CREATE TABLE public.old_hashes AS SELECT seq, record_hash FROM ai_guard.audit_log;
CREATE OR REPLACE FUNCTION ai_guard.audit_entry_hash(seq bigint) RETURNS text
LANGUAGE sql AS \$\$ SELECT h FROM (VALUES $(python3 -c 'import json,sys; print(",".join("(%d, %s)" % (a["seq"], repr(a["head"])) for a in map(json.loads, open(sys.argv[1]))))' "$W/before-truncation")) v(s, h) WHERE s = \$1 \$\$;
CREATE OR REPLACE FUNCTION ai_guard.verify_audit(OUT intact bool, OUT records int8, OUT broken_seq int8,
	OUT broken_pull_id int8, OUT problem text, OUT in_progress int8, OUT cut_off int8, OUT epoch int8,
	OUT unkeyed int8) LANGUAGE sql AS \$\$ SELECT true, 100::int8, NULL::int8, NULL::int8, NULL::text, 0::int8, 0::int8, 1::int8, 0::int8 \$\$;
SQL
expect 1 'WAS REWRITTEN after it was anchored' "replaced audit_entry_hash() and verify_audit() do not fool verify-chain" \
	"$CLI" verify-chain -d $DB --anchors "$W/before-truncation" --public-key "$KEY"
# a pull's content edited under a replaced _pull_fields(), the chain kept
psql -X -q -d $DB -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE TABLE public.saved_fields AS SELECT p.pull_id, ai_guard._pull_fields(p) AS f FROM ai_guard.pulls p;
CREATE OR REPLACE FUNCTION ai_guard._pull_fields(p ai_guard.pulls) RETURNS text[]
LANGUAGE sql STABLE AS $$ SELECT f FROM public.saved_fields s WHERE s.pull_id = p.pull_id $$;
ALTER TABLE ai_guard.pulls DISABLE TRIGGER protect;
UPDATE ai_guard.pulls SET purpose = 'audit:innocent' WHERE pull_id = 1;
ALTER TABLE ai_guard.pulls ENABLE ALWAYS TRIGGER protect;
SQL
expect 1 'pull 1 WAS ALTERED after chain entry' "a record edited under a replaced _pull_fields() is found: verify-chain hashes the raw record itself" \
	"$CLI" verify-chain -d $DB --anchors "$W/anchors" --public-key "$KEY"
psql -X -q -d $DB -c 'CREATE ROLE regress_anchor_reader LOGIN' -c 'GRANT USAGE ON SCHEMA ai_guard TO regress_anchor_reader' 2>/dev/null
expect 1 'CANNOT BE CHECKED ONLINE: permission denied for function audit_entry_hash' "a role that may not read the chain cannot check anchors online, and is told" \
	"$CLI" verify-chain -d $DB -U regress_anchor_reader --anchors "$W/before-truncation" --public-key "$KEY"
psql -X -q -d $DB -c 'GRANT EXECUTE ON FUNCTION ai_guard.audit_entry_hash(bigint) TO regress_anchor_reader'
expect 0 'the raw chain could not be read .*: checked through audit_entry_hash\(\) only' "given audit_entry_hash() only, verify-chain says it relies on the server's function" \
	"$CLI" verify-chain -d $DB -U regress_anchor_reader --anchors "$W/before-truncation" --public-key "$KEY"
psql -X -q -d $DB -c 'GRANT SELECT ON ai_guard.audit_log, ai_guard.pulls TO regress_anchor_reader'
expect 1 'governance_log AS g not checked here' "a table the role may not read is named and skipped, the rest checked" \
	"$CLI" verify-chain -d $DB -U regress_anchor_reader --anchors "$W/before-truncation" --public-key "$KEY"
check "and the check goes on past it (the signed head is compared)" \
	"$(grep -c 'the signed head now' <<<"$LAST_OUT")" 1
psql -X -q -d postgres -c 'DROP ROLE IF EXISTS regress_anchor_reader' 2>/dev/null

# verify-chain does not take the server's word: with verify_audit()
# replaced by one that always says intact, each attack is still reported
fake_verify() {
	psql -X -q -d $DB -v ON_ERROR_STOP=1 -o /dev/null -c "CREATE OR REPLACE FUNCTION ai_guard.verify_audit(OUT intact bool, OUT records int8, OUT broken_seq int8,
	OUT broken_pull_id int8, OUT problem text, OUT in_progress int8, OUT cut_off int8, OUT epoch int8,
	OUT unkeyed int8) LANGUAGE sql AS \$\$ SELECT true, 1::int8, NULL::int8, NULL::int8, NULL::text, 0::int8, 0::int8, 1::int8, 0::int8 \$\$"
}
unprotected() {
	psql -X -q -d $DB -v ON_ERROR_STOP=1 -o /dev/null -c 'ALTER TABLE ai_guard.pulls DISABLE TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.audit_log DISABLE TRIGGER protect' -c 'ALTER TABLE ai_guard.audit_state DISABLE TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.governance_log DISABLE TRIGGER protect' "$@" \
		-c 'ALTER TABLE ai_guard.pulls ENABLE ALWAYS TRIGGER protect' -c 'ALTER TABLE ai_guard.audit_log ENABLE ALWAYS TRIGGER protect' \
		-c 'ALTER TABLE ai_guard.audit_state ENABLE ALWAYS TRIGGER protect' -c 'ALTER TABLE ai_guard.governance_log ENABLE ALWAYS TRIGGER protect'
}
fresh_anchored() {
	setup_db $DB
	pull $DB 3
	rm -f "$W/a"
	"$CLI" anchor -d $DB -o "$W/a" >/dev/null 2>&1
	fake_verify
}
fresh_anchored
psql -X -q -d $DB -o /dev/null -c "SET ai_guard.purpose = 'audit:é'" -c "SELECT * FROM t WHERE v <> 'café'" -c 'SELECT ai_guard.audit_flush()'
expect 0 'every entry is bound' "a client in another encoding verifies a record with non-ASCII text" \
	env PGCLIENTENCODING=LATIN1 "$CLI" verify-chain -d $DB --anchors "$W/a" --public-key "$(q -c 'SELECT ai_guard.audit_public_key()')"
fresh_anchored
unprotected -c "INSERT INTO ai_guard.audit_log SELECT seq + 1, 99, 'started', repeat('a', 64), record_hash, ai_guard._record_hash(record_hash, ARRAY[(seq + 1)::text, '99', 'started', repeat('a', 64)]), repeat('0', 64) FROM ai_guard.audit_log ORDER BY seq DESC LIMIT 1" \
	-c "UPDATE ai_guard.audit_state SET seq = seq + 1, head = (SELECT record_hash FROM ai_guard.audit_log ORDER BY seq DESC LIMIT 1)"
expect 1 'the signed head: NONE' "an entry appended with a forged MAC: no signed head vouches for the raw chain" \
	"$CLI" verify-chain -d $DB --anchors "$W/a" --public-key "$(q -c 'SELECT ai_guard.audit_public_key()')"
fresh_anchored
unprotected -c 'DELETE FROM ai_guard.pulls WHERE pull_id = 1' -c "SELECT setval('ai_guard.pulls_pull_id_seq', 1, false)"
pull $DB 2
expect 1 'pull 1 WAS RECORDED MORE THAN ONCE' "a pull id handed out again is reported" \
	"$CLI" verify-chain -d $DB --anchors "$W/a" --public-key "$(q -c 'SELECT ai_guard.audit_public_key()')"
fresh_anchored
unprotected -c "UPDATE ai_guard.governance_log SET after = jsonb_set(after, '{purpose}', '\"analytics\"') WHERE catalog = 'purpose_grants'"
expect 1 'governance change [0-9]+ WAS ALTERED' "an edited change of governance is reported" \
	"$CLI" verify-chain -d $DB --anchors "$W/a" --public-key "$(q -c 'SELECT ai_guard.audit_public_key()')"

# a master key change: a new epoch, verified under the previous key
setup_db $DB
pull $DB 3
"$CLI" anchor -d $DB -o "$W/epochs" >/dev/null 2>&1
KEY1=$(q -c 'SELECT ai_guard.audit_public_key()')
OLDKEY=$(psql -X -At -d postgres -c 'SHOW ai_guard.master_key_file')
od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$W/new.key"
chmod 600 "$W/new.key"
[ "$(id -u)" -eq 0 ] && chown postgres "$W/new.key"
psql -X -q -d postgres -c "ALTER SYSTEM SET ai_guard.master_key_file = '$W/new.key'" \
	-c "ALTER SYSTEM SET ai_guard.previous_master_key_file = '$OLDKEY'" -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1
pull $DB 4
check "a master key change begins epoch 2, verified under the previous key" \
	"$(q -c "SELECT epoch, previous_verified, reason FROM ai_guard.audit_epochs ORDER BY epoch DESC LIMIT 1")" \
	"2|t|master key changed"
check "the chain verifies across the epochs" "$(q -c 'SELECT intact, epoch FROM ai_guard.verify_audit()')" "t|2"
KEY2=$(q -c 'SELECT ai_guard.audit_public_key()')
check "the new epoch signs with a new key" "$([ "$KEY2" != "$KEY1" ] && echo differ)" "differ"
"$CLI" anchor -d $DB -o "$W/epochs" >/dev/null 2>&1
expect 1 'SIGNED BY AN UNKNOWN KEY' "an anchor of the new epoch needs its key" \
	"$CLI" verify-chain -d $DB --anchors "$W/epochs" --public-key "$KEY1"
expect 0 '2 anchor\(s\) verified' "with both epochs' keys every anchor verifies" \
	"$CLI" verify-chain -d $DB --anchors "$W/epochs" --public-key "$KEY1" --public-key "$KEY2"
psql -X -q -d postgres -c 'ALTER SYSTEM RESET ai_guard.previous_master_key_file' -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1
check "without the previous key the old epoch stays bound by the verified change" \
	"$(q -c 'SELECT intact FROM ai_guard.verify_audit()')" "t"

# a restore under another master key is a new epoch, never intact history
psql -X -q -d postgres -c "ALTER SYSTEM SET ai_guard.master_key_file = '$OLDKEY'" -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1
setup_db $OTHER
pull $OTHER 3
pg_dump -Fc -d $OTHER -f "$W/dump" 2>/dev/null
createdb $KEYDB
PGOPTIONS='-c ai_guard.audit_restore=on' pg_restore -d $KEYDB "$W/dump" 2>/dev/null
check "restored under the same master key, the chain verifies" \
	"$(psql -X -At -d $KEYDB -c 'SELECT intact FROM ai_guard.verify_audit()')" "t"
check "the restored database keeps its audit identity and key" \
	"$(psql -X -At -d $KEYDB -c 'SELECT ai_guard.audit_public_key()')" \
	"$(psql -X -At -d $OTHER -c 'SELECT ai_guard.audit_public_key()')"
dropdb -f $KEYDB
psql -X -q -d postgres -c "ALTER SYSTEM SET ai_guard.master_key_file = '$W/new.key'" -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1
createdb $KEYDB
PGOPTIONS='-c ai_guard.audit_restore=on' pg_restore -d $KEYDB "$W/dump" 2>/dev/null
check "restored under another master key, the history is not reported intact" \
	"$(psql -X -At -d $KEYDB -c 'SELECT intact, problem FROM ai_guard.verify_audit()')" \
	"f|the chain's current epoch 1 is keyed by a master key this server does not hold"
psql -X -q -d $KEYDB -o /dev/null -c "SET ai_guard.purpose = 'audit:restored'" -c 'SELECT count(*) FROM t' \
	-c 'SELECT ai_guard.audit_flush()' 2>/dev/null
check "the first record after it begins a new epoch whose past is unverified" \
	"$(psql -X -At -d $KEYDB -c "SELECT epoch, previous_verified FROM ai_guard.audit_epochs ORDER BY epoch DESC LIMIT 1")" "2|f"
check "and verify_audit() says the entries before it cannot be verified" \
	"$(psql -X -At -d $KEYDB -c 'SELECT intact, problem FROM ai_guard.verify_audit()' | sed 's/1 to [0-9]*/1 to N/')" \
	"f|chain entries 1 to N cannot be verified: epoch 2 began without the previous chain key (a restore under another master key, or a master key changed without ai_guard.previous_master_key_file)"

# without a master key nothing can be recorded: reads are refused, saying why
psql -X -q -d postgres -c "ALTER SYSTEM SET ai_guard.master_key_file = ''" -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1
expect 1 'DETAIL:  No master key is configured, and the audit chain is keyed with one' \
	"without a master key a governed read is refused and the error says why" \
	psql -X -v ON_ERROR_STOP=1 -d $DB -c "SET ai_guard.purpose = 'audit:nokey'" -c 'SELECT count(*) FROM t'

echo "1..$n"
exit $failed
