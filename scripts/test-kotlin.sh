#!/usr/bin/env bash
# Kotlin suite: compiles the generated bindings + android/src/main/kotlin (the Kotlin API and the
# Android shell, against the real framework API) and runs, on the JVM through JNA against
# build/ffi/lib (scripts/gen-bindings.sh must have run; it is run here when its output is missing):
#   1. the JUnit 5 tests (surefire execution default-test),
#   2. the Robolectric tests, *RobolectricTest (execution robolectric, a second JVM, offline).
# Both suites always run (a failure in the first does not skip the second); the exit status is
# non-zero if anything failed, and a last line sums both: "kotlin: N passed, N failed, N skipped".
# Extra arguments go to Maven (e.g. -o, -Dtest=ErrorsTest).
# WALLET_BACKEND_URL, when set (scripts/with-mock-backend.sh), reaches the tests.
# Maven's repository is the user's (~/.m2), outside the repository.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -f "$REPO_ROOT/build/ffi/lib/libwallet_ffi.so" ] && [ -d "$REPO_ROOT/android/src/generated/kotlin" ] ||
    "$REPO_ROOT/scripts/gen-bindings.sh"

cd "$REPO_ROOT/android"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# No Kotlin compile daemon: it outlives Maven (0.6-1.5 GB each). Not -q: it hides "Tests run:".
set +e
mvn -B -Dkotlin.compiler.daemon=false -Dstyle.color=never -Dmaven.test.failure.ignore=true "$@" test 2>&1 |
    tee "$out"
rc=${PIPESTATUS[0]}
set -e

# Surefire's per-execution totals ("Tests run: 36, Failures: 0, Errors: 0, Skipped: 0", without
# " -- in Class"), summed over the executions.
read -r suites passed failed skipped < <(
    awk '/^\[[A-Z]+\] Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$/ {
            gsub(",", ""); run += $4; fail += $6 + $8; skip += $10; n++ }
         END { printf "%d %d %d %d\n", n, run - fail - skip, fail, skip }' "$out"
)
echo "kotlin: $passed passed, $failed failed, $skipped skipped"
if [ "$rc" = 0 ] && { [ "$failed" != 0 ] || [ "$suites" = 0 ]; }; then
    [ "$suites" = 0 ] && warn "no surefire summary found"
    rc=1
fi
exit "$rc"
