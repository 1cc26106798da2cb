"""Smoke tests of the generated Python bindings of wallet-ffi.

Run after scripts/gen-bindings.sh:  python3 -m unittest discover -s bindings/tests/python -v
The generated module is looked up in $WALLET_FFI_PYTHON_DIR (default: <repo>/build/python).
Tests that need the mock backend read its base URL from $WALLET_BACKEND_URL and skip without it.
"""

import asyncio
import os
import pathlib
import socket
import sys
import threading
import time
import unittest

_REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, os.environ.get("WALLET_FFI_PYTHON_DIR", str(_REPO / "build" / "python")))

import wallet_ffi as ffi  # noqa: E402  (needs the path above)


class XorKeyStore(ffi.KeyStore):
    """Wraps by XOR with 0x5A and records the aliases it was asked for."""

    def __init__(self):
        self.aliases = []

    def wrap_key(self, alias, key):
        self.aliases.append(alias)
        return bytes(b ^ 0x5A for b in key)

    def unwrap_key(self, alias, wrapped):
        self.aliases.append(alias)
        return bytes(b ^ 0x5A for b in wrapped)


class LockedKeyStore(ffi.KeyStore):
    """Refuses with a declared, typed error."""

    def wrap_key(self, alias, key):
        raise ffi.KeyStoreFfiError.Failure("user_not_authenticated", "unlock the device first")

    def unwrap_key(self, alias, wrapped):
        raise AssertionError("not reached")


class BrokenKeyStore(ffi.KeyStore):
    """Throws an exception the interface does not declare."""

    def wrap_key(self, alias, key):
        raise RuntimeError("keystore service crashed")

    def unwrap_key(self, alias, wrapped):
        raise AssertionError("not reached")


class CollectingSink(ffi.LogSink):
    def __init__(self):
        self.records = []
        self.lock = threading.Lock()

    def log(self, record):
        with self.lock:
            self.records.append(record)


class ThrowingSink(ffi.LogSink):
    def log(self, record):
        raise ValueError("log file is full")


def closed_port():
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BasicsTest(unittest.TestCase):
    def test_version_is_semver(self):
        parts = ffi.core_version().split(".")
        self.assertEqual(len(parts), 3)
        self.assertTrue(all(p.isdigit() for p in parts))

    def test_echo_round_trip(self):
        data = bytes(range(64))
        self.assertEqual(ffi.echo_bytes(data), data)
        self.assertEqual(ffi.echo_bytes(b""), b"")
        big = bytes(i % 251 for i in range(1 << 20))
        self.assertEqual(ffi.echo_bytes(big), big)

    def test_async_call(self):
        result = asyncio.run(ffi.delayed_echo(b"\x01\x02\x03", 10))
        self.assertEqual(result, b"\x01\x02\x03")

    def test_async_calls_run_concurrently(self):
        async def many():
            return await asyncio.gather(*(ffi.delayed_echo(bytes([i]), 200) for i in range(5)))

        start = time.monotonic()
        results = asyncio.run(many())
        self.assertEqual(results, [bytes([i]) for i in range(5)])
        # Five 200 ms sleeps in parallel: far less than 5 * 200 ms.
        self.assertLess(time.monotonic() - start, 0.9)


class ErrorTest(unittest.TestCase):
    def test_sync_typed_error(self):
        with self.assertRaises(ffi.FfiError.InvalidArgument) as ctx:
            ffi.normalize_backend_url("ftp://bank.example")
        self.assertEqual(ctx.exception.code, "invalid_url")
        self.assertIn("scheme must be http or https", ctx.exception.error_message)
        self.assertIsInstance(ctx.exception, ffi.FfiError)
        self.assertEqual(ffi.normalize_backend_url("http://127.0.0.1:8080/"), "http://127.0.0.1:8080")

    def test_async_typed_error(self):
        with self.assertRaises(ffi.FfiError.Network) as ctx:
            asyncio.run(ffi.ping_backend(f"http://127.0.0.1:{closed_port()}"))
        self.assertEqual(ctx.exception.code, "unreachable")
        self.assertTrue(ctx.exception.error_message)
        with self.assertRaises(ffi.FfiError.InvalidArgument):
            asyncio.run(ffi.ping_backend("not a url"))

    def test_rust_panic_becomes_internal_error(self):
        with self.assertRaises(ffi.InternalError) as ctx:
            ffi.debug_panic("boom from python")
        self.assertIn("boom from python", str(ctx.exception))
        # The library still works after the panic.
        self.assertEqual(ffi.echo_bytes(b"ok"), b"ok")


class ForeignTraitTest(unittest.TestCase):
    def test_python_key_store_called_from_rust(self):
        store = XorKeyStore()
        wrapped = ffi.key_store_round_trip(store, "wallet-data-key", b"\x00\x01\xff")
        self.assertEqual(wrapped, b"\x5a\x5b\xa5")
        self.assertEqual(store.aliases, ["wallet-data-key", "wallet-data-key"])

    def test_declared_error_from_python_passes_through(self):
        with self.assertRaises(ffi.KeyStoreFfiError.Failure) as ctx:
            ffi.key_store_round_trip(LockedKeyStore(), "k", b"\x01")
        self.assertEqual(ctx.exception.code, "user_not_authenticated")
        self.assertEqual(ctx.exception.error_message, "unlock the device first")

    def test_undeclared_exception_becomes_typed_error(self):
        with self.assertRaises(ffi.KeyStoreFfiError.Unexpected) as ctx:
            ffi.key_store_round_trip(BrokenKeyStore(), "k", b"\x01")
        self.assertEqual(ctx.exception.code, "foreign_exception")
        self.assertIn("keystore service crashed", ctx.exception.error_message)

    def test_log_sink_receives_events(self):
        sink = CollectingSink()
        ffi.set_log_sink(sink, ffi.LogLevel.DEBUG)
        try:
            asyncio.run(ffi.delayed_echo(b"abc", 1))
        finally:
            ffi.set_log_sink(None, ffi.LogLevel.ERROR)
        mine = [r for r in sink.records if r.target == "wallet_ffi::diagnostics"]
        self.assertEqual(len(mine), 1, sink.records)
        self.assertEqual(mine[0].level, ffi.LogLevel.DEBUG)
        self.assertEqual(mine[0].message, "delayed_echo len=3 delay_ms=1")

    def test_level_filter_and_throwing_sink(self):
        quiet = CollectingSink()
        ffi.set_log_sink(quiet, ffi.LogLevel.INFO)
        try:
            asyncio.run(ffi.delayed_echo(b"", 1))  # logs at debug: filtered out
        finally:
            ffi.set_log_sink(None, ffi.LogLevel.ERROR)
        self.assertEqual([r for r in quiet.records if r.target == "wallet_ffi::diagnostics"], [])

        ffi.set_log_sink(ThrowingSink(), ffi.LogLevel.TRACE)
        try:
            self.assertEqual(asyncio.run(ffi.delayed_echo(b"x", 1)), b"x")
        finally:
            ffi.set_log_sink(None, ffi.LogLevel.ERROR)


@unittest.skipUnless(os.environ.get("WALLET_BACKEND_URL"), "WALLET_BACKEND_URL not set")
class MockBackendTest(unittest.TestCase):
    def test_ping_mock_backend(self):
        self.assertEqual(asyncio.run(ffi.ping_backend(os.environ["WALLET_BACKEND_URL"])), "ok")


if __name__ == "__main__":
    unittest.main(verbosity=2)
