#!/usr/bin/env python3
"""Turns the logs of scripts/bench-all.sh into the generated part of BENCHMARKS.md.

    bench_report.py LOG_DIR CRITERION_DIR BENCHMARKS_MD [--no-write]

The generated part is everything above the line NOTES_MARKER; from that line on the file is
hand-written and kept as it is. A figure whose log is missing shows as "not measured".
"""

import json
import pathlib
import platform
import re
import subprocess
import sys
import time

NOTES_MARKER = "<!-- hand-written notes below: kept by scripts/bench-all.sh -->"
MISSING = "not measured"


def read(log_dir, name):
    path = log_dir / name
    return path.read_text(errors="replace") if path.exists() else ""


def duration_us(text):
    """Rust `Debug` of a Duration (`195.23µs`, `2.80ms`, `812ns`, `1.2s`) in µs."""
    m = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", text.strip())
    if not m:
        return None
    scale = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}[m.group(2)]
    return float(m.group(1)) * scale


def fmt_us(us):
    if us is None:
        return MISSING
    if us < 1:
        return f"{us * 1000:.0f} ns"
    if us < 1000:
        return f"{us:.1f} µs" if us < 100 else f"{us:.0f} µs"
    return f"{us / 1000:.2f} ms"


def criterion_medians(criterion_dir):
    """full_id → median in µs, from Criterion's JSON output of this run."""
    out = {}
    for bench in criterion_dir.glob("**/new/benchmark.json"):
        estimates = bench.parent / "estimates.json"
        if not estimates.exists():
            continue
        full_id = json.loads(bench.read_text())["full_id"]
        out[full_id] = json.loads(estimates.read_text())["median"]["point_estimate"] / 1000.0
    return out


def store_latency(log):
    """name → (p50, p99, max) in µs from store.rs's latency report."""
    out = {}
    for line in log.splitlines():
        parts = line.split()
        if len(parts) == 4 and all(duration_us(p) is not None for p in parts[1:]):
            out[parts[0]] = tuple(duration_us(p) for p in parts[1:])
    return out


def card_taps(log):
    out = {}
    for line in log.splitlines():
        m = re.match(r"(.+?)\s+median\s+([0-9.]+) µs\s+p90\s+([0-9.]+) µs\s+p99\s+([0-9.]+) µs", line)
        if m:
            out[m.group(1).strip()] = tuple(float(m.group(i)) for i in (2, 3, 4))
    return out


def card_openings(log):
    """(SE, rtt ms) → (n, median ms, max ms, SERAM round trips, HTTP exchanges)."""
    out = {}
    for line in log.splitlines():
        m = re.match(r"(\S+)\s+(\d+) ms\s+(\d+)\s+([0-9.]+)ms\s+([0-9.]+)ms\s+(\d+)\s+(\d+)", line)
        if m:
            out[(m.group(1), int(m.group(2)))] = (
                int(m.group(3)), float(m.group(4)), float(m.group(5)), int(m.group(6)), int(m.group(7)))
    return out


def bench_lines(log, prefix):
    """`BENCH <prefix> <name>: median X us, p90 ...` → name → (median µs, rest of the line)."""
    out = {}
    for line in log.splitlines():
        m = re.match(rf"BENCH {re.escape(prefix)} (.+?): median ([0-9.]+) ?us,? ?(.*)", line)
        if m:
            out[m.group(1)] = (float(m.group(2)), m.group(3))
    return out


def verdict(ok):
    if ok is None:
        return "?"
    return "yes" if ok else "**no**"


