#!/usr/bin/env bash
# Swift suite: `swift test` of the WalletKit package in ios/ (XCTest), linked against
# build/ffi/lib (scripts/gen-bindings.sh must have run; it is run here when its output is missing).
# Uses `swift` from PATH, else the cached Debian 13 chroot (scripts/swift-env.sh).
# WALLET_BACKEND_URL, when set (scripts/with-mock-backend.sh), reaches the tests.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -f "$REPO_ROOT/build/ffi/lib/libwallet_ffi.so" ] && [ -f "$REPO_ROOT/ios/Sources/WalletFFI/WalletFFI.swift" ] ||
    "$REPO_ROOT/scripts/gen-bindings.sh"

export WALLET_FFI_LIB_DIR="$REPO_ROOT/build/ffi/lib"
export WALLET_RUST_BACKTRACE="${WALLET_TEST_BACKTRACE:-0}"
exec "$REPO_ROOT/scripts/swift-env.sh" run "$REPO_ROOT/ios" bash -c \
    'RUST_BACKTRACE="$WALLET_RUST_BACKTRACE" swift test --scratch-path "$SWIFT_SCRATCH_PATH" "$@"' _ "$@"
