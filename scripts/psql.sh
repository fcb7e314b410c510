#!/usr/bin/env bash
# scripts/psql.sh: psql on a throwaway cluster with ai_guard and the demo data.
#
#   sudo bash scripts/psql.sh                 an interactive session
#   sudo bash scripts/psql.sh -f FILE.sql     run a file
#
# Builds and installs like scripts/demo.sh, creates database ai_guard_demo
# with the extension and 1,000 demo rows, runs psql with the given arguments,
# then removes the cluster (AG_KEEP=1 keeps its directory).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AG_TOP"

ag_ensure_packages
ag_build_install
ag_cluster_start preload
createdb ai_guard_demo
export PGDATABASE=ai_guard_demo
psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION ai_guard'
ag_load_demo_data "${AG_SCALE:-1000}" 42
set +e
psql -X "$@"
status=$?
exit $status
