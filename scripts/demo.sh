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

ag_say "demo: the ai-guard client: a data scientist pulls a training set with a manifest"
pull_dir=$AG_TMP/pulls
mkdir -p "$pull_dir"
(
	set -x
	"$AG_BINDIR/ai-guard" pull -U data_scientist --purpose training:churn-v3 \
		-o "$pull_dir/churn.copy" \
		'SELECT customer_id, birth_date, country, segment FROM masked.customers ORDER BY customer_id'
)
head -n 3 "$pull_dir/churn.copy"
sed -n '1,16p' "$pull_dir/churn.copy.manifest.json"
echo '  ...'
ag_say "demo: ai-guard verify: the file against its manifest, the server's record and the chain"
(set -x; "$AG_BINDIR/ai-guard" verify -U data_scientist "$pull_dir/churn.copy")

ag_say "demo: ai-guard lineage and report: what churn v4 is built from, and the compliance report"
(set -x; "$AG_BINDIR/ai-guard" lineage -U compliance_officer churn:v4)
(set -x; "$AG_BINDIR/ai-guard" lineage -U compliance_officer --format dot churn:v4) | head -n 8
echo '  ...'
(set -x; "$AG_BINDIR/ai-guard" report -U compliance_officer -o "$pull_dir/report.html")
echo "report: $(wc -c <"$pull_dir/report.html") bytes of self-contained HTML"

ag_say "demo: evidence that survives the DBA: a signed head kept outside, checked against the chain"
(set -x; "$AG_BINDIR/ai-guard" anchor -U compliance_officer -o "$pull_dir/anchors.jsonl")
key=$(psql -X -At -U compliance_officer -c 'SELECT ai_guard.audit_public_key()')
(
	set -x
	"$AG_BINDIR/ai-guard" verify-chain -U compliance_officer --public-key "$key" \
		--anchors "$pull_dir/churn.copy.manifest.json" --anchors "$pull_dir/anchors.jsonl"
)

ag_say "done: the throwaway cluster is stopped and removed"
