#!/usr/bin/env bash
# A real client session over the throwaway cluster's socket: psql sets the
# purpose with PGOPTIONS, as a pipeline would, and sees it. Prints TAP.
set -u
n=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (got '$2', want '$3')"; fi
}
got=$(PGOPTIONS='-c ai_guard.purpose=training:churn-v3' psql -X -At -d ai_guard_tap -c 'SHOW ai_guard.purpose')
check "purpose from PGOPTIONS" "$got" "training:churn-v3"
got=$(PGOPTIONS='-c ai_guard.purpose=Bad' psql -X -At -d ai_guard_tap -c 'SELECT 1' 2>&1 | grep -c 'invalid value for parameter "ai_guard.purpose"')
check "a malformed purpose in PGOPTIONS refuses the connection" "$got" "1"
echo "1..$n"
