package org.openwallet.wallet.android

import android.util.Log
import org.openwallet.ffi.LogLevel
import org.openwallet.ffi.LogRecord
import org.openwallet.ffi.LogSink

/**
 * The library's log records to `android.util.Log` under [tag] (logcat), as `target: message`.
 * The core never puts secrets (keys, PINs, PANs, APDU payloads) in its records.
 */
class AndroidLogSink(private val tag: String = DEFAULT_TAG) : LogSink {
    override fun log(record: LogRecord) {
        Log.println(priorityOf(record.level), tag, "${record.target}: ${record.message}")
    }

    /** Log tags and priorities. */
    companion object {
        /** Tag used when none is given (at most 23 characters, as old Android releases demand). */
        const val DEFAULT_TAG = "OpenWallet"

        /** The `android.util.Log` priority of a library [LogLevel]. */
        @JvmStatic
        fun priorityOf(level: LogLevel): Int = when (level) {
            LogLevel.TRACE -> Log.VERBOSE
            LogLevel.DEBUG -> Log.DEBUG
            LogLevel.INFO -> Log.INFO
            LogLevel.WARN -> Log.WARN
            LogLevel.ERROR -> Log.ERROR
        }
    }
}
