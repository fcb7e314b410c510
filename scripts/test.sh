#!/usr/bin/env bash
# scripts/test.sh: every test layer of ai_guard on a throwaway cluster.
#
#   sudo bash scripts/test.sh
#
# Installs what is missing, builds, installs, then runs
#   1. the cmocka unit tests of src/core (plain, then under ASan and UBSan),
#   2. pg_regress without the preload (the missing-preload error),
#   3. pg_regress with the preload (make installcheck),
#   4. the pgTAP tests (pg_prove) on a database with the demo data set,
# and ends with one line "N passed, N failed" summing all layers (pg_regress
# counts test files, pgTAP and cmocka count assertions); checks that skip
# themselves (a fixture from outside the repository is missing) are counted
# on a line of their own just before it, never as passed. Exit status 0 only
# if nothing failed.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AG_TOP"

PASSED=0
FAILED=0
SKIPPED=0
SKIP_NOTES=""
LOGDIR=$(mktemp -d /tmp/ai_guard-test-logs.XXXXXX)

# count_tap LAYER FILE EXIT_STATUS: adds the TAP results in FILE. Tests that a
# plan promised but that never ran (a script died: pg_prove's "You planned N
# tests but ran M") count as failed; a layer that failed without any of
# these (a crash before the plan) counts one failure.
count_tap() {
	local layer=$1 file=$2 status=$3 ok notok missing skipped reason
	# skipped checks are counted as skipped, never as passed: "ok N # SKIP"
	# lines, and a whole script that plans none ("1..0 # SKIP reason")
	skipped=$(grep -ciE '^[[:space:]]*ok [0-9]+.*# skip' "$file" || true)
	ok=$(grep -cE '^[[:space:]]*ok [0-9]+' "$file" || true)
	ok=$((ok - skipped))
	reason=$(sed -nE 's/^1\.\.0[[:space:]]*#[[:space:]]*[Ss][Kk][Ii][Pp][[:space:]]*(.*)/\1/p' "$file" | head -n 1)
	if [ -n "$reason" ] || grep -qiE '^1\.\.0[[:space:]]*#[[:space:]]*skip' "$file"; then
		skipped=$((skipped + 1))
	fi
	if [ "$skipped" -gt 0 ]; then
		SKIPPED=$((SKIPPED + skipped))
		SKIP_NOTES="$SKIP_NOTES
  $layer: $skipped skipped${reason:+ ($reason)}"
	fi
	notok=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$file" || true)
	missing=$(sed -nE 's/.*You planned ([0-9]+) tests? but ran ([0-9]+).*/\1 \2/p' "$file" |
		awk '{ if ($1 > $2) m += $1 - $2 } END { print m + 0 }')
	notok=$((notok + missing))
	if [ "$status" -ne 0 ] && [ "$notok" -eq 0 ]; then notok=1; fi
	report "$layer" "$ok" "$notok" "$file"
}

# count_regress LAYER FILE EXIT_STATUS: pg_regress 15 prints "... ok" or
# "... FAILED" per test file.
count_regress() {
	local layer=$1 file=$2 status=$3 ok notok
	ok=$(grep -cE '\.\.\. ok' "$file" || true)
	notok=$(grep -cE '\.\.\. (FAILED|failed)' "$file" || true)
	if [ "$status" -ne 0 ] && [ "$notok" -eq 0 ]; then notok=1; fi
	report "$layer" "$ok" "$notok" "$file"
}

report() {
	local layer=$1 ok=$2 notok=$3 file=$4
	PASSED=$((PASSED + ok))
	FAILED=$((FAILED + notok))
	printf '%-28s %5d passed, %d failed\n' "$layer" "$ok" "$notok"
	if [ "$notok" -ne 0 ]; then
		grep -E 'not ok|FAILED|failed|Failed|Error|error' "$file" | head -n 40 || true
		for d in regression.diffs test/nopreload/regression.diffs; do
			if [ -s "$d" ]; then head -n 80 "$d"; fi
		done
	fi
}

