#!/bin/bash
# Long fuzz runs, outside CI (docs/security.md): every libFuzzer target of
# tests/fuzz (or those named) for SECONDS each, JOBS at a time, starting from
# the corpus kept in tests/fuzz/corpus/<target>. What a run found that adds
# coverage is merged back into that corpus; a crash leaves its input in
# fuzz-artifacts/<target>/. Prints one line per target: runs, new corpus
# entries, crash or not; exits non-zero if any target crashed.
#
#   tools/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]     (default 1800 s, 2 jobs)
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
seconds=1800
jobs=2
while getopts t:j: opt; do
	case $opt in
	t) seconds=$OPTARG ;;
	j) jobs=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-j JOBS] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
	for src in tests/fuzz/fuzz-*.c; do
		t=$(basename "$src" .c)
		set -- "$@" "${t#fuzz-}"
	done
fi

[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-fuzz >/dev/null || { echo "fuzz build failed" >&2; exit 1; }
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
report=$(mktemp)
trap 'rm -f "$report"' EXIT

run_one() { # target
	t=$1
	work=$(mktemp -d)
	corpus="tests/fuzz/corpus/$t"
	artifacts="fuzz-artifacts/$t"
	mkdir -p "$corpus" "$artifacts"
	before=$(find "$corpus" -type f | wc -l)
	if ./build-fuzz/tests/fuzz/fuzz-"$t" -max_total_time="$seconds" -timeout=30 \
		-artifact_prefix="$artifacts/" "$work" "$corpus" >"$work/log" 2>&1; then
		verdict=ok
		rmdir "$artifacts" 2>/dev/null
	else
		verdict=CRASH
		tail -40 "$work/log" >&2
	fi
	runs=$(grep -o 'Done [0-9]* runs' "$work/log" | tail -1 | cut -d' ' -f2)
	./build-fuzz/tests/fuzz/fuzz-"$t" -merge=1 "$corpus" "$work" >/dev/null 2>&1
	after=$(find "$corpus" -type f | wc -l)
	echo "$t: ${runs:-0} runs in ${seconds} s, corpus $before -> $after, $verdict" | tee -a "$report"
	rm -rf "$work"
}

running=0
for t in "$@"; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait
rmdir fuzz-artifacts 2>/dev/null
! grep -q CRASH "$report"