def machine():
    load = " ".join(f"{x:.1f}" for x in __import__("os").getloadavg())
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.split()[1]
    except (OSError, IndexError):
        rustc = "?"
    return (f"{platform.machine()}, {__import__('os').cpu_count()} cores, Rust {rustc}, "
            f"load average at the end {load}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def generate(log_dir, criterion_dir):
    crit = criterion_medians(criterion_dir)
    latency = store_latency(read(log_dir, "store.log"))
    taps = card_taps(read(log_dir, "card_tap.log"))
    openings = card_openings(read(log_dir, "card_opening.log"))
    ffi_log = read(log_dir, "ffi.log")
    kotlin = bench_lines(ffi_log, "kotlin-jna")
    swift = bench_lines(ffi_log, "swift")
    python = bench_lines(ffi_log, "python-ctypes")
    size = re.search(r"SIZE .*unstripped (\d+) bytes, stripped (\d+) bytes", read(log_dir, "size.log"))
    rss = [int(x) for x in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", read(log_dir, "demo.log"))]
    hce = re.search(r"BENCH hce_load open: (\d+)/(\d+) .*? in ([0-9.]+) s on (\d+) worker threads "
                    r"\(per opening p50 (\d+) ms, p99 (\d+) ms", read(log_dir, "hce_load.log"))
    callgrind = {}
    for line in read(log_dir, "callgrind.log").splitlines():
        m = re.match(r"CALLGRIND (.+)\|(\d+)\|(\d+)", line)
        if m and int(m.group(3)):
            callgrind[m.group(1)] = int(m.group(2)) / int(m.group(3))

    rows = []

    def row(figure, target, measured, ok, source):
        met = verdict(ok) if target else "–"
        rows.append(f"| {figure} | {target} | {measured} | {met} | {source} |")

    online = [taps.get("online ARQC, 3DES"), taps.get("online ARQC, SM4")]
    if all(online):
        row("card-side online tap (PPSE … READ RECORD), excluding the durable write",
            "median < 300 µs", f"3DES {online[0][0]:.1f} µs, SM4 {online[1][0]:.1f} µs (median)",
            max(o[0] for o in online) < 300, "`core/benches/card_tap.rs`")
    else:
        row("card-side online tap", "median < 300 µs", MISSING, None, "`card_tap.rs`")
    for name in ("online ARQC, 3DES", "online ARQC, SM4"):
        if name in callgrind:
            row(f"same, instructions per tap ({name.split(', ')[1]}, callgrind)", "",
                f"{callgrind[name]:,.0f} instructions", None, "`card_tap.rs` under callgrind")
    durable = latency.get("put_durable_atc")
    row("durable ATC write (`put_durable`)", "p99 < 5 ms",
        f"p50 {fmt_us(durable[0])}, p99 {fmt_us(durable[1])}, max {fmt_us(durable[2])}" if durable else MISSING,
        durable[1] < 5000 if durable else None, "`core/benches/store.rs` (1,000 runs)")
    kotlin_apdu = kotlin.get("process_apdu(SELECT PPSE, HCE card)")
    row("one APDU through Kotlin / JNA (`process_apdu`, SELECT PPSE)", "median < 100 µs",
        f"{kotlin_apdu[0]} µs" if kotlin_apdu else MISSING,
        kotlin_apdu[0] < 100 if kotlin_apdu else None, "`scripts/bench-ffi.sh`")
    ese0, ese100 = openings.get(("eSE", 0)), openings.get(("eSE", 100))
    row("HTTP round trips per card opening (GP SERAM, handshake included), eSE",
        "≤ 3", f"{ese0[3]} (HTTP in total incl. order + status: {ese0[4]})" if ese0 else MISSING,
        ese0[3] <= 3 if ese0 else None, "`core/benches/card_opening.rs`")
    row("card opening with 100 ms injected RTT, eSE", "< 1 s",
        f"median {ese100[1]:.0f} ms, max {ese100[2]:.0f} ms (N={ese100[0]})" if ese100 else MISSING,
        ese100[2] < 1000 if ese100 else None, "`card_opening.rs`")
    row("release cdylib, x86_64, stripped", "≤ 4 MB (4,000,000 bytes)",
        f"{int(size.group(2)):,} bytes (unstripped {int(size.group(1)):,})" if size else MISSING,
        int(size.group(2)) <= 4_000_000 if size else None, "`scripts/size-check.sh`")
    row("`wallet demo` peak RSS (release, `/usr/bin/time -v`)", "≤ 25 MB",
        f"{max(rss) / 1024:.1f} MiB ({max(rss):,} KiB, worst of {len(rss)} runs)" if rss else MISSING,
        max(rss) * 1024 <= 25_000_000 if rss else None, "`scripts/bench-all.sh`")
    wallet_open = crit.get("wallet/open on an existing store")
    row("opening the wallet on an existing store", "< 10 ms", fmt_us(wallet_open),
        wallet_open < 10_000 if wallet_open else None, "`core/benches/wallet_open.rs`")
    if hce:
        ok_n, n, secs = int(hce.group(1)), int(hce.group(2)), float(hce.group(3))
        row("mock backend: 1,000 concurrent HCE card openings", "all succeed in < 30 s (2 cores)",
            f"{ok_n}/{n} in {secs:.2f} s on {hce.group(4)} worker threads pinned to 2 cores "
            f"(per opening p50 {hce.group(5)} ms, p99 {hce.group(6)} ms)",
            ok_n == n and secs < 30, "`core/benches/hce_load.rs`")
    else:
        row("mock backend: 1,000 concurrent HCE card openings", "all succeed in < 30 s", MISSING, None,
            "`hce_load.rs`")

    out = ["# Benchmarks", "",
           "<!-- generated by scripts/bench-all.sh: edit the notes below the marker, not this part -->",
           "",
           "Generated by `./scripts/bench-all.sh`:", f"{machine()}.", "",
           "The machines are shared (other builds run at the same time): wall-clock figures are",
           "±10–20 %, fsync tails depend on the disk; the callgrind instruction counts are not affected.",
           "",
           "## Targets (issue 10)", "",
           "| figure | target | measured | met? | source |", "|---|---|---|---|---|", *rows, ""]

    out += ["## Side by side", "", "### One call through each language (median)", "",
            "| call | Rust | Kotlin / JNA | Swift | Python / ctypes |", "|---|---|---|---|---|"]
    rust_apdu = crit.get("hce/process_apdu(SELECT PPSE), Rust")

    def cell(table, name):
        return f"{table[name][0]} µs" if name in table else "–"
    out.append(f"| `process_apdu` (SELECT PPSE, HCE card) | {fmt_us(rust_apdu)} | "
               f"{cell(kotlin, 'process_apdu(SELECT PPSE, HCE card)')} | "
               f"{cell(swift, 'process_apdu(SELECT PPSE, HCE card)')} | "
               f"{cell(python, 'process_apdu(SELECT PPSE, HCE card)')} |")
    out.append(f"| `echo_bytes` (64 B in, 64 B out) | – | {cell(kotlin, 'echo_bytes(64 B)')} | "
               f"{cell(swift, 'echo_bytes(64 B)')} | {cell(python, 'echo_bytes(64 B)')} |")
    out += ["", "### Durable write of an ATC record vs a plain fsync of the same bytes", "",
            "| write | criterion median | p50 | p99 | max |", "|---|---|---|---|---|"]
    for name, label in (("put_durable_atc", "store `put_durable` (sled + fdatasync)"),
                        ("update_durable_atc", "store `update_durable` (CAS + fdatasync)"),
                        ("fs_write_sync_all_same_bytes", "plain file create + write + `sync_all`"),
                        ("fs_overwrite_sync_data_same_bytes", "overwrite in place + `sync_data`"),
                        ("sled_insert_flush_only", "raw sled insert + `flush` (no fsync: not durable)")):
        lat = latency.get(name, (None, None, None))
        out.append(f"| {label} | {fmt_us(crit.get('durable/' + name))} | {fmt_us(lat[0])} | "
                   f"{fmt_us(lat[1])} | {fmt_us(lat[2])} |")

    out += ["", "### Card opening (debit card, ¥100 e-cash) against the local mock world", "",
            "| SE | injected RTT | N | median | max | SERAM round trips | HTTP in total |",
            "|---|---|---|---|---|---|---|"]
    for (se, rtt), (n, med, mx, rts, http) in sorted(openings.items()):
        out.append(f"| {se} | {rtt} ms | {n} | {med:.1f} ms | {mx:.1f} ms | {rts} | {http} |")
    out += ["", "### Card-side taps (in-memory counters)", "",
            "| tap | median | p90 | p99 | instructions per tap (callgrind) |", "|---|---|---|---|---|"]
    for name, (med, p90, p99) in taps.items():
        ir = f"{callgrind[name]:,.0f}" if name in callgrind else "–"
        out.append(f"| {name} | {med:.1f} µs | {p90:.1f} µs | {p99:.1f} µs | {ir} |")

    out += ["", "### Other criterion figures (median)", "", "| benchmark | median |", "|---|---|"]
    shown = {"wallet/open on an existing store", "hce/process_apdu(SELECT PPSE), Rust"}
    for full_id in sorted(crit):
        if full_id not in shown and not full_id.startswith("durable/"):
            out.append(f"| `{full_id}` | {fmt_us(crit[full_id])} |")

    bloat = [line[len("BLOAT "):] for line in read(log_dir, "size.log").splitlines()
             if line.startswith("BLOAT ")]
    if bloat:
        out += ["", "### Release library: each crate's share of `.text` (cargo-bloat)", "", "```",
                *bloat, "```"]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    log_dir, criterion_dir, md = (pathlib.Path(a) for a in sys.argv[1:4])
    generated = generate(log_dir, criterion_dir)
    print(generated)
    if "--no-write" in sys.argv:
        return
    notes = ""
    if md.exists():
        text = md.read_text()
        at = text.find(NOTES_MARKER)
        notes = text[at:] if at >= 0 else f"{NOTES_MARKER}\n\n## Notes (previous file)\n\n{text}"
    else:
        notes = f"{NOTES_MARKER}\n\n## Notes\n"
    md.write_text(generated + "\n" + notes)


if __name__ == "__main__":
    main()
