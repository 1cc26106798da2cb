#!/usr/bin/env bash
# End to end: the mock POS terminal taps cards in vsmartcard's virtual PC/SC reader.
#
#   test-pcsc.sh
#
# 1. Installs what is missing (apt, as root or through sudo): pcscd, vsmartcard-vpcd (the
#    virtual reader driver: /etc/reader.conf.d/vpcd, readers "Virtual PCD 00 00" on TCP
#    35963 and "Virtual PCD 00 01" on 35964) and libpcsclite-dev (for the `pcsc` crate).
# 2. Builds the wallet CLI with `--features pcsc` (only here: the workspace builds without
#    libpcsclite-dev) and copies it to build/pcsc/ so parallel builds cannot swap it.
# 3. Starts `pcscd -f -i` (foreground mode, info log, run in the background: no systemd, no udev, no polkit
#    needed; root writes /run/pcscd) unless a pcscd is already running — then that one is used.
# 4. Next to a fresh mock backend (with-mock-backend.sh), in one data dir: binds the mock
#    bank's first test card, opens an HCE card and a card in the simulated eSE, serves the HCE
#    card in reader 00 00 (`wallet hce serve --vpcd 127.0.0.1:35963`) and the eSE in reader
#    00 01 (`wallet se serve --vpcd 127.0.0.1:35964`), and taps each with
#    `wallet tap --via pcsc --reader … --amount 12.34 --json`: both must be approved online.
#    Then, with the cards gone, a tap must fail cleanly (exit 1, typed error, no panic), and
#    `PCSC_TEST=1 cargo test -p mock-backend --features pcsc --test pcsc` removes a card in the
#    middle of a tap (the tap fails with a card I/O error).
# 5. Stops everything it started (trap), prints PASS/FAIL per check, exits non-zero on failure.
#
# Logs: build/pcsc/*.log.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out_dir="$REPO_ROOT/build/pcsc"
wallet_bin="$out_dir/wallet"

if [ "${OPENWALLET_PCSC_INNER:-}" != 1 ]; then
    start="$(now)"
    missing=()
    for pkg in pcscd vsmartcard-vpcd libpcsclite-dev; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt_update_once
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}"
    fi
    [ -f /etc/reader.conf.d/vpcd ] || die "vsmartcard-vpcd installed no /etc/reader.conf.d/vpcd"
    cd "$REPO_ROOT"
    log "building the wallet CLI with --features pcsc"
    cargo build -q -p wallet-cli --features pcsc
    cargo test -q -p mock-backend --features pcsc --test pcsc --no-run
    mkdir -p "$out_dir"
    cp "$TARGET_DIR/debug/wallet" "$wallet_bin.tmp" && mv "$wallet_bin.tmp" "$wallet_bin"
    export OPENWALLET_PCSC_INNER=1 OPENWALLET_PCSC_START="$start"
    exec "$REPO_ROOT/scripts/with-mock-backend.sh" "$0" "$@"
fi

# ---- inside with-mock-backend.sh: WALLET_BACKEND_URL is set ----
[ -n "${WALLET_BACKEND_URL:-}" ] || die "no mock backend (WALLET_BACKEND_URL)"
data="$out_dir/data"
rm -rf "$data"
mkdir -p "$data"

