package org.openwallet.wallet.bench

import org.openwallet.ffi.coreVersion
import org.openwallet.ffi.echoBytes

/**
 * FFI cost of one bytes-in / bytes-out call from Kotlin through JNA: `echo_bytes` with 64 bytes.
 * Then `Wallet.processApdu` (ApduBench.kt) when a mock backend is running.
 * Not a test: run by scripts/bench-ffi.sh (`mvn exec:java`). Arguments: [calls] [warm-up calls].
 */
fun main(args: Array<String>) {
    val calls = args.getOrNull(0)?.toIntOrNull() ?: 10_000
    val warmup = args.getOrNull(1)?.toIntOrNull() ?: 20_000
    println("kotlin/jna: library ${coreVersion()}, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}")
    report("echo_bytes(64 B)", calls, warmup) { echoBytes(ByteArray(64) { it.toByte() }) }
    report("core_version()", calls, warmup) { coreVersion() }
    benchProcessApdu(calls, warmup)
}

/** Times [call] [calls] times after [warmup] untimed calls; prints a BENCH line with the median. */
internal inline fun report(name: String, calls: Int, warmup: Int, call: () -> Any) {
    repeat(warmup) { call() }
    val samples = LongArray(calls)
    for (i in 0 until calls) {
        val start = System.nanoTime()
        call()
        samples[i] = System.nanoTime() - start
    }
    samples.sort()
    println(
        "BENCH kotlin-jna $name: median ${us(samples[calls / 2])} us, p90 ${us(samples[calls * 9 / 10])} us, " +
            "p99 ${us(samples[calls * 99 / 100])} us, min ${us(samples[0])} us ($calls calls after $warmup warm-up)",
    )
}

internal fun us(ns: Long) = "%.1f".format(ns / 1000.0)
