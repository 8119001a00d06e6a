#!/bin/sh
# Arca's test command (README, second command; .ci/run calls it): installs the
# dependencies, builds the guest kernel (cached per machine), then runs every
# check: formatting, unit tests under ASan+UBSan, the fuzz targets for a
# bounded time, and the integration tests against real VMs.
#
#   ARCA_FUZZ_SECONDS   seconds per fuzz target (default 20; tools/fuzz.sh runs long ones)
#   ARCA_TEST_STREAM_BYTES  size of the stdin round trip test (default 1 GiB)
# Ends with one line: "arca tests: N passed, N failed".
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
fuzz_seconds="${ARCA_FUZZ_SECONDS:-20}"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

record() { # name status
	echo "$2 $1" >>"$results"
	echo "== $1: $2"
}

./tools/install-deps.sh || { echo "arca tests: 0 passed, 1 failed (dependencies)"; exit 1; }
if ! kernel=$(./guest-image/build-kernel.sh); then
	echo "arca tests: 0 passed, 1 failed (guest kernel build)"
	exit 1
fi
export ARCA_KERNEL="$kernel"

# Formatting is the tool's decision (STYLE.md C1).
# shellcheck disable=SC2046
if clang-format --dry-run -Werror $(git ls-files '*.c' '*.h') >/dev/null 2>&1; then
	record clang-format pass
else
	record clang-format fail
	clang-format --dry-run -Werror $(git ls-files '*.c' '*.h') 2>&1 | head -20
fi
# shellcheck disable=SC2046
if shellcheck $(git ls-files '*.sh') .ci/run; then record shellcheck pass; else record shellcheck fail; fi
# The daemon's layers: the domain never includes HTTP, the parts never the lifecycle.
if ./tools/check-includes.sh; then record include-direction pass; else record include-direction fail; fi

# Release-style build for the integration tests and the benchmarks.
[ -d build ] || meson setup build >/dev/null
if ninja -C build >/dev/null; then record build pass; else record build fail; fi

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
rm -f build-asan/meson-logs/testlog.json # a failed build must not report the last run's results
if ninja -C build-asan >/dev/null; then
	record build-asan pass
	meson test -C build-asan --suite unit --print-errorlogs || :
	python3 - build-asan/meson-logs/testlog.json >>"$results" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    print(("pass" if t["result"] == "OK" else "fail"), "unit/" + t["name"])
PY
else
	record build-asan fail
	ninja -C build-asan 2>&1 | grep -E 'error|FAILED' | head -20
fi

# Fuzz targets, clang + libFuzzer, bounded time each.
[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
if ninja -C build-fuzz >/dev/null; then
	for src in tests/fuzz/fuzz-*.c; do
		target=$(basename "$src" .c)
		target=${target#fuzz-}
		work=$(mktemp -d)
		if ./build-fuzz/tests/fuzz/fuzz-"$target" -max_total_time="$fuzz_seconds" \
			-artifact_prefix="$work/" "$work" "tests/fuzz/corpus/$target" >"$work/log" 2>&1; then
			record "fuzz/$target" pass
		else
			record "fuzz/$target" fail
			tail -40 "$work/log"
		fi
		rm -rf "$work"
	done
else
	record fuzz-build fail
fi

# Integration tests: real VMs through the real CLI.
integration() { # prefix pytest-args...
	prefix=$1
	shift
	junit=$(mktemp)
	/usr/bin/python3 -m pytest -v --junitxml="$junit" -p no:cacheprovider "$@"
	python3 - "$junit" "$prefix" >>"$results" <<'PY'
import sys, xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).iter("testcase"):
    bad = case.find("failure") is not None or case.find("error") is not None
    skipped = case.find("skipped") is not None
    print("skip" if skipped else ("fail" if bad else "pass"), sys.argv[2] + case.get("name"))
PY
	rm -f "$junit"
}
integration integration/ tests/integration
# The daemon's paths again with arcad built with ASan+UBSan: a use-after-free
# or leak that the release build survives fails here (the fixture reads
# arcad's log for sanitizer reports).
ARCA_BUILD_DIR="$here/build-asan" integration integration-asan/ \
	tests/integration/test_docker_cli.py tests/integration/test_docker_py.py \
	tests/integration/test_compose.py tests/integration/test_events.py \
	tests/integration/test_restart.py tests/integration/test_observe.py \
	tests/integration/test_logs.py tests/integration/test_health.py tests/integration/test_fs.py \
	tests/integration/test_commit.py tests/integration/test_live_restore.py \
	tests/integration/test_dockerd_parity.py tests/integration/test_network.py \
	tests/integration/test_build.py tests/integration/test_hardening.py \
	tests/integration/test_settings.py tests/integration/test_systemd.py
# arca-runtime's own paths (its monitor exits through exit(), so LeakSanitizer checks it):
# the runc reference cases need no second run.
ARCA_BUILD_DIR="$here/build-asan" integration integration-asan/ \
	tests/integration/test_runtime.py -k "not runc"

passed=$(grep -c '^pass ' "$results")
failed=$(grep -c '^fail ' "$results")
skipped=$(grep -c '^skip ' "$results")
grep '^fail ' "$results" | sed 's/^fail /FAILED: /'
echo "arca tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
