#!/usr/bin/env bash
# Kotlin suite: compiles the generated bindings + android/src/main/kotlin and runs the JUnit 5
# tests on the JVM through JNA against build/ffi/lib (scripts/gen-bindings.sh must have run; it is
# run here when its output is missing). Extra arguments go to Maven (e.g. -o, -Dtest=ErrorsTest).
# WALLET_BACKEND_URL, when set (scripts/with-mock-backend.sh), reaches the tests.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -f "$REPO_ROOT/build/ffi/lib/libwallet_ffi.so" ] && [ -d "$REPO_ROOT/android/src/generated/kotlin" ] ||
    "$REPO_ROOT/scripts/gen-bindings.sh"

cd "$REPO_ROOT/android"
# No Kotlin compile daemon: it outlives Maven (0.6-1.5 GB each). Not -q: it hides "Tests run:".
exec mvn -B -Dkotlin.compiler.daemon=false -Dstyle.color=never "$@" test
