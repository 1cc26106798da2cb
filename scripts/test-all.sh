#!/usr/bin/env bash
# The whole check, as CI runs it (.ci/run): one command from a fresh clone.
#
#   test-all.sh [STAGE...]        default: every stage, in this order
#
# Stages:
#   setup         install what is missing: JDK 17 + Maven (apt), python3, rustfmt/clippy,
#                 debootstrap and the Swift chroot (scripts/swift-env.sh; cached outside the repo)
#   rust-fmt      cargo fmt --all -- --check
#   rust-clippy   cargo clippy --workspace --all-targets -- -D warnings
#   rust-test     cargo test --workspace --no-fail-fast (every test binary runs)
#   gen-bindings  scripts/gen-bindings.sh (debug + test-hooks; build output, ignored by git)
#   kotlin        scripts/test-kotlin.sh  (Maven, JUnit 5, JNA)     } each next to its own
#   swift         scripts/test-swift.sh   (SwiftPM, XCTest)         } mock backend
#   python        scripts/test-python.sh  (unittest)                } (with-mock-backend.sh)
#   pcsc          scripts/test-pcsc.sh    (pcscd + vsmartcard vpcd: the terminal taps over PC/SC)
#   lib-size      scripts/size-check.sh   (release cdylib, stripped: fails above 4,000,000 bytes)
#
# Every stage runs even when an earlier one failed (the binding suites need gen-bindings); the
# output of each is shown and kept in build/test-logs/STAGE.log; a summary table ends the run and
# the exit status is non-zero if any stage failed.
# WALLET_MOCK_BACKEND=optional runs the binding suites without a backend when it cannot start.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

all_stages=(setup rust-fmt rust-clippy rust-test gen-bindings kotlin swift python pcsc lib-size)
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")
for s in "${stages[@]}"; do
    [[ " ${all_stages[*]} " == *" $s "* ]] || die "unknown stage $s (stages: ${all_stages[*]})"
done

cd "$REPO_ROOT"
log_dir="$REPO_ROOT/build/test-logs"
mkdir -p "$log_dir"
scripts="$REPO_ROOT/scripts"
mock=("$scripts/with-mock-backend.sh")
[ "${WALLET_MOCK_BACKEND:-}" = optional ] && mock+=(--optional)
# Keep cargo's output readable in logs.
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches cost gigabytes of disk and buy nothing on a one-off check.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

setup() {
    if ! command -v javac >/dev/null 2>&1; then
        apt_update_once
        # JDK 17 (Debian 12); releases without it get their default JDK.
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            openjdk-17-jdk-headless ||
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                default-jdk-headless
    fi
    apt_install_missing mvn maven
    apt_install_missing python3 python3
    command -v cargo >/dev/null || die "no cargo on PATH: install Rust (rustup) first"
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
    "$scripts/swift-env.sh" ensure
    printf 'java: %s\nmaven: %s\npython: %s\ncargo: %s\n' \
        "$(java -version 2>&1 | head -n1)" "$(mvn -v 2>/dev/null | head -n1)" \
        "$(python3 --version)" "$(cargo --version)"
}

