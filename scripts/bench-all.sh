#!/usr/bin/env bash
# Every benchmark of issue 10, then BENCHMARKS.md regenerated from the figures.
#
#   bench-all.sh [--no-ffi] [--no-write]
#
# 1. Criterion benches of wallet-core (tlv, crypto, store, wallet_open, hce_apdu) with short
#    warm-up / measurement times; card_tap, card_opening (0 and 100 ms injected RTT, round trips)
#    and hce_load (1,000 concurrent HCE card openings, pinned to 2 cores with taskset).
# 2. callgrind instruction counts of one online tap (3DES and SM4 profiles): noise-free.
# 3. scripts/size-check.sh --bloat: release cdylib size and each crate's share.
# 4. `wallet demo` (release) peak RSS with /usr/bin/time -v.
# 5. scripts/bench-ffi.sh next to a mock backend: per-call / per-APDU cost from Kotlin (JNA),
#    Swift and Python (skipped with --no-ffi; needs Maven and the Swift chroot).
# Logs go to build/bench/. BENCHMARKS.md is rewritten above its "Notes" marker; everything from
# the marker on (hand-written) is kept. --no-write only prints the table.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ffi=1
write=1
for arg in "$@"; do
    case "$arg" in
    --no-ffi) ffi=0 ;;
    --no-write) write=0 ;;
    *) die "usage: bench-all.sh [--no-ffi] [--no-write]" ;;
    esac
done
cd "$REPO_ROOT"
logs="$REPO_ROOT/build/bench"
rm -rf "$logs"
mkdir -p "$logs"
short=(-- --warm-up-time 1 --measurement-time 2)

log "criterion: tlv, crypto, store (sled durable write vs plain fsync), wallet_open, hce_apdu, remote_pay"
rm -rf "$TARGET_DIR/criterion"
for bench in tlv crypto store wallet_open hce_apdu remote_pay; do
    cargo bench -p wallet-core --bench "$bench" "${short[@]}" >"$logs/$bench.log" 2>&1 ||
        warn "bench $bench failed (see $logs/$bench.log)"
done

log "card_tap, card_opening, hce_load (1,000 wallets on 2 cores)"
cargo bench -p wallet-core --bench card_tap >"$logs/card_tap.log" 2>&1 || warn "card_tap failed"
cargo bench -p wallet-core --bench card_opening >"$logs/card_opening.log" 2>&1 ||
    warn "card_opening failed"
cargo bench -p wallet-core --bench hce_load --no-run >/dev/null 2>&1
hce_load_bin=$(cargo bench -p wallet-core --bench hce_load --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "hce_load" and m.get("executable"):
        print(m["executable"])')
pin=()
command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ] && pin=(taskset -c 0,1)
"${pin[@]}" "$hce_load_bin" 1000 >"$logs/hce_load.log" 2>&1 || warn "hce_load failed"

log "callgrind: instructions per online tap"
card_tap_bin=$(cargo bench -p wallet-core --bench card_tap --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "card_tap" and m.get("executable"):
        print(m["executable"])')
if command -v valgrind >/dev/null 2>&1; then
    for profile in "online ARQC, 3DES" "online ARQC, SM4"; do
        CARD_TAP_ONLY="$profile" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            --toggle-collect='*card_tap::tap_once*' "$card_tap_bin" >"$logs/callgrind.tmp" 2>&1 || true
        taps=$(grep -o '([0-9]* warm-up + [0-9]* timed' "$logs/callgrind.tmp" | tr -d '(' |
            awk '{print $1 + $4}')
        ir=$(grep -o 'Collected : [0-9]*' "$logs/callgrind.tmp" | awk '{print $3}')
        echo "CALLGRIND $profile|$ir|$taps" >>"$logs/callgrind.log"
    done
    rm -f "$logs/callgrind.tmp"
else
    warn "valgrind not installed: no instruction counts"
fi

log "release library size"
"$REPO_ROOT/scripts/size-check.sh" --bloat >"$logs/size.log" 2>&1 || warn "size check failed"

log "wallet demo peak RSS"
cargo build --release --bin wallet >"$logs/demo-build.log" 2>&1
for run in 1 2 3; do
    /usr/bin/time -v "$TARGET_DIR/release/wallet" demo >/dev/null 2>"$logs/demo-time.tmp" ||
        warn "wallet demo failed"
    grep 'Maximum resident' "$logs/demo-time.tmp" >>"$logs/demo.log"
done
rm -f "$logs/demo-time.tmp"

if [ "$ffi" = 1 ]; then
    log "FFI: Kotlin/JNA, Swift, Python (next to a mock backend)"
    "$REPO_ROOT/scripts/with-mock-backend.sh" --optional "$REPO_ROOT/scripts/bench-ffi.sh" \
        >"$logs/ffi.log" 2>&1 || warn "bench-ffi failed (see $logs/ffi.log)"
fi

log "writing the table"
args=("$logs" "$TARGET_DIR/criterion" "$REPO_ROOT/BENCHMARKS.md")
[ "$write" = 1 ] || args+=(--no-write)
python3 "$REPO_ROOT/scripts/bench_report.py" "${args[@]}"
