// FFI cost of one bytes-in / bytes-out call from Swift: `echoBytes` with 64 bytes.
// Not a test: run by scripts/bench-ffi.sh (`swift run -c release WalletBench [calls] [warm-up]`).

import Dispatch
import Foundation
import WalletFFI

let arguments = CommandLine.arguments
let calls = arguments.count > 1 ? Int(arguments[1]) ?? 10_000 : 10_000
let warmup = arguments.count > 2 ? Int(arguments[2]) ?? 20_000 : 20_000

func report(_ name: String, _ call: () -> Void) {
    for _ in 0..<warmup { call() }
    var samples = [UInt64](repeating: 0, count: calls)
    for i in 0..<calls {
        let start = DispatchTime.now().uptimeNanoseconds
        call()
        samples[i] = DispatchTime.now().uptimeNanoseconds - start
    }
    samples.sort()
    func us(_ ns: UInt64) -> String { String(format: "%.2f", Double(ns) / 1000) }
    print("BENCH swift \(name): median \(us(samples[calls / 2])) us, p90 \(us(samples[calls * 9 / 10])) us, "
        + "p99 \(us(samples[calls * 99 / 100])) us, min \(us(samples[0])) us "
        + "(\(calls) calls after \(warmup) warm-up)")
}

print("swift: library \(coreVersion())")
let payload = Data((0..<64).map { UInt8($0) })
var sink = 0
report("echo_bytes(64 B)") { sink &+= echoBytes(data: payload).count }
report("core_version()") { sink &+= coreVersion().count }
if sink == 0 { print("unreachable") }
