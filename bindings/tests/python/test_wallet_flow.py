"""The Wallet object's account-binding flow against the mock backend, from Python.

Needs $WALLET_BACKEND_URL (scripts/with-mock-backend.sh); skipped without it.
Test cards: mock-backend/src/bank/test_cards.rs.
"""

import asyncio
import datetime
import json
import os
import pathlib
import shutil
import socket
import sys
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request

_REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, os.environ.get("WALLET_FFI_PYTHON_DIR", str(_REPO / "build" / "python")))

import wallet_ffi as ffi  # noqa: E402

URL = os.environ.get("WALLET_BACKEND_URL", "")

# Test card DEBIT of the mock bank.
PAN, NAME, ID, PHONE = "6222021234567894", "张三", "110101199003071233", "13800138000"
DATA_KEY_ALIAS = "wallet-store-data-key-v1"


def last_code(phone):
    """The last one-time code the mock SMS channel delivered to `phone`."""
    query = urllib.parse.urlencode({"phone": phone})
    with urllib.request.urlopen(f"{URL}/test/sms/outbox?{query}", timeout=5) as answer:
        messages = json.load(answer)["messages"]
    return messages[-1]["code"]


def wrong_code(code):
    return str((int(code[0]) + 1) % 10) + code[1:]


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class XorKeyStore(ffi.KeyStore):
    def __init__(self, mask=0x5A):
        self.mask = mask
        self.calls = []

    def wrap_key(self, alias, key):
        self.calls.append(("wrap", alias))
        return bytes(b ^ self.mask for b in key)

    def unwrap_key(self, alias, wrapped):
        self.calls.append(("unwrap", alias))
        return bytes(b ^ self.mask for b in wrapped)


class RefusingKeyStore(ffi.KeyStore):
    def wrap_key(self, alias, key):
        raise ffi.KeyStoreFfiError.Failure("user_not_authenticated", "unlock the device first")

    def unwrap_key(self, alias, wrapped):
        raise ffi.KeyStoreFfiError.Unwrap("tampered", "wrapped key failed to authenticate")


class CollectingSink(ffi.LogSink):
    def __init__(self):
        self.records = []
        self.lock = threading.Lock()

    def log(self, record):
        with self.lock:
            self.records.append(record)


