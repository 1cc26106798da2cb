#!/usr/bin/env bash
# Packages the Rust core for iOS apps: WalletFFI.xcframework (static libraries for device and
# simulator, with the C module WalletFFIFFI) plus the generated Swift bindings.
#
#   ios/build-xcframework.sh [--out DIR]        (default DIR: build/ios)
#
# NEEDS macOS WITH XCODE (xcodebuild, lipo, the iOS SDKs) and rustup. It cannot run on the
# project's Linux machines and CI: there it says so and exits with status 2 without building
# anything (ios/Tests/WalletKitTests/PlatformTests.swift checks that refusal).
#
# Steps:
#   1. rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#   2. cargo rustc -p wallet-ffi --lib --release --crate-type staticlib --target T, for the three
#      targets (release profile; no test hooks). The crate's own crate-type list stays
#      cdylib + lib: the static library is only built here (a debug staticlib is ~200 MB).
#   3. lipo: one simulator library for arm64 + x86_64.
#   4. The host library (cdylib) of the same sources feeds uniffi-bindgen (library mode):
#      WalletFFI.swift, WalletFFIFFI.h, module.modulemap.
#   5. xcodebuild -create-xcframework: ios-arm64 and ios-arm64_x86_64-simulator slices, headers
#      with the module map.
#
# Outputs (DIR):
#   WalletFFI.xcframework/                  add to the app target (or a binaryTarget)
#   Sources/WalletFFI/WalletFFI.swift       the generated Swift module WalletFFI
# With WalletKit's Sources/WalletKit, that is everything an app needs; see ios/README.md.

set -euo pipefail

if [ "$(uname -s)" != Darwin ]; then
    echo "build-xcframework.sh: needs macOS with Xcode (xcodebuild, lipo and the iOS SDKs)." >&2
    echo "This machine runs $(uname -s): nothing was built. Run it on a Mac with Xcode installed." >&2
    exit 2
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo_root/build/ios"
while [ $# -gt 0 ]; do
    case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "usage: build-xcframework.sh [--out DIR]" >&2; exit 64 ;;
    esac
done

for tool in xcodebuild lipo xcrun cargo rustup; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "build-xcframework.sh: '$tool' not found; install Xcode (not only the command line tools) and rustup." >&2
        exit 2
    }
done
xcrun --sdk iphoneos --show-sdk-path >/dev/null 2>&1 || {
    echo "build-xcframework.sh: no iOS SDK; select a full Xcode with 'sudo xcode-select -s /Applications/Xcode.app'." >&2
    exit 2
}

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"

cd "$repo_root"
echo "==> rustup target add ${targets[*]}"
rustup target add "${targets[@]}"
for target in "${targets[@]}"; do
    echo "==> cargo rustc -p wallet-ffi --release --crate-type staticlib --target $target"
    cargo rustc -p wallet-ffi --lib --release --crate-type staticlib --target "$target"
done

work="$out/.work"
rm -rf "$work" "$out/WalletFFI.xcframework" "$out/Sources"
mkdir -p "$work/device" "$work/simulator" "$work/headers" "$out/Sources/WalletFFI"
cp "$target_dir/aarch64-apple-ios/release/libwallet_ffi.a" "$work/device/"
echo "==> lipo: simulator arm64 + x86_64"
lipo -create \
    "$target_dir/aarch64-apple-ios-sim/release/libwallet_ffi.a" \
    "$target_dir/x86_64-apple-ios/release/libwallet_ffi.a" \
    -output "$work/simulator/libwallet_ffi.a"

echo "==> uniffi-bindgen (Swift) from the host library"
cargo build -p wallet-ffi --lib --bin uniffi-bindgen --features bindgen --release
cargo run -q -p wallet-ffi --bin uniffi-bindgen --features bindgen --release -- \
    generate --no-format "$target_dir/release/libwallet_ffi.dylib" --language swift --out-dir "$work/swift"
cp "$work/swift/WalletFFI.swift" "$out/Sources/WalletFFI/"
cp "$work/swift/WalletFFIFFI.h" "$work/headers/"
cp "$work/swift/WalletFFIFFI.modulemap" "$work/headers/module.modulemap"

echo "==> xcodebuild -create-xcframework"
xcodebuild -create-xcframework \
    -library "$work/device/libwallet_ffi.a" -headers "$work/headers" \
    -library "$work/simulator/libwallet_ffi.a" -headers "$work/headers" \
    -output "$out/WalletFFI.xcframework"
rm -rf "$work"

echo "==> done:"
echo "  $out/WalletFFI.xcframework"
echo "  $out/Sources/WalletFFI/WalletFFI.swift"
