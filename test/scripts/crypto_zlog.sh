#!/usr/bin/env bash
# After the regression, pgTAP and crypto scripted tests have used keys on the
# shared throwaway cluster: its master key must not appear in its server log,
# nor in any setting or statistics view an SQL session can read. (The
# log_statement = all / pg_stat_statements case is in crypto_server.sh.)
# Prints TAP.
set -u
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fail=1; fi
}
q() { psql -X -At -d ai_guard_tap -c "$1"; }
keyfile=$(q "SHOW ai_guard.master_key_file")
datadir=$(q "SHOW data_directory")
log=$(dirname "$datadir")/server.log
check "the cluster has a master key file" "$( [ -r "$keyfile" ] && echo yes)" "yes"
check "the server log exists" "$( [ -r "$log" ] && echo yes)" "yes"
hex=$(tr -d '[:space:]' <"$keyfile")
check "the key file holds 64 hex digits" "$(printf '%s' "$hex" | grep -cE '^[0-9a-f]{64}$')" "1"
check "the master key works on this cluster" \
	"$(psql -X -At -d ai_guard_tap -c "BEGIN" -c "SELECT ai_guard.create_key('zlog_probe', 'aes-256-siv') > 0" \
		-c "SELECT ai_guard.decrypt_text(ai_guard.encrypt('probe', 'zlog_probe'))" -c "ROLLBACK" | tr '\n' ' ')" "BEGIN t probe ROLLBACK "
check "the master key is not in the server log" "$(grep -ci "$hex" "$log")" "0"
check "nor the first half of it" "$(grep -ci "${hex:0:32}" "$log")" "0"
check "nor in any setting" "$(q "SELECT count(*) FROM pg_settings WHERE setting ILIKE '%${hex:0:32}%'")" "0"
echo "1..$n"
exit $fail
