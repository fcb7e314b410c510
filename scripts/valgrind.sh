#!/usr/bin/env bash
# scripts/valgrind.sh: the pg_regress suite with every server process under
# valgrind memcheck; fails if any error report has a frame in ai_guard.
#
#   sudo bash scripts/valgrind.sh        (slow: several minutes; not in CI)
#
# PostgreSQL itself produces reports valgrind cannot tell from bugs (its
# shared memory and its own allocator), so instead of a suppression list this
# keeps only the reports whose stack passes through ai_guard.so.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AG_TOP"

ag_ensure_packages valgrind
ag_build_install
ag_cluster_start nopreload
ag_cluster_ctl stop

# pg_ctl -p runs this wrapper instead of postgres itself
cat >"$AG_TMP/postgres-valgrind" <<WRAP
#!/bin/sh
exec valgrind --tool=memcheck --trace-children=yes --track-origins=yes \\
	--read-var-info=yes --num-callers=40 --error-limit=no \\
	--log-file=$AG_TMP/valgrind.%p.log $AG_BINDIR/postgres "\$@"
WRAP
chmod 755 "$AG_TMP/postgres-valgrind"
ag_is_root && chown postgres "$AG_TMP/postgres-valgrind"
ag_cluster_set_preload preload
ag_say "starting the server under valgrind"
ag_as_pg "$AG_BINDIR/pg_ctl" -D "$AG_DATA" -l "$AG_TMP/server.log" -w -t 600 \
	-p "$AG_TMP/postgres-valgrind" start >/dev/null

ag_say "pg_regress under valgrind"
set +e
make -s installcheck PG_CONFIG="$AG_BINDIR/pg_config" >"$AG_TMP/regress.log" 2>&1
regress=$?
set -e
grep -E '\.\.\. ' "$AG_TMP/regress.log" || true
ag_as_pg "$AG_BINDIR/pg_ctl" -D "$AG_DATA" -w -t 600 -m fast stop >/dev/null

# an error report is a block of "==PID==" lines starting at a blank one
python3 - "$AG_TMP" <<'PY'
import glob, re, sys
ours = 0
total = 0
for path in sorted(glob.glob(sys.argv[1] + "/valgrind.*.log")):
    block = []
    for line in open(path, errors="replace"):
        body = re.sub(r"^==\d+== ?", "", line.rstrip("\n"))
        if body == "":
            if block and re.search(r"(Invalid|uninitialised|Mismatched|overlap|definitely lost)", block[0]):
                total += 1
                if any("ai_guard" in l for l in block):
                    ours += 1
                    print("\n".join(block))
            block = []
        else:
            block.append(body)
print(f"valgrind: {total} error reports in all, {ours} with a frame in ai_guard")
sys.exit(1 if ours else 0)
PY
status=$?
[ $regress -eq 0 ] || { echo "pg_regress failed under valgrind"; exit 1; }
exit $status
