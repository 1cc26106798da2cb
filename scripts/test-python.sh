#!/usr/bin/env bash
# Python suite: unittest of bindings/tests/python against the generated module in build/python
# (scripts/gen-bindings.sh must have run; it is run here when its output is missing).
# WALLET_BACKEND_URL, when set (scripts/with-mock-backend.sh), reaches the tests.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -f "$REPO_ROOT/build/python/wallet_ffi.py" ] || "$REPO_ROOT/scripts/gen-bindings.sh"

cd "$REPO_ROOT"
export WALLET_FFI_PYTHON_DIR="$REPO_ROOT/build/python"
# Panics are expected (debug_panic): no backtraces unless WALLET_TEST_BACKTRACE=1.
export RUST_BACKTRACE="${WALLET_TEST_BACKTRACE:-0}"
exec python3 -m unittest discover -s bindings/tests/python -t bindings/tests/python -v "$@"
