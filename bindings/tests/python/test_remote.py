"""Remote (in-app) payment from Python: bind, set a payment password, pay a merchant order.

Needs $WALLET_BACKEND_URL (scripts/with-mock-backend.sh); skipped without it. The merchant side
is the test-hooks `MockMerchant`. The device key is held by a Python `Signer` whose elliptic-curve
arithmetic comes from the test-only `SoftwareP256Key` (Python's standard library has no ECDSA).
"""

import asyncio
import json
import os
import pathlib
import shutil
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


def last_code(phone):
    """The last one-time code the mock SMS channel delivered to `phone`."""
    query = urllib.parse.urlencode({"phone": phone})
    with urllib.request.urlopen(f"{URL}/test/sms/outbox?{query}", timeout=5) as answer:
        return json.load(answer)["messages"][-1]["code"]


class PythonSigner(ffi.Signer):
    """One key per alias; records every call (the library calls it on its own threads)."""

    def __init__(self):
        self.keys, self.calls, self.lock = {}, [], threading.Lock()

    def _record(self, call):
        with self.lock:
            self.calls.append(call)

    def generate_key(self, alias):
        self._record(("generate", alias))
        key = ffi.SoftwareP256Key.generate()
        self.keys[alias] = key
        return key.public_key()

    def public_key(self, alias):
        self._record(("public", alias))
        key = self.keys.get(alias)
        return key.public_key() if key else None

    def sign(self, alias, message):
        self._record(("sign", alias))
        if alias not in self.keys:
            raise ffi.SignerFfiError.KeyNotFound(f"no key {alias}")
        return self.keys[alias].sign(message)

    def delete_key(self, alias):
        self._record(("delete", alias))
        self.keys.pop(alias, None)


@unittest.skipUnless(URL, "WALLET_BACKEND_URL not set")
class RemotePaymentTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wallet-py-remote-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_pay_an_order_by_password_with_a_python_signer(self):
        signer = PythonSigner()
        config = ffi.WalletConfig(
            data_dir=os.path.join(self.dir, "w"), backend_url=URL,
            request_timeout_ms=10000, max_retries=0)
        wallet = ffi.Wallet.open_with_signer(config, signer)
        merchant = ffi.MockMerchant(URL)

        async def flow():
            pending = await wallet.begin_binding(PAN, NAME, ID, PHONE)
            binding = await wallet.confirm_binding(pending.session_id, last_code(PHONE))
            status = await wallet.set_payment_password(binding.binding_id, "135790")
            self.assertEqual(status.attempts_left, 5)
            order = await merchant.create_order(2500, "noodles")
            self.assertEqual(order.status, ffi.OrderStatus.PENDING)
            with self.assertRaises(ffi.WalletFfiError.WrongCode) as ctx:
                await wallet.pay_order(binding.binding_id, order.order_id,
                                       ffi.PayAuth.PASSWORD("000000"))
            self.assertEqual((ctx.exception.code, ctx.exception.attempts_left), ("password_wrong", 4))
            payment = await wallet.pay_order(binding.binding_id, order.order_id,
                                             ffi.PayAuth.PASSWORD("135790"))
            return order, payment, await merchant.order(order.order_id)

        order, payment, after = asyncio.run(flow())
        self.assertEqual((payment.order_id, payment.amount, payment.currency),
                         (order.order_id, 2500, "CNY"))
        self.assertEqual(payment.auth, ffi.AuthMode.PASSWORD)
        self.assertEqual((after.status, after.payment_id), (ffi.OrderStatus.PAID, payment.payment_id))
        self.assertEqual([p.payment_id for p in wallet.payment_history()], [payment.payment_id])
        kinds = [kind for kind, _ in signer.calls]
        self.assertEqual(kinds.count("generate"), 1, signer.calls)
        self.assertGreaterEqual(kinds.count("sign"), 2, "password registration and payment")


if __name__ == "__main__":
    unittest.main()
