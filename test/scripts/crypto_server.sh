#!/usr/bin/env bash
# Server-side key handling on a cluster of its own (it changes server
# settings): the master key file permission check, an unset key, the key
# command, master key change + rewrap_keys(), decrypt_requires_ssl over TCP,
# and that no key material reaches the server log (log_statement = all) or
# pg_stat_statements.  Prints TAP.
set -u
source "$AG_TOP/scripts/lib.sh"
set +e +o pipefail

n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
# q SQL: one new session (so the master key is read afresh), value only
q() { psql -X -At -d srv -c "$1" 2>&1; }
# state SQL: the SQLSTATE of the statement's error, or "ok"
state() {
	local out
	out=$(psql -X -At -v VERBOSITY=verbose -v ON_ERROR_STOP=1 -d srv -c "$1" 2>&1)
	if [ $? -eq 0 ]; then echo ok; else echo "$out" | sed -n 's/^.*ERROR:  \([0-9A-Z]\{5\}\):.*$/\1/p' | head -n 1; fi
}
msg() { psql -X -At -d srv -c "$1" 2>&1 | sed -n 's/^.*ERROR:  //p' | head -n 1; }
reload() { psql -X -q -d srv -c 'SELECT pg_reload_conf()' >/dev/null; sleep 0.5; }