pids=()
pcscd_pid=""
cleanup() {
    local pid
    for pid in "${pids[@]}" $pcscd_pid; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}" $pcscd_pid; do
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wallet ARGS…: the CLI in the test data dir against the mock backend, JSON out. (Background
# processes run "$wallet_bin" "${common[@]}" directly, so that $! is the CLI itself.)
common=(--json --data-dir "$data" --backend "$WALLET_BACKEND_URL")
wallet() { "$wallet_bin" "${common[@]}" "$@"; }

declare -a checks=()
failed=0
pass() { checks+=("PASS  $1"); log "PASS: $1"; }
fail() { checks+=("FAIL  $1"); warn "FAIL: $1"; failed=1; }
summary() {
    printf '\n%s\n' "---- PC/SC end-to-end ----"
    printf '%s\n' "${checks[@]}"
    printf 'pcsc: %s, %s checks, %ss\n' "$([ $failed = 0 ] && echo PASS || echo FAIL)" \
        "${#checks[@]}" "$(elapsed "${OPENWALLET_PCSC_START:-$(now)}")"
}

# A running pcscd is used as it is; else one is started (and stopped at the end).
# (pcscd removes its pid file when it exits.)
running_pcscd="$(cat /run/pcscd/pcscd.pid 2>/dev/null || true)"
if [ -n "$running_pcscd" ] && kill -0 "$running_pcscd" 2>/dev/null; then
    log "using the running pcscd (pid $running_pcscd)"
else
    log "starting pcscd -f -i (log: $out_dir/pcscd.log)"
    # Started directly (not through a shell function) so that $! is pcscd (or sudo) itself.
    if [ "$(id -u)" -eq 0 ]; then
        pcscd -f -i >"$out_dir/pcscd.log" 2>&1 &
    else
        sudo pcscd -f -i >"$out_dir/pcscd.log" 2>&1 &
    fi
    pcscd_pid=$!
    for _ in $(seq 50); do
        grep -q 'daemon ready' "$out_dir/pcscd.log" 2>/dev/null && break
        kill -0 "$pcscd_pid" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q 'daemon ready' "$out_dir/pcscd.log" 2>/dev/null; then
        tail -n 20 "$out_dir/pcscd.log" >&2 || true
        fail "pcscd starts"
        summary
        exit 1
    fi
fi

# step NAME CMD…: runs CMD (JSON on stdout) into build/pcsc/NAME.json; PASS if it succeeds.
step() {
    local name="$1"
    shift
    if "$@" >"$out_dir/$name.json" 2>"$out_dir/$name.log"; then
        pass "$name"
    else
        fail "$name (exit $?; see $out_dir/$name.json and .log)"
        cat "$out_dir/$name.json" "$out_dir/$name.log" >&2 || true
    fi
}

# tap_check NAME READER: taps the card in READER; PASS if approved online by the issuer.
tap_check() {
    local name="$1" reader="$2" rc=0
    timeout 60 "$wallet_bin" "${common[@]}" tap --via pcsc --reader "$reader" --wait 10 --amount 12.34 \
        --trace "$out_dir/$name.trace" >"$out_dir/$name.json" 2>"$out_dir/$name.log" || rc=$?
    if [ "$rc" = 0 ] && grep -q '"decision": "approved_online"' "$out_dir/$name.json" &&
        grep -q "\"via\": \"PC/SC reader $reader\"" "$out_dir/$name.json"; then
        pass "$name: approved online ($(grep -o '"card": "[^"]*"' "$out_dir/$name.json"), $(grep -o '"atc": [0-9]*' "$out_dir/$name.json"))"
    else
        fail "$name (exit $rc; see $out_dir/$name.json and .log)"
        cat "$out_dir/$name.json" "$out_dir/$name.log" >&2 || true
    fi
}

step bind wallet bind --pan 6222021234567894 --name 张三 --id 071233 --phone 13800138000 \
    --code-from-outbox
step open-hce-card wallet open-hce-card
step open-card wallet open-card --se ese

log "serving the HCE card in Virtual PCD 00 00 and the eSE in Virtual PCD 00 01"
"$wallet_bin" "${common[@]}" hce serve --vpcd 127.0.0.1:35963 >"$out_dir/hce-serve.log" 2>&1 &
hce_pid=$!
pids+=("$hce_pid")
"$wallet_bin" "${common[@]}" se serve --se ese --vpcd 127.0.0.1:35964 >"$out_dir/se-serve.log" 2>&1 &
se_pid=$!
pids+=("$se_pid")

tap_check "tap-hce" "Virtual PCD 00 00"
tap_check "tap-se" "Virtual PCD 00 01"

# The cards leave: the tap must fail with a typed error (exit 1), not hang or panic (101).
kill "$hce_pid" "$se_pid" 2>/dev/null || true
wait "$hce_pid" "$se_pid" 2>/dev/null || true
sleep 1
rc=0
timeout 60 "$wallet_bin" "${common[@]}" tap --via pcsc --wait 1 --amount 12.34 >"$out_dir/tap-no-card.json" \
    2>"$out_dir/tap-no-card.log" || rc=$?
if [ "$rc" = 1 ] && grep -q '"kind": "usage"' "$out_dir/tap-no-card.json" &&
    grep -q 'no card' "$out_dir/tap-no-card.json"; then
    pass "tap-no-card: fails cleanly ($(grep -o '"message": "[^"]*"' "$out_dir/tap-no-card.json"))"
else
    fail "tap-no-card (exit $rc; see $out_dir/tap-no-card.json)"
    cat "$out_dir/tap-no-card.json" "$out_dir/tap-no-card.log" >&2 || true
fi

# A card removed in the middle of a tap (mock-backend/tests/pcsc.rs plays the vpcd card side).
if (cd "$REPO_ROOT" && PCSC_TEST=1 timeout 120 cargo test -q -p mock-backend --features pcsc --test pcsc) \
    >"$out_dir/removed-mid-transaction.log" 2>&1; then
    pass "removed-mid-transaction: the tap fails with a card I/O error, then \"no card\""
else
    fail "removed-mid-transaction (see $out_dir/removed-mid-transaction.log)"
    tail -n 30 "$out_dir/removed-mid-transaction.log" >&2 || true
fi

summary
exit "$failed"
