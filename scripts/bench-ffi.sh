#!/usr/bin/env bash
# FFI cost and library size figures.
#
#   bench-ffi.sh [CALLS] [WARMUP]        default 10000 calls after 20000 warm-up calls
#
# 1. Size: scripts/size-check.sh (release cdylib with LTO, no test hooks, stripped).
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
"$REPO_ROOT/scripts/size-check.sh" || warn "the release library is over the size limit"

# The generated bindings (debug + test-hooks) must be present; they match any build with test-hooks.
[ -f "$REPO_ROOT/android/src/generated/kotlin/org/openwallet/ffi/wallet_ffi.kt" ] || "$REPO_ROOT/scripts/gen-bindings.sh"

log "release build with test hooks (benchmarks)"
cargo rustc -p wallet-ffi --lib --release --features test-hooks --crate-type cdylib
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
import asyncio, json, os, sys, tempfile, time, urllib.parse, urllib.request
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
def report(name, call):
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(calls):
        t = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - t)
    samples.sort()
    print(f"BENCH python-ctypes {name}: median {us(samples[calls // 2])} us, "
          f"p90 {us(samples[calls * 9 // 10])} us, p99 {us(samples[calls * 99 // 100])} us, "
          f"min {us(samples[0])} us ({calls} calls after {warmup} warm-up)")
print(f"BENCH python-ctypes echo_bytes(64 B): median {us(samples[calls // 2])} us, "
      f"p90 {us(samples[calls * 9 // 10])} us, p99 {us(samples[calls * 99 // 100])} us, "
      f"min {us(samples[0])} us ({calls} calls after {warmup} warm-up)")

# One APDU (SELECT PPSE against an open HCE card), as the Kotlin bench does; needs the backend.
url = os.environ.get("WALLET_BACKEND_URL")
if not url:
    print("BENCH python-ctypes process_apdu(SELECT PPSE, HCE card): skipped (no WALLET_BACKEND_URL)")
    sys.exit(0)
PAN, NAME, ID, PHONE = "6222021234567894", "张三", "110101199003071233", "13800138000"
with tempfile.TemporaryDirectory() as tmp:
    wallet = wallet_ffi.Wallet.open(wallet_ffi.WalletConfig(
        data_dir=os.path.join(tmp, "wallet"), backend_url=url, request_timeout_ms=5000, max_retries=0, ota_max_delay_ms=5))
    pending = asyncio.run(wallet.begin_binding(PAN, NAME, ID, PHONE))
    query = urllib.parse.urlencode({"phone": PHONE})
    with urllib.request.urlopen(f"{url}/test/sms/outbox?{query}", timeout=5) as answer:
        code = json.load(answer)["messages"][-1]["code"]
    binding = asyncio.run(wallet.confirm_binding(pending.session_id, code))
    asyncio.run(wallet.open_hce_card(binding.binding_id))
    select_ppse = bytes.fromhex("00A404000E325041592E5359532E444446303100")
    answer = wallet.process_apdu(select_ppse)
    assert answer[-2:] == b"\x90\x00", answer.hex()
    report("process_apdu(SELECT PPSE, HCE card)", lambda: wallet.process_apdu(select_ppse))
PY
