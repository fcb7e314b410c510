#!/usr/bin/env bash
# bench/run.sh: runs one benchmark and its baseline side by side.
#
#   sudo bash bench/run.sh NAME [REPEAT]
#
# Starts a throwaway cluster (as scripts/test.sh does), sources
# bench/NAME/bench.sh, runs its set-up once, then runs every variant REPEAT
# times (default 5), interleaved so that machine noise hits all variants
# alike, and prints each variant's median wall time and its ratio to the
# first variant, the baseline.
#
# A bench.sh defines:
#   BENCH_VARIANTS=(baseline other ...)  the first one is the baseline
#   bench_setup                          once, untimed
#   bench_prepare_VARIANT                before each run, untimed (optional)
#   bench_run_VARIANT                    the timed work
# and may set BENCH_PRELOAD=nopreload to start without the library.

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$AG_TOP"

name=${1:?usage: bench/run.sh NAME [REPEAT]}
repeat=${2:-5}
[ -f "bench/$name/bench.sh" ] || ag_die "no benchmark bench/$name/bench.sh"
BENCH_DIR=$AG_TOP/bench/$name
BENCH_PRELOAD=preload
source "$BENCH_DIR/bench.sh"

ag_ensure_packages
ag_build_install
ag_cluster_start "$BENCH_PRELOAD"
createdb ai_guard_bench
export PGDATABASE=ai_guard_bench

ag_say "set-up of $name"
bench_setup

declare -A times
for ((r = 1; r <= repeat; r++)); do
	for v in "${BENCH_VARIANTS[@]}"; do
		if declare -F "bench_prepare_$v" >/dev/null; then "bench_prepare_$v"; fi
		t0=$(date +%s%N)
		"bench_run_$v" >/dev/null
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		times[$v]="${times[$v]:-} $ms"
		printf 'run %d/%d  %-24s %8d ms\n' "$r" "$repeat" "$v" "$ms" >&2
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

base=${BENCH_VARIANTS[0]}
base_ms=$(echo "${times[$base]}" | median)
echo
echo "benchmark $name, $repeat runs each, $(nproc) cores, $(date -u +%Y-%m-%d)"
printf '%-24s %12s %10s   %s\n' variant "median ms" "ratio" "runs (ms)"
for v in "${BENCH_VARIANTS[@]}"; do
	m=$(echo "${times[$v]}" | median)
	printf '%-24s %12s %10s  %s\n' "$v" "$m" \
		"$(awk -v a="$m" -v b="$base_ms" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}')" \
		"${times[$v]}"
done
