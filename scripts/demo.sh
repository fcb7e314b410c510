#!/usr/bin/env bash
# scripts/demo.sh: the ai_guard demo on a throwaway cluster.
#
#   sudo bash scripts/demo.sh
#
# Installs what is missing, builds, installs, starts a throwaway cluster with
# shared_preload_libraries = 'ai_guard', loads the demo data set (1,000
# customers and tickets from three sources), runs demo/*.sql in order, then
# stops the cluster and removes it. Set AG_KEEP=1 to keep the cluster's
# directory for a look afterwards.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AG_TOP"

ag_ensure_packages
ag_build_install
ag_cluster_start preload

createdb ai_guard_demo
export PGDATABASE=ai_guard_demo
psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION ai_guard'
ag_say "loading the demo data set (seed 42, 1,000 rows per table)"
ag_load_demo_data 1000 42

for f in demo/[0-9]*.sql; do
	ag_say "demo: $(sed -n '1s/^-- *//p' "$f")"
	# -e echoes each statement before its result, like a live session
	psql -X -v ON_ERROR_STOP=1 --echo-queries --pset=pager=off -f "$f"
done

ag_say "done: the throwaway cluster is stopped and removed"