# run LOGNAME CMD...: runs a layer, keeping its output and exit status.
run() {
	local log=$LOGDIR/$1
	shift
	set +e
	"$@" >"$log" 2>&1
	RUN_STATUS=$?
	set -e
	RUN_LOG=$log
}

ag_ensure_packages clang libclang-rt-14-dev
ag_build_install

ag_say "unit tests (cmocka)"
run unit make -s unit
count_tap "cmocka" "$RUN_LOG" "$RUN_STATUS"
rm -rf test/unit/bin
run unit-sanitize make -s unit SANITIZE=1
count_tap "cmocka (ASan+UBSan)" "$RUN_LOG" "$RUN_STATUS"
rm -rf test/unit/bin

ag_cluster_start nopreload
ag_say "pg_regress without the preload"
run nopreload make -s installcheck-nopreload PG_CONFIG="$AG_BINDIR/pg_config"
count_regress "pg_regress (no preload)" "$RUN_LOG" "$RUN_STATUS"

ag_cluster_set_preload preload
ag_cluster_ctl restart
ag_say "pg_regress (make installcheck)"
run regress make -s installcheck PG_CONFIG="$AG_BINDIR/pg_config"
count_regress "pg_regress" "$RUN_LOG" "$RUN_STATUS"

ag_say "pgTAP (pg_prove)"
pgtap_setup() {
	createdb ai_guard_tap &&
		PGDATABASE=ai_guard_tap psql -X -q -v ON_ERROR_STOP=1 \
			-c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION ai_guard' &&
		PGDATABASE=ai_guard_tap ag_load_demo_data 1000 42
}
run pgtap-setup pgtap_setup
if [ "$RUN_STATUS" -ne 0 ]; then
	report "pgTAP (set-up)" 0 1 "$RUN_LOG"
	cat "$RUN_LOG"
else
	run pgtap pg_prove --verbose --dbname ai_guard_tap test/pgtap/*.sql
	count_tap "pgTAP" "$RUN_LOG" "$RUN_STATUS"
fi

# Scripted tests: programs that drive real clients (psql, psycopg2) or the
# cluster itself (pg_ctl), each printing TAP. They get the connection in the
# PG* variables and may source scripts/lib.sh to start clusters of their own.
# Python tests run with Debian's python3, the one python3-psycopg2 is for,
# whatever python3 comes first on PATH.
ag_say "scripted tests (test/scripts)"
export AG_TOP
for t in test/scripts/*.sh test/scripts/*.py; do
	[ -e "$t" ] || continue
	case "$t" in
		*.sh) run "script-$(basename "$t")" bash "$t" ;;
		*.py) run "script-$(basename "$t")" /usr/bin/python3 "$t" ;;
	esac
	count_tap "$(basename "$t")" "$RUN_LOG" "$RUN_STATUS"
done

ag_cluster_cleanup

# libFuzzer targets, briefly: long runs are "make fuzz FUZZ_SECONDS=N"
ag_say "fuzz targets (${AG_FUZZ_SECONDS:-10}s each)"
for src in test/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	run "fuzz-$name" make -s fuzz FUZZ_TARGETS="test/fuzz/bin/$name" \
		FUZZ_SECONDS="${AG_FUZZ_SECONDS:-10}"
	if [ "$RUN_STATUS" -eq 0 ]; then
		report "fuzz $name" 1 0 "$RUN_LOG"
	else
		report "fuzz $name" 0 1 "$RUN_LOG"
		tail -n 40 "$RUN_LOG"
	fi
done

if [ "$FAILED" -ne 0 ]; then
	echo "logs: $LOGDIR"
else
	rm -rf "$LOGDIR"
fi
if [ "$SKIPPED" -ne 0 ]; then
	echo "$SKIPPED skipped, not counted as passed:$SKIP_NOTES"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