ag_cluster_start preload >/dev/null 2>&1 || { echo "not ok 1 - cluster start"; exit 1; }
port=$((20000 + RANDOM % 20000))
sed -i '/^shared_preload_libraries/d;/^port = /d;/^listen_addresses/d' "$AG_DATA/postgresql.conf"
cat >>"$AG_DATA/postgresql.conf" <<CONF
shared_preload_libraries = 'ai_guard,pg_stat_statements'
listen_addresses = '127.0.0.1'
port = $port
log_statement = 'all'
pg_stat_statements.track = all
CONF
export PGPORT=$port
ag_cluster_ctl restart >/dev/null 2>&1 || { echo "not ok 1 - cluster restart with pg_stat_statements"; exit 1; }
LOG=$AG_TMP/server.log
KEY1=$AG_MASTER_KEY_FILE
KEY2=$AG_TMP/master2.key
(umask 077 && od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$KEY2")
ag_is_root && chown postgres:postgres "$KEY2"
HEX1=$(tr -d '\n' <"$KEY1")
HEX2=$(tr -d '\n' <"$KEY2")

createdb srv
psql -X -q -d srv -c 'CREATE EXTENSION ai_guard' -c 'CREATE EXTENSION pg_stat_statements' -c 'CREATE ROLE regress_srv_reader' >/dev/null
psql -X -q -d srv -c "SELECT ai_guard.create_key('srv_key', 'aes-256-gcm')" \
	-c "SELECT ai_guard.create_key('srv_siv', 'aes-256-siv')" \
	-c "SELECT ai_guard.grant_key('srv_key', 'regress_srv_reader', 'decrypt')" \
	-c "CREATE TABLE t AS SELECT ai_guard.encrypt('top secret', 'srv_key', 'c') AS c, ai_guard.encrypt('also secret', 'srv_siv') AS s" \
	-c "GRANT SELECT ON t TO regress_srv_reader" >/dev/null
check "round trip with the key file" "$(q "SELECT ai_guard.decrypt_text(c, 'c') FROM t")" "top secret"
check "pg_settings shows the path only, to superusers" \
	"$(q "SELECT setting = '$KEY1' FROM pg_settings WHERE name = 'ai_guard.master_key_file'")" "t"

# ---- the key file permission check (a new session reads the file again) ----
chmod 0644 "$KEY1"
check "world-readable key file refused (F0000)" "$(state "SELECT ai_guard.decrypt(c, 'c') FROM t")" "F0000"
check "... with a message naming the problem" \
	"$(msg "SELECT ai_guard.decrypt(c, 'c') FROM t")" "key file \"$KEY1\" has group or world access"
chmod 0640 "$KEY1"
check "group-readable key file refused" "$(state "SELECT ai_guard.create_key('srv_x', 'aes-256-gcm')")" "F0000"
if ag_is_root; then
	chmod 0644 "$KEY1"
	chown root "$KEY1"
	check "key file owned by another user refused" \
		"$(msg "SELECT ai_guard.decrypt(c, 'c') FROM t")" "key file \"$KEY1\" must be owned by the database user"
	chown postgres "$KEY1"
else
	n=$((n + 1)); echo "ok $n - # SKIP the ownership check needs root to chown"
fi
chmod 0400 "$KEY1"
check "mode 0400 is accepted" "$(q "SELECT ai_guard.decrypt_text(c, 'c') FROM t")" "top secret"
chmod 0600 "$KEY1"

BAD=$AG_TMP/bad.key
echo "not a key at all, but long enough to look like one......" >"$BAD"
ag_is_root && chown postgres "$BAD"; chmod 0600 "$BAD"
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.master_key_file = '$BAD'" >/dev/null; reload
check "key file without 64 hex digits refused" \
	"$(msg "SELECT ai_guard.decrypt(c, 'c') FROM t")" "key file \"$BAD\" does not contain a valid key"
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.master_key_file = '$AG_TMP/missing.key'" >/dev/null; reload
check "missing key file: could not open (58P01)" "$(state "SELECT ai_guard.decrypt(c, 'c') FROM t")" "58P01"

# ---- no master key ----
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.master_key_file = ''" >/dev/null; reload
check "no master key: 55000" "$(state "SELECT ai_guard.create_key('srv_y', 'aes-256-gcm')")" "55000"
check "no master key: clear message" "$(msg "SELECT ai_guard.decrypt(c, 'c') FROM t")" "no master key is configured"
check "no master key: a hint says what to set" \
	"$(psql -X -At -d srv -c "SELECT ai_guard.decrypt(c, 'c') FROM t" 2>&1 | grep -c 'HINT:  Set "ai_guard.master_key_file" or "ai_guard.master_key_command"')" "1"

# ---- the key command ----
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.master_key_command = 'cat $KEY1'" >/dev/null; reload
check "master_key_command supplies the key" "$(q "SELECT ai_guard.decrypt_text(c, 'c') FROM t")" "top secret"
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.master_key_command = 'exit 3'" >/dev/null; reload
check "failing key command: error, not a key" "$(msg "SELECT ai_guard.decrypt(c, 'c') FROM t")" "\"ai_guard.master_key_command\" failed"
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.master_key_command = 'echo hello'" >/dev/null; reload
check "key command printing garbage refused" \
	"$(msg "SELECT ai_guard.decrypt(c, 'c') FROM t")" "\"ai_guard.master_key_command\" did not print a valid key"
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.master_key_command = 'cat $KEY1'" \
	-c "ALTER SYSTEM SET ai_guard.master_key_file = '$KEY1'" >/dev/null; reload
check "file and command both set refused" "$(msg "SELECT ai_guard.decrypt(c, 'c') FROM t")" \
	"both \"ai_guard.master_key_file\" and \"ai_guard.master_key_command\" are set"
psql -X -q -d srv -c "ALTER SYSTEM RESET ai_guard.master_key_command" -c "ALTER SYSTEM RESET ai_guard.master_key_file" >/dev/null; reload
check "back to the key file" "$(q "SELECT ai_guard.decrypt_text(c, 'c') FROM t")" "top secret"
check "ordinary roles cannot read the settings" \
	"$(psql -X -At -d srv -c "SET ROLE regress_srv_reader" -c "SHOW ai_guard.master_key_file" 2>&1 | grep -c 'must be superuser')" "1"

# ---- a new master key, and rewrap_keys() ----
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.master_key_file = '$KEY2'" >/dev/null; reload
check "after a master key change the old wrapping is detected (55000)" \
	"$(state "SELECT ai_guard.decrypt(c, 'c') FROM t")" "55000"
check "rewrap without the previous key says what to set" \
	"$(msg "SELECT ai_guard.rewrap_keys()")" "\"ai_guard.previous_master_key_file\" is not set"
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.previous_master_key_file = '$KEY1'" >/dev/null; reload
check "rewrap_keys() re-wraps both keys" "$(q "SELECT ai_guard.rewrap_keys()")" "2"
check "decrypt works under the new master key" "$(q "SELECT ai_guard.decrypt_text(c, 'c') || '/' || ai_guard.decrypt_text(s) FROM t")" "top secret/also secret"
check "rewrap_keys() again has nothing to do" "$(q "SELECT ai_guard.rewrap_keys()")" "0"
check "every key version is under the new master key" \
	"$(q "SELECT count(DISTINCT master_key_id) FROM ai_guard.key_versions")" "1"
psql -X -q -d srv -c "ALTER SYSTEM RESET ai_guard.previous_master_key_file" >/dev/null; reload

# ---- decrypt_requires_ssl ----
psql -X -q -d srv -c "ALTER SYSTEM SET ai_guard.decrypt_requires_ssl = on" >/dev/null; reload
tcp() { psql -X -At -v VERBOSITY=verbose -h 127.0.0.1 -p "$port" -d srv -c "$1" 2>&1; }
check "decrypt over TCP without SSL refused (28000)" \
	"$(tcp "SELECT ai_guard.decrypt(c, 'c') FROM t" | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p')" "28000"
check "encrypt over TCP still works" "$(tcp "SELECT ai_guard.key_version(ai_guard.encrypt('x', 'srv_key'))")" "1"
check "decrypt over the Unix socket works" "$(q "SELECT ai_guard.decrypt_text(c, 'c') FROM t")" "top secret"
check "an ordinary role cannot switch it off" \
	"$(psql -X -At -h 127.0.0.1 -p "$port" -d srv -c "SET ROLE regress_srv_reader" -c "SET ai_guard.decrypt_requires_ssl = off" 2>&1 | grep -c 'permission denied to set parameter')" "1"
psql -X -q -d srv -c "ALTER SYSTEM RESET ai_guard.decrypt_requires_ssl" >/dev/null; reload
check "without the setting, TCP decrypts" "$(tcp "SELECT ai_guard.decrypt_text(c, 'c') FROM t")" "top secret"

# ---- no key material in the log or pg_stat_statements ----
check "the log has the statements (log_statement = all)" \
	"$( [ "$(grep -c 'ai_guard.rewrap_keys' "$LOG")" -gt 0 ] && echo yes)" "yes"
check "neither master key appears in the server log" "$(grep -ciE "$HEX1|$HEX2" "$LOG")" "0"
check "pg_stat_statements recorded the ai_guard calls" \
	"$(q "SELECT count(*) > 0 FROM pg_stat_statements WHERE query LIKE '%ai_guard.decrypt%'")" "t"
check "neither master key appears in pg_stat_statements" \
	"$(q "SELECT count(*) FROM pg_stat_statements WHERE query ILIKE '%$HEX1%' OR query ILIKE '%$HEX2%'")" "0"
check "no SQL-visible setting holds a key" \
	"$(q "SELECT count(*) FROM pg_settings WHERE setting ILIKE '%$HEX1%' OR setting ILIKE '%$HEX2%'")" "0"
# the wrapped data keys are stored, never the raw keys: unwrapping needs the master key
check "decrypted plaintext never logged (only the statement that encrypted it)" "$(grep -c 'top secret' "$LOG")" "$(grep -c "encrypt('top secret'" "$LOG")"

echo "1..$n"
exit $fail
