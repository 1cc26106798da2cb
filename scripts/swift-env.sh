#!/usr/bin/env bash
# Swift toolchain for the tests.
#
#   swift-env.sh ensure            make `swift` available (no-op when it is on PATH)
#   swift-env.sh run DIR CMD...    run CMD in DIR with `swift` on PATH
#
# With `swift` on PATH (macOS, or Linux with a swift.org toolchain) it is used directly.
# Otherwise (Debian 12 has no Swift) a Debian 13 "trixie" tree with swiftlang 6.0.x is built once
# by debootstrap from this machine's own Debian mirror and cached OUTSIDE the repository in
# $OPENWALLET_CACHE/swift-trixie (default /var/cache/openwallet). Each `run` happens in a private
# mount namespace: proc, /dev, the repository (and the cargo target dir) are mounted into the tree
# at their own paths, idempotently, and unmounted on exit.
#
# CMD sees SWIFT_SCRATCH_PATH: a SwiftPM --scratch-path kept outside the repository, one per
# checkout (runs of one checkout are serialised by a lock, so they never collide).
# Environment variables named WALLET_* and SWIFT_* are passed into the tree.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SWIFT_CHROOT="${SWIFT_CHROOT:-$OPENWALLET_CACHE/swift-trixie}"
SWIFT_SUITE="${SWIFT_SUITE:-trixie}"
READY_MARKER=".openwallet-swift-ready"
checkout_key="$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)"

# Whether any mount point lies at or below $1.
has_mounts_below() {
    awk -v p="$1" '$2 == p || index($2, p "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}

# mount_once SRC DST [mount options...]: bind/mount unless DST already is a mount point.
mount_once() {
    local dst="$2"
    mkdir -p "$dst"
    mountpoint -q "$dst" || mount "${@:3}" "$1" "$dst"
}

# Mounts what swift needs inside tree $1; used inside a private mount namespace.
mount_tree() {
    local root="$1" dir
    mount_once proc "$root/proc" -t proc
    mount_once /dev "$root/dev" --bind
    for dir in "$REPO_ROOT" "$TARGET_DIR"; do
        [ -d "$dir" ] && mount_once "$dir" "$root$dir" --bind
    done
}

# Unmounts everything below tree $1 (deepest first); never fails.
umount_tree() {
    local root="$1" mp
    awk -v p="$root" 'index($2, p "/") == 1 { print $2 }' /proc/mounts | sort -r | while read -r mp; do
        umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
    done
}

# Builds the trixie tree (once; concurrent callers wait on a lock).
build_chroot() {
    [ -f "$SWIFT_CHROOT/$READY_MARKER" ] && return 0
    [ "$(id -u)" -eq 0 ] || die "building the Swift chroot needs root (or put swift on PATH)"
    mkdir -p "$(dirname "$SWIFT_CHROOT")"
    exec 8>"$SWIFT_CHROOT.build.lock"
    flock 8
    if [ -f "$SWIFT_CHROOT/$READY_MARKER" ]; then exec 8>&-; return 0; fi
    apt_install_missing debootstrap debootstrap
    local partial="$SWIFT_CHROOT.partial" mirror start
    start="$(now)"
    mirror="$(debian_mirror)"
    has_mounts_below "$partial" && die "$partial has mounts below it; unmount them first"
    has_mounts_below "$SWIFT_CHROOT" && die "$SWIFT_CHROOT has mounts below it; unmount them first"
    rm -rf "$partial" "$SWIFT_CHROOT"
    log "building the Swift chroot: debootstrap $SWIFT_SUITE from $mirror into $partial"
    debootstrap --variant=minbase "$SWIFT_SUITE" "$partial" "$mirror" >"$partial.log" 2>&1 ||
        { tail -n 30 "$partial.log" >&2; die "debootstrap failed (log: $partial.log)"; }
    cp /etc/resolv.conf "$partial/etc/resolv.conf" 2>/dev/null || true
    log "installing swiftlang into the chroot"
    unshare --mount --propagation private bash -euc '
        root="$1"
        mount -t proc proc "$root/proc"
        mount --bind /dev "$root/dev"
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
            DEBIAN_FRONTEND=noninteractive sh -ec "
                apt-get update -qq
                apt-get install -y -qq --no-install-recommends \
                    swiftlang libc6-dev libstdc++-14-dev libgcc-14-dev
                apt-get clean
                swift --version"
    ' _ "$partial" >>"$partial.log" 2>&1 ||
        { tail -n 30 "$partial.log" >&2; die "installing swiftlang failed (log: $partial.log)"; }
    touch "$partial/$READY_MARKER"
    mv "$partial" "$SWIFT_CHROOT"
    rm -f "$partial.log"
    log "Swift chroot ready in $SWIFT_CHROOT ($(elapsed "$start") s)"
    exec 8>&-
}

# Runs "$@" in directory $1 inside the chroot (called inside the private namespace).
run_in_chroot_ns() {
    local dir="$1"
    shift
    trap 'umount_tree "$SWIFT_CHROOT"' EXIT
    mount_tree "$SWIFT_CHROOT"
    local scratch="/var/tmp/openwallet-swift/$checkout_key"
    mkdir -p "$SWIFT_CHROOT$scratch"
    local envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
        LANG=C.UTF-8 "SWIFT_SCRATCH_PATH=$scratch")
    local name
    while IFS= read -r name; do
        envs+=("$name=${!name}")
    done < <(compgen -e | grep -E '^(WALLET_|SWIFT_)' | grep -vx 'SWIFT_SCRATCH_PATH' || true)
    local rc=0
    chroot "$SWIFT_CHROOT" /usr/bin/env -i "${envs[@]}" bash -c 'cd "$1" && shift && exec "$@"' _ "$dir" "$@" || rc=$?
    return "$rc"
}

cmd="${1:-}"
[ -n "$cmd" ] && shift
case "$cmd" in
ensure)
    command -v swift >/dev/null 2>&1 || build_chroot
    ;;
run)
    [ $# -ge 2 ] || die "usage: swift-env.sh run DIR CMD..."
    if command -v swift >/dev/null 2>&1; then
        dir="$1"
        shift
        SWIFT_SCRATCH_PATH="${XDG_CACHE_HOME:-$HOME/.cache}/openwallet/swift-scratch/$checkout_key"
        export SWIFT_SCRATCH_PATH
        mkdir -p "$SWIFT_SCRATCH_PATH"
        cd "$dir" && exec "$@"
    fi
    build_chroot
    # One run per checkout at a time: they share the scratch path.
    exec 9>"$SWIFT_CHROOT.run-$checkout_key.lock"
    flock 9
    exec unshare --mount --propagation private "$0" __inner "$@"
    ;;
__inner)
    run_in_chroot_ns "$@"
    ;;
*)
    die "usage: swift-env.sh ensure | run DIR CMD..."
    ;;
esac
