"""Air card opening from Python: a card opened in the simulated SEs against the mock TSM.

Needs $WALLET_BACKEND_URL (scripts/with-mock-backend.sh) and the `test-hooks` build
(`SimulatedSecureElements`); skipped without them. Test cards: mock-backend/src/bank/test_cards.rs.
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
# Instance AID of the payment application the mock TSM installs for a debit card.
DEBIT_INSTANCE_AID = "A000000333010101"


def last_code(phone):
    """The last one-time code the mock SMS channel delivered to `phone`."""
    query = urllib.parse.urlencode({"phone": phone})
    with urllib.request.urlopen(f"{URL}/test/sms/outbox?{query}", timeout=5) as answer:
        return json.load(answer)["messages"][-1]["code"]


class Progress(ffi.CardOpeningListener):
    """Records progress reports (called from library threads)."""

    def __init__(self):
        self.reports = []
        self.lock = threading.Lock()

    def on_progress(self, progress):
        with self.lock:
            self.reports.append(progress)


class PythonTransport(ffi.SecureElementTransport):
    """A Python transport over the simulator: counts APDUs; can raise instead of sending."""

    def __init__(self, inner):
        self.inner = inner
        self.apdus = 0
        self.raise_on_transmit = False

    def readers(self):
        return self.inner.readers()

    def open_session(self, reader):
        return self.inner.open_session(reader)

    def open_logical_channel(self, session, aid, p2):
        return self.inner.open_logical_channel(session, aid, p2)

    def open_basic_channel(self, session, aid, p2):
        return self.inner.open_basic_channel(session, aid, p2)

    def transmit(self, channel, apdu):
        self.apdus += 1
        if self.raise_on_transmit:
            raise RuntimeError("SE service died")
        return self.inner.transmit(channel, apdu)

    def close_channel(self, channel):
        self.inner.close_channel(channel)

    def close_session(self, session):
        self.inner.close_session(session)


@unittest.skipUnless(URL, "WALLET_BACKEND_URL not set")
@unittest.skipUnless(hasattr(ffi, "SimulatedSecureElements"), "built without test-hooks")
class CardOpeningTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wallet-py-cards-")
        config = ffi.WalletConfig(
            data_dir=os.path.join(self.dir, "wallet"), backend_url=URL,
            request_timeout_ms=5000, max_retries=0, ota_max_delay_ms=5)
        self.wallet = ffi.Wallet.open(config)
        self.se = ffi.SimulatedSecureElements.open(os.path.join(self.dir, "se"))
        pending = asyncio.run(self.wallet.begin_binding(PAN, NAME, ID, PHONE))
        binding = asyncio.run(self.wallet.confirm_binding(pending.session_id, last_code(PHONE)))
        self.binding_id = binding.binding_id

    def tearDown(self):
        del self.wallet, self.se
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_open_a_card_in_the_simulated_ese(self):
        wallet, se = self.wallet, self.se
        with self.assertRaises(ffi.WalletFfiError.Card) as ctx:
            asyncio.run(wallet.open_card(self.binding_id, None, 0, None))
        self.assertEqual(ctx.exception.code, "no_secure_element")

        wallet.attach_secure_elements(se)
        progress = Progress()
        card = asyncio.run(wallet.open_card(self.binding_id, ffi.SeReaderKind.ESE, 10_000, progress))
        self.assertEqual(card.state, ffi.CardState.ACTIVE)
        self.assertEqual((card.reader, card.reader_kind), ("eSE1", ffi.SeReaderKind.ESE))
        self.assertEqual(card.instance_aid, DEBIT_INSTANCE_AID)
        self.assertEqual(card.se_id, se.se_id(ffi.SeReaderKind.ESE))
        percents = [p.percent for p in progress.reports]
        self.assertEqual(percents, sorted(percents))
        self.assertEqual(progress.reports[-1].stage, ffi.CardOpeningStage.COMPLETED)
        self.assertEqual(percents[-1], 100)
        self.assertEqual(asyncio.run(wallet.ecash_balance(self.binding_id, card.se_id)), 10_000)

        locked = asyncio.run(wallet.lock_card(self.binding_id, card.se_id))
        self.assertEqual(locked.state, ffi.CardState.LOCKED)
        with self.assertRaises(ffi.WalletFfiError.Card) as ctx:
            asyncio.run(wallet.ecash_balance(self.binding_id, card.se_id))
        self.assertEqual(ctx.exception.code, "invalid_state")
        # A locked card cannot have its e-cash read, so it cannot be deleted (its e-cash would
        # be lost): refused, nothing deleted; unlocked, it is deleted and its e-cash refunded.
        with self.assertRaises(ffi.WalletFfiError.Card) as ctx:
            asyncio.run(wallet.delete_card(self.binding_id, card.se_id))
        self.assertEqual(ctx.exception.code, "ecash_unreadable")
        unlocked = asyncio.run(wallet.unlock_card(self.binding_id, card.se_id))
        self.assertEqual(unlocked.state, ffi.CardState.ACTIVE)
        deleted = asyncio.run(wallet.delete_card(self.binding_id, card.se_id))
        self.assertEqual(deleted.state, ffi.CardState.DELETED)
        self.assertEqual(deleted.ecash_refunded, 10_000)

    def test_a_python_transport_opens_a_card_and_its_exceptions_are_typed(self):
        transport = PythonTransport(self.se)
        self.wallet.attach_secure_elements(transport)
        transport.raise_on_transmit = True
        with self.assertRaises(ffi.WalletFfiError.Card) as ctx:
            asyncio.run(self.wallet.open_card(self.binding_id, ffi.SeReaderKind.SD, 500, None))
        self.assertEqual(ctx.exception.code, "unknown_se")

        transport.raise_on_transmit = False
        card = asyncio.run(self.wallet.open_card(self.binding_id, ffi.SeReaderKind.SD, 500, None))
        self.assertEqual((card.reader, card.state), ("SD1", ffi.CardState.ACTIVE))
        self.assertGreater(transport.apdus, 5)
        self.assertEqual(asyncio.run(self.wallet.ecash_balance(self.binding_id, card.se_id)), 500)


if __name__ == "__main__":
    unittest.main(verbosity=2)