@unittest.skipUnless(URL, "WALLET_BACKEND_URL not set")
class WalletFlowTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wallet-py-")

    def tearDown(self):
        ffi.set_log_sink(None, ffi.LogLevel.ERROR)
        shutil.rmtree(self.dir, ignore_errors=True)

    def config(self, url=None, sub="w"):
        return ffi.WalletConfig(
            data_dir=os.path.join(self.dir, sub), backend_url=url or URL,
            request_timeout_ms=5000, max_retries=0)

    def test_bind_list_unbind_with_python_key_store_and_logs(self):
        store, sink = XorKeyStore(), CollectingSink()
        wallet = ffi.Wallet.open(self.config(), store, sink)
        self.assertEqual(len(wallet.device_id()), 32)
        self.assertEqual(store.calls, [("wrap", DATA_KEY_ALIAS)])

        pending = asyncio.run(wallet.begin_binding("6222 0212 3456 7894", NAME, "1233", PHONE))
        self.assertEqual(pending.masked_pan, "622202******7894")
        self.assertEqual(pending.account_kind, ffi.AccountKind.DEBIT)
        self.assertEqual(pending.otp_sent_to, "138****8000")
        self.assertGreater(pending.otp_expires_at, datetime.datetime.now(datetime.timezone.utc))
        self.assertEqual(wallet.pending_bindings(), [pending])

        code = last_code(PHONE)
        with self.assertRaises(ffi.WalletFfiError.WrongCode) as ctx:
            asyncio.run(wallet.confirm_binding(pending.session_id, wrong_code(code)))
        self.assertEqual((ctx.exception.code, ctx.exception.attempts_left), ("otp_wrong", 4))

        binding = asyncio.run(wallet.confirm_binding(pending.session_id, code))
        self.assertEqual(binding.masked_pan, "622202******7894")
        self.assertEqual(binding.issuer_name, "中国工商银行")
        self.assertEqual(binding.holder_name_masked, "*三")
        self.assertEqual(wallet.bindings(), [binding])
        self.assertEqual(wallet.pending_bindings(), [])

        asyncio.run(wallet.unbind(binding.binding_id))
        self.assertEqual(wallet.bindings(), [])
        with self.assertRaises(ffi.WalletFfiError.NotFound) as ctx:
            asyncio.run(wallet.unbind(binding.binding_id))
        self.assertEqual(ctx.exception.code, "binding_not_found")

        messages = [r.message for r in sink.records if r.target.startswith("wallet_core::binding")]
        self.assertTrue(any(m.startswith("binding begun, code sent") for m in messages), messages)
        self.assertTrue(any(m.startswith("card bound") for m in messages), messages)
        self.assertTrue(any(m.startswith("card unbound") for m in messages), messages)
        self.assertFalse(any(PAN in r.message for r in sink.records), "full card number logged")

        del wallet  # closes the store
        reopened = ffi.Wallet.open(self.config(), store)
        self.assertEqual(store.calls[-1], ("unwrap", DATA_KEY_ALIAS))
        self.assertEqual(reopened.bindings(), [])

    def test_local_checks_and_bank_rejections(self):
        wallet = ffi.Wallet.open(self.config())

        def begin_error(pan=PAN, name=NAME, id_number=ID, phone=PHONE):
            with self.assertRaises(ffi.WalletFfiError) as ctx:
                asyncio.run(wallet.begin_binding(pan, name, id_number, phone))
            return type(ctx.exception).__name__, ctx.exception.code

        self.assertEqual(begin_error(pan="6222021234567895"), ("InvalidInput", "invalid_card_number"))
        self.assertEqual(begin_error(phone="12345"), ("InvalidInput", "invalid_phone"))
        self.assertEqual(begin_error(name="  "), ("InvalidInput", "invalid_holder_name"))
        self.assertEqual(begin_error(pan="6222029999999996"), ("CardRejected", "unknown_card"))
        self.assertEqual(begin_error(name="李四"), ("CardRejected", "name_mismatch"))
        self.assertEqual(begin_error(id_number="9999"), ("CardRejected", "id_mismatch"))
        self.assertEqual(begin_error(phone="13900139000"), ("CardRejected", "phone_mismatch"))
        self.assertEqual(
            begin_error(pan="6217001234567893", name="陈七", id_number="5676", phone="18812345678"),
            ("CardRejected", "card_not_eligible"))
        with self.assertRaises(ffi.WalletFfiError.NotFound) as ctx:
            asyncio.run(wallet.confirm_binding("no-such-session", "123456"))
        self.assertEqual(ctx.exception.code, "session_not_found")
        with self.assertRaises(ffi.WalletFfiError.InvalidInput) as ctx:
            asyncio.run(wallet.confirm_binding("no-such-session", "12ab"))
        self.assertEqual(ctx.exception.code, "invalid_otp")

    def test_code_locks_after_five_wrong_tries(self):
        wallet = ffi.Wallet.open(self.config())
        pending = asyncio.run(wallet.begin_binding(
            "6259651234567894", "李四", "31010419851215002x", "13912345678"))
        wrong = wrong_code(last_code("13912345678"))
        for left in (4, 3, 2, 1):
            with self.assertRaises(ffi.WalletFfiError.WrongCode) as ctx:
                asyncio.run(wallet.confirm_binding(pending.session_id, wrong))
            self.assertEqual(ctx.exception.attempts_left, left)
        with self.assertRaises(ffi.WalletFfiError.CodeUnusable) as ctx:
            asyncio.run(wallet.confirm_binding(pending.session_id, wrong))
        self.assertEqual(ctx.exception.code, "otp_locked")
        self.assertEqual(wallet.pending_bindings(), [])

    def test_network_backend_and_config_errors(self):
        wallet = ffi.Wallet.open(self.config(url=f"http://127.0.0.1:{closed_port()}", sub="a"))
        with self.assertRaises(ffi.WalletFfiError.Network) as ctx:
            asyncio.run(wallet.begin_binding(PAN, NAME, ID, PHONE))
        self.assertEqual(ctx.exception.code, "unreachable")

        wallet = ffi.Wallet.open(self.config(url=f"{URL}/no-such-prefix/", sub="b"))
        with self.assertRaises(ffi.WalletFfiError.Backend) as ctx:  # no such route: 4xx
            asyncio.run(wallet.begin_binding(PAN, NAME, ID, PHONE))
        self.assertTrue(ctx.exception.code)

        with self.assertRaises(ffi.WalletFfiError.Config) as ctx:
            ffi.Wallet.open(self.config(url="ftp://bank.example", sub="c"))
        self.assertEqual(ctx.exception.code, "invalid_url")
        a_file = os.path.join(self.dir, "file")
        pathlib.Path(a_file).write_text("x")
        with self.assertRaises(ffi.WalletFfiError.Config) as ctx:
            ffi.Wallet.open(ffi.WalletConfig(data_dir=a_file, backend_url=URL))
        self.assertEqual(ctx.exception.code, "data_dir")

    def test_key_store_and_storage_errors(self):
        with self.assertRaises(ffi.WalletFfiError.KeyStore) as ctx:
            ffi.Wallet.open(self.config(sub="k"), RefusingKeyStore())
        self.assertEqual(ctx.exception.code, "key_store_failure")
        self.assertTrue(ctx.exception.error_message.startswith("user_not_authenticated"))

        wallet = ffi.Wallet.open(self.config(sub="s"), XorKeyStore(0x5A))
        del wallet
        with self.assertRaises(ffi.WalletFfiError.KeyStore) as ctx:
            ffi.Wallet.open(self.config(sub="s"), RefusingKeyStore())
        self.assertEqual(ctx.exception.code, "key_store_unwrap")
        with self.assertRaises(ffi.WalletFfiError.Storage) as ctx:
            ffi.Wallet.open(self.config(sub="s"), XorKeyStore(0x33))  # another key: data won't open
        self.assertEqual(ctx.exception.code, "store_tampered")

        meta = pathlib.Path(self.dir, "s", "store", "store-meta.json")
        self.assertTrue(meta.is_file())
        meta.write_text("not json")
        with self.assertRaises(ffi.WalletFfiError.Storage) as ctx:
            ffi.Wallet.open(self.config(sub="s"), XorKeyStore(0x5A))
        self.assertEqual(ctx.exception.code, "store_corrupt")


if __name__ == "__main__":
    unittest.main(verbosity=2)
