#!/usr/bin/env bash
# Runs a command next to a fresh mock backend.
#
#   with-mock-backend.sh [--optional] CMD [ARGS...]
#
# Builds the mock-backend binary, starts it on a free loopback port
# (`mock-backend --addr 127.0.0.1:PORT`), waits until `GET /health` answers `ok`, exports
# WALLET_BACKEND_URL=http://127.0.0.1:PORT, runs CMD, and stops the server on exit (also on
# failure or Ctrl-C). Exits with CMD's status. The server log goes to build/mock-backend/.
#
# --optional: if the backend cannot be built or does not come up, warn and run CMD without
# WALLET_BACKEND_URL (tests that need it then skip) instead of failing.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

optional=0
if [ "${1:-}" = --optional ]; then
    optional=1
    shift
fi
[ $# -ge 1 ] || die "usage: with-mock-backend.sh [--optional] CMD [ARGS...]"

unavailable() {
    if [ "$optional" = 1 ]; then
        warn "mock backend unavailable ($1); running without WALLET_BACKEND_URL"
        unset WALLET_BACKEND_URL
        exec "$@"
    fi
    die "mock backend unavailable: $1"
}

# A free loopback port (the kernel's choice; the small race until the server binds is retried).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

# Body of GET /health on port $1 (empty when nothing answers).
health() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 0
        printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
        timeout 2 cat <&3 | tr -d '\r' | sed '1,/^$/d'
    ) 2>/dev/null || true
}

cd "$REPO_ROOT"
log "building mock-backend"
if ! cargo build -p mock-backend --bin mock-backend; then
    unavailable "cargo build -p mock-backend failed" "$@"
fi
server="$TARGET_DIR/debug/mock-backend"
log_dir="$REPO_ROOT/build/mock-backend"
mkdir -p "$log_dir"

pid=""
stop_server() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

up=0
for attempt in 1 2 3; do
    port="$(free_port)"
    server_log="$log_dir/mock-backend-$port.log"
    "$server" --addr "127.0.0.1:$port" >"$server_log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do # up to 10 s
        if [ "$(health "$port")" = ok ]; then up=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ "$up" = 1 ] && break
    warn "mock backend attempt $attempt on port $port failed; log tail:"
    tail -n 5 "$server_log" >&2 || true
    stop_server
    pid=""
done
if [ "$up" != 1 ]; then
    trap - EXIT
    unavailable "no answer to GET /health" "$@"
fi

export WALLET_BACKEND_URL="http://127.0.0.1:$port"
log "mock backend at $WALLET_BACKEND_URL (pid $pid, log $server_log)"
rc=0
"$@" || rc=$?
exit "$rc"