# One-line summary of a finished stage, from its log.
summarize() {
    local stage="$1" logf="$2"
    case "$stage" in
    rust-fmt)
        local n
        n="$(grep -c '^Diff in' "$logf" || true)"
        [ "$n" = 0 ] && echo "formatted" || echo "$n hunks to reformat"
        ;;
    rust-clippy)
        echo "$(grep -c '^error' "$logf" || true) errors, $(grep -c '^warning' "$logf" || true) warnings"
        ;;
    rust-test)
        awk '/^test result:/ { for (i = 1; i <= NF; i++) { v = $i + 0
                if ($(i+1) ~ /^passed/) p += v; if ($(i+1) ~ /^failed/) f += v; if ($(i+1) ~ /^ignored/) g += v }
                n++ }
             END { if (n) printf "%d passed, %d failed, %d ignored (%d test binaries", p, f, g, n }' "$logf"
        if grep -q '^test result:' "$logf"; then
            printf ', %s failing)' "$(grep -c '^error: test failed' "$logf" || true)"
        else
            echo "no test ran: $(grep -m1 -E '^error' "$logf" || echo 'see the log')"
        fi
        ;;
    kotlin)
        # test-kotlin.sh ends with the total of its two surefire runs (JUnit 5 + Robolectric).
        grep -aE 'kotlin: [0-9]+ passed' "$logf" | tail -n1 | sed 's/.*kotlin: //'
        ;;
    swift)
        grep -A1 "Test Suite 'All tests'" "$logf" | grep -E 'Executed [0-9]+ test' | tail -n1 |
            sed 's/^[[:space:]]*//; s/ in [0-9.]* ([0-9.]*) seconds//'
        ;;
    python)
        printf '%s, %s' "$(grep -E '^Ran [0-9]+ test' "$logf" | tail -n1 | sed 's/ in [0-9.]*s$//')" \
            "$(grep -E '^(OK|FAILED)' "$logf" | tail -n1)"
        ;;
    pcsc)
        grep -E '^pcsc: ' "$logf" | tail -n1 | sed 's/^pcsc: //'
        ;;
    lib-size)
        grep -E '^SIZE ' "$logf" | tail -n1 | sed 's/^SIZE release [^:]*: //'
        ;;
    gen-bindings)
        if grep -q 'bindings generated from' "$logf"; then
            echo "$(grep -cE '^  (android|ios|build)/' "$logf" || true) files generated"
        else
            echo "not generated: $(grep -m1 -E '^error' "$logf" || echo 'see the log')"
        fi
        ;;
    esac
}

declare -A result seconds summary
failed=0
run_stage() {
    local stage="$1"
    shift
    local logf="$log_dir/$stage.log" start rc=0
    printf '\n\033[1;35m######## %s ########\033[0m\n' "$stage" >&2
    start="$(now)"
    set +e
    ("$@") 2>&1 | tee "$logf"
    rc=${PIPESTATUS[0]}
    set -e
    seconds[$stage]="$(elapsed "$start")"
    summary[$stage]="$(summarize "$stage" "$logf" 2>/dev/null || true)"
    if [ "$rc" = 0 ]; then
        result[$stage]=PASS
    else
        result[$stage]="FAIL($rc)"
        failed=1
    fi
}

total_start="$(now)"
for stage in "${stages[@]}"; do
    case "$stage" in
    setup) run_stage setup setup ;;
    rust-fmt) run_stage rust-fmt cargo fmt --all -- --check ;;
    rust-clippy) run_stage rust-clippy cargo clippy --workspace --all-targets -- -D warnings ;;
    rust-test) run_stage rust-test cargo test --workspace --no-fail-fast ;;
    gen-bindings) run_stage gen-bindings "$scripts/gen-bindings.sh" ;;
    pcsc) run_stage pcsc "$scripts/test-pcsc.sh" ;;
    lib-size) run_stage lib-size "$scripts/size-check.sh" ;;
    kotlin | swift | python)
        if [ "${result[gen-bindings]:-}" != "" ] && [ "${result[gen-bindings]}" != PASS ]; then
            result[$stage]=SKIP
            seconds[$stage]=0
            summary[$stage]="gen-bindings failed"
            failed=1
        else
            run_stage "$stage" "${mock[@]}" "$scripts/test-$stage.sh"
        fi
        ;;
    esac
done

{
    printf '\n%-13s %-8s %6s  %s\n' STAGE RESULT TIME SUMMARY
    for stage in "${stages[@]}"; do
        printf '%-13s %-8s %5ss  %s\n' "$stage" "${result[$stage]}" "${seconds[$stage]}" "${summary[$stage]}"
    done
    printf '%-13s %-8s %5ss  logs in %s\n' total "$([ $failed = 0 ] && echo PASS || echo FAIL)" \
        "$(elapsed "$total_start")" "${log_dir#"$REPO_ROOT"/}"
} | tee "$log_dir/summary.txt"
exit "$failed"
