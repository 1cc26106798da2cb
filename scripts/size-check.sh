#!/usr/bin/env bash
# Size of the shipped library: the release cdylib, x86_64 (the host), without test hooks, stripped.
#
#   size-check.sh [--max BYTES] [--bloat]
#
# Builds with `cargo rustc --crate-type cdylib`: with `crate-type = ["cdylib", "lib"]` (the `lib`
# is for bindings/tests) `cargo build` silently skips LTO for both outputs (rust-lang/cargo#9672),
# which costs ~1.2 MB. Fails when the stripped library is larger than BYTES (default 4,000,000:
# issue 10's "≤ 4 MB"). `--bloat` also prints each crate's share of .text (cargo-bloat, built the
# same way through a `cargo` shim on PATH; installs cargo-bloat if missing).
# Lines starting with SIZE / BLOAT are the figures.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

max=4000000
bloat=0
while [ $# -gt 0 ]; do
    case "$1" in
    --max) max="$2"; shift 2 ;;
    --bloat) bloat=1; shift ;;
    *) die "usage: size-check.sh [--max BYTES] [--bloat]" ;;
    esac
done
cd "$REPO_ROOT"
case "$(uname -s)" in Darwin) libname=libwallet_ffi.dylib ;; *) libname=libwallet_ffi.so ;; esac
out_dir="$REPO_ROOT/build/ffi/size"
mkdir -p "$out_dir"

log "cargo rustc -p wallet-ffi --lib --release --crate-type cdylib (no test hooks)"
start=$(date +%s)
cargo rustc -p wallet-ffi --lib --release --crate-type cdylib
log "built in $(($(date +%s) - start)) s"
cp -f "$TARGET_DIR/release/$libname" "$out_dir/$libname"
unstripped=$(stat -c %s "$out_dir/$libname")
strip "$out_dir/$libname"
stripped=$(stat -c %s "$out_dir/$libname")
printf 'SIZE release %s (%s, opt-level z, fat LTO, 1 CGU, panic=unwind): unstripped %s bytes, stripped %s bytes, limit %s bytes\n' \
    "$libname" "$(uname -m)" "$unstripped" "$stripped" "$max"

if [ "$bloat" = 1 ]; then
    command -v cargo-bloat >/dev/null 2>&1 || cargo install --locked cargo-bloat
    # cargo-bloat runs `cargo build` and takes the last artifact: a shim turns that into the same
    # `cargo rustc --crate-type cdylib` as above (no rebuild), so the shares are the LTO'd library's.
    shim_dir="$(mktemp -d)"
    trap 'rm -rf "$shim_dir"' EXIT
    real_cargo="$(command -v cargo)"
    cat >"$shim_dir/cargo" <<SHIM
#!/usr/bin/env bash
if [ "\$1" = build ]; then shift; exec "$real_cargo" rustc "\$@" --crate-type cdylib; fi
exec "$real_cargo" "\$@"
SHIM
    chmod +x "$shim_dir/cargo"
    PATH="$shim_dir:$PATH" cargo bloat --release -p wallet-ffi --lib --crates -n 25 2>/dev/null |
        sed -n '/Crate$/,$p' | grep -v '^$' | sed 's/^/BLOAT /'
fi

if [ "$stripped" -gt "$max" ]; then
    die "the stripped release library is $stripped bytes, over the limit of $max bytes"
fi
