#!/usr/bin/env bash
# Builds wallet-ffi and generates its Kotlin, Swift and Python bindings (build output, ignored).
#
#   gen-bindings.sh [--release] [--no-test-hooks]
#
# Default: debug profile with the `test-hooks` feature (exports `debug_panic`), which the test
# suites need. The library is copied to build/ffi/lib/ right after the build, and the bindings are
# generated from (and the suites load) that copy, so a concurrent `cargo build` that rewrites
# target/<profile>/libwallet_ffi.so with other features cannot pull it from under the tests.
#
# Outputs:
#   build/ffi/lib/libwallet_ffi.so                     the library every suite loads
#   android/src/generated/kotlin/org/openwallet/ffi/   Kotlin (package org.openwallet.ffi)
#   ios/Sources/WalletFFI/WalletFFI.swift              Swift module WalletFFI
#   ios/Sources/WalletFFIFFI/{WalletFFIFFI.h,module.modulemap}   its C module WalletFFIFFI
#   build/python/wallet_ffi.py + libwallet_ffi.so      Python module wallet_ffi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

profile=debug
features=(--features test-hooks,bindgen)
for arg in "$@"; do
    case "$arg" in
    --release) profile=release ;;
    --no-test-hooks) features=(--features bindgen) ;;
    *) die "usage: gen-bindings.sh [--release] [--no-test-hooks]" ;;
    esac
done
cargo_profile=()
[ "$profile" = release ] && cargo_profile=(--release)

case "$(uname -s)" in
Darwin) libname=libwallet_ffi.dylib ;;
*) libname=libwallet_ffi.so ;;
esac

cd "$REPO_ROOT"
log "cargo build -p wallet-ffi ${cargo_profile[*]} ${features[*]}"
cargo build -p wallet-ffi --lib --bin uniffi-bindgen "${cargo_profile[@]}" "${features[@]}"

lib_dir="$REPO_ROOT/build/ffi/lib"
mkdir -p "$lib_dir"
cp -f "$TARGET_DIR/$profile/$libname" "$lib_dir/$libname.tmp"
mv -f "$lib_dir/$libname.tmp" "$lib_dir/$libname"
lib="$lib_dir/$libname"

bindgen() {
    cargo run -q -p wallet-ffi --bin uniffi-bindgen "${cargo_profile[@]}" "${features[@]}" -- \
        generate --no-format "$lib" "$@"
}

kotlin_out="$REPO_ROOT/android/src/generated/kotlin"
swift_out="$REPO_ROOT/build/ffi/swift"
python_out="$REPO_ROOT/build/python"
rm -rf "$kotlin_out" "$swift_out" "$python_out"
mkdir -p "$kotlin_out" "$swift_out" "$python_out"

log "uniffi-bindgen: kotlin, swift, python"
bindgen --language kotlin --out-dir "$kotlin_out" >/dev/null
bindgen --language swift --out-dir "$swift_out" >/dev/null
bindgen --language python --out-dir "$python_out" >/dev/null

# uniffi 0.32's Kotlin callbacks catch only kotlin.Exception: a Kotlin Error thrown by a foreign
# trait method (TODO(), AssertionError) is swallowed by JNA and Rust sees a successful call with
# a default value (mozilla/uniffi-rs#2903, fixed upstream by #2945). Catch Throwable instead, so
# it reaches the app as a typed error; fail loudly if the generated code changed shape.
kotlin_ffi="$kotlin_out/org/openwallet/ffi/wallet_ffi.kt"
catches=$(grep -c '    } catch(e: kotlin.Exception) {' "$kotlin_ffi" || true)
if [ "$catches" != 2 ]; then
    echo "gen-bindings: expected 2 callback catch blocks in $kotlin_ffi, found $catches" >&2
    exit 1
fi
sed -i 's/    } catch(e: kotlin.Exception) {/    } catch(e: kotlin.Throwable) {/' "$kotlin_ffi"

# SwiftPM layout: the Swift module's source, and the C module as a system-library target whose
# module map must be called module.modulemap.
swift_src="$REPO_ROOT/ios/Sources/WalletFFI"
c_module="$REPO_ROOT/ios/Sources/WalletFFIFFI"
rm -rf "$swift_src" "$c_module"
mkdir -p "$swift_src" "$c_module"
cp "$swift_out/WalletFFI.swift" "$swift_src/"
cp "$swift_out/WalletFFIFFI.h" "$c_module/"
cp "$swift_out/WalletFFIFFI.modulemap" "$c_module/module.modulemap"

# uniffi's Python module loads the library from its own folder.
cp -f "$lib" "$python_out/$libname"

log "bindings generated from $lib"
find "$kotlin_out" "$swift_src" "$c_module" "$python_out" -type f | sed "s:^$REPO_ROOT/:  :" >&2
