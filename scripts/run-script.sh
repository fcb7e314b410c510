#!/usr/bin/env bash
# scripts/run-script.sh: one scripted test (test/scripts/*.sh or *.py) on a
# throwaway cluster, as scripts/test.sh runs it, for the long variants:
#
#   sudo bash scripts/run-script.sh test/scripts/crash_rounds.sh
#   make crash-check ROUNDS=20        make soak SOAK_SECONDS=180
#
# Builds and installs, starts a cluster with database ai_guard_tap (the
# extension and the demo data), runs the script with AG_TOP and the PG*
# variables set, and removes the cluster.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AG_TOP"
[ $# -ge 1 ] || ag_die "usage: scripts/run-script.sh TEST [ARGS...]"
ag_ensure_packages
ag_build_install
ag_cluster_start preload
createdb ai_guard_tap
PGDATABASE=ai_guard_tap psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION ai_guard'
PGDATABASE=ai_guard_tap ag_load_demo_data 1000 42
export AG_TOP
set +e
case "$1" in
	*.py) /usr/bin/python3 "$@" ;;
	*) bash "$@" ;;
esac
