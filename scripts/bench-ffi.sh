#!/usr/bin/env bash
# FFI cost and library size figures.
#
#   bench-ffi.sh [CALLS] [WARMUP]        default 10000 calls after 20000 warm-up calls
#
# 1. Size: `cargo build -p wallet-ffi --release` (no test hooks), then the x86_64 cdylib copied
#    and stripped; prints unstripped and stripped bytes.
# 2. Cost of one 64-byte bytes-in/bytes-out call (`echo_bytes`), median of CALLS timed calls
#    after WARMUP, against the release library (built with test-hooks so it matches the generated
#    bindings): Kotlin through JNA (mvn exec:java, android/src/test/kotlin/.../bench/EchoBench.kt),
#    Swift (`swift run -c release WalletBench`), Python (ctypes, for comparison).
# Lines starting with BENCH / SIZE are the figures.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

calls="${1:-10000}"
warmup="${2:-20000}"
cd "$REPO_ROOT"
case "$(uname -s)" in Darwin) libname=libwallet_ffi.dylib ;; *) libname=libwallet_ffi.so ;; esac
bench_dir="$REPO_ROOT/build/ffi/bench"
mkdir -p "$bench_dir/lib" "$bench_dir/size" "$bench_dir/python"

log "release build without test hooks (size)"
cargo build -p wallet-ffi --lib --release
cp -f "$TARGET_DIR/release/$libname" "$bench_dir/size/$libname"
unstripped=$(stat -c %s "$bench_dir/size/$libname")
strip "$bench_dir/size/$libname"
stripped=$(stat -c %s "$bench_dir/size/$libname")
printf 'SIZE release %s (%s, opt-level z, LTO, 1 CGU): unstripped %s bytes, stripped %s bytes\n' \
    "$libname" "$(uname -m)" "$unstripped" "$stripped"

# The generated bindings (debug + test-hooks) must be present; they match any build with test-hooks.
[ -f "$REPO_ROOT/android/src/generated/kotlin/org/openwallet/ffi/wallet_ffi.kt" ] || "$REPO_ROOT/scripts/gen-bindings.sh"

log "release build with test hooks (benchmarks)"
cargo build -p wallet-ffi --lib --release --features test-hooks
cp -f "$TARGET_DIR/release/$libname" "$bench_dir/lib/$libname"

log "Kotlin/JNA benchmark"
(cd android && mvn -B -Dkotlin.compiler.daemon=false -Dstyle.color=never \
    -Dffi.lib.dir="$bench_dir/lib" -Dexec.args="$calls $warmup" test-compile exec:java) |
    tee "$bench_dir/kotlin.log" | grep -E '^(BENCH|kotlin/jna|\[ERROR\])' || true

log "Swift benchmark"
WALLET_FFI_LIB_DIR="$bench_dir/lib" "$REPO_ROOT/scripts/swift-env.sh" run "$REPO_ROOT/ios" bash -c \
    'swift run -c release --scratch-path "$SWIFT_SCRATCH_PATH" WalletBench "$@" 2>&1' _ "$calls" "$warmup" |
    tee "$bench_dir/swift.log" | grep -E '^(BENCH|swift:|error)' || true

log "Python/ctypes benchmark"
cp -f "$REPO_ROOT/build/python/wallet_ffi.py" "$bench_dir/python/"
cp -f "$bench_dir/lib/$libname" "$bench_dir/python/"
python3 - "$bench_dir/python" "$calls" "$warmup" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
import wallet_ffi
calls, warmup = int(sys.argv[2]), int(sys.argv[3])
data = bytes(range(64))
for _ in range(warmup):
    wallet_ffi.echo_bytes(data)
samples = []
for _ in range(calls):
    t = time.perf_counter_ns()
    wallet_ffi.echo_bytes(data)
    samples.append(time.perf_counter_ns() - t)
samples.sort()
us = lambda ns: f"{ns / 1000:.1f}"
print(f"BENCH python-ctypes echo_bytes(64 B): median {us(samples[calls // 2])} us, "
      f"p90 {us(samples[calls * 9 // 10])} us, p99 {us(samples[calls * 99 // 100])} us, "
      f"min {us(samples[0])} us ({calls} calls after {warmup} warm-up)")
PY
