#!/usr/bin/env bash
# Shared helpers for the scripts in this folder. Source it: `. "$(dirname "$0")/lib.sh"`.
# Defines REPO_ROOT, TARGET_DIR, logging, and installers that fetch only what is missing.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
# Cargo's target directory (honours CARGO_TARGET_DIR, like cargo itself).
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO_ROOT/$TARGET_DIR" ;; esac
export TARGET_DIR
# Caches that are too heavy for the repository (the Swift chroot, SwiftPM scratch folders).
OPENWALLET_CACHE="${OPENWALLET_CACHE:-/var/cache/openwallet}"
export OPENWALLET_CACHE

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# `apt-get update` at most once per top-level run (the flag is inherited by child scripts).
apt_update_once() {
    if [ "${OPENWALLET_APT_UPDATED:-}" != 1 ]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        export OPENWALLET_APT_UPDATED=1
    fi
}

# apt_install_missing CMD PKG... : installs PKGs when command CMD is not on PATH.
apt_install_missing() {
    local cmd="$1"
    shift
    if ! command -v "$cmd" >/dev/null 2>&1; then
        apt_update_once
        log "installing $* (no $cmd on PATH)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    fi
}

# The release-independent Debian archive address this machine's apt sources already use
# (deb822 `URIs:` or one-line `deb` entries whose path ends in /debian).
debian_mirror() {
    local files=() f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    if [ "${#files[@]}" -gt 0 ]; then
        uri="$(awk '
            /^[[:space:]]*#/ { next }
            $1 == "URIs:" { for (i = 2; i <= NF; i++) print $i; next }
            $1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { print $i; break } }
        ' "${files[@]}" | sed 's:/*$::' | grep -E '^(https?|file)://.*/debian$' | head -n1 || true)"
    fi
    if [ -z "${uri:-}" ]; then
        uri="$(apt-cache policy 2>/dev/null | awk '$2 ~ /\/debian\/?$/ { print $2; exit }' | sed 's:/*$::' || true)"
    fi
    [ -n "${uri:-}" ] || die "no Debian archive found in the apt sources"
    printf '%s\n' "$uri"
}

# Seconds since the epoch with fractions, for stage timings.
now() { date +%s.%N; }

# Whole seconds elapsed since $1 (a value of `now`).
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.0f", e - s }'; }
