"""Host card emulation from Python: the mock POS terminal (`MockTerminal`, test hooks) runs in
Rust and taps a Python `TappableCard` that hands every command APDU to `Wallet.process_apdu`, so
each APDU goes Rust terminal -> Python -> Rust wallet.

Needs $WALLET_BACKEND_URL (scripts/with-mock-backend.sh) and the `test-hooks` build; skipped
without them. Test cards: mock-backend/src/bank/test_cards.rs.
"""

import asyncio
import json
import os
import pathlib
import shutil
import sys
import tempfile
import unittest
import urllib.parse
import urllib.request

_REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, os.environ.get("WALLET_FFI_PYTHON_DIR", str(_REPO / "build" / "python")))

import wallet_ffi as ffi  # noqa: E402

URL = os.environ.get("WALLET_BACKEND_URL", "")

# Test card DEBIT of the mock bank.
PAN, NAME, ID, PHONE = "6222021234567894", "张三", "110101199003071233", "13800138000"
# SELECT of the PPSE ("2PAY.SYS.DDF01", EMV Book B) with Le.
SELECT_PPSE = bytes([0x00, 0xA4, 0x04, 0x00, 0x0E]) + b"2PAY.SYS.DDF01" + bytes([0x00])


def last_code(phone):
    """The last one-time code the mock SMS channel delivered to `phone`."""
    query = urllib.parse.urlencode({"phone": phone})
    with urllib.request.urlopen(f"{URL}/test/sms/outbox?{query}", timeout=5) as answer:
        return json.load(answer)["messages"][-1]["code"]


class HostApduPhone(ffi.TappableCard):
    """The phone in the field: what a HostApduService does with each command APDU."""

    def __init__(self, wallet):
        self.wallet = wallet
        self.apdus = 0

    def transceive(self, apdu):
        self.apdus += 1
        return self.wallet.process_apdu(apdu)


@unittest.skipUnless(URL, "WALLET_BACKEND_URL not set")
@unittest.skipUnless(hasattr(ffi, "MockTerminal"), "built without test-hooks")
class HceTapTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wallet-py-hce-")
        config = ffi.WalletConfig(
            data_dir=os.path.join(self.dir, "wallet"), backend_url=URL,
            request_timeout_ms=5000, max_retries=0, ota_max_delay_ms=5)
        self.wallet = ffi.Wallet.open(config)
        self.terminal = ffi.MockTerminal(URL)

    def tearDown(self):
        del self.wallet, self.terminal
        shutil.rmtree(self.dir, ignore_errors=True)

    def bind(self):
        pending = asyncio.run(self.wallet.begin_binding(PAN, NAME, ID, PHONE))
        return asyncio.run(self.wallet.confirm_binding(pending.session_id, last_code(PHONE))).binding_id

    def test_without_an_hce_card_select_ppse_is_file_not_found(self):
        self.assertEqual(self.wallet.process_apdu(SELECT_PPSE), bytes([0x6A, 0x82]))
        self.assertEqual(self.wallet.hce_cards(), [])

    def test_hce_card_pays_online_twice_with_a_rising_atc(self):
        wallet = self.wallet
        binding_id = self.bind()
        with self.assertRaises(ffi.WalletFfiError.Card) as ctx:
            asyncio.run(wallet.replenish_keys(binding_id))
        self.assertEqual(ctx.exception.code, "hce_card_not_found")
        card = asyncio.run(wallet.open_hce_card(binding_id))
        self.assertEqual(card.binding_id, binding_id)
        self.assertEqual(card.account_kind, ffi.AccountKind.DEBIT)
        self.assertTrue(card.is_default and card.usable_keys > 0, card)
        self.assertNotIn(PAN, card.masked_token_pan)
        self.assertEqual(wallet.hce_cards(), [card])

        phone = HostApduPhone(wallet)
        first = asyncio.run(self.terminal.tap(phone, 2345))
        wallet.on_deactivated(0)
        self.assertTrue(first.approved, first)
        self.assertEqual(first.decision, ffi.TapDecision.APPROVED_ONLINE)
        self.assertEqual(first.cryptogram_type, "arqc")
        self.assertEqual(first.masked_pan, card.masked_token_pan)
        self.assertEqual(first.apdus, phone.apdus)

        second = asyncio.run(self.terminal.tap(phone, 2345))
        wallet.on_deactivated(1)
        self.assertEqual(second.decision, ffi.TapDecision.APPROVED_ONLINE, second)
        self.assertGreater(second.atc, first.atc)
        self.assertEqual(wallet.hce_cards()[0].atc, second.atc)

    def test_tap_the_card_in_the_simulated_ese(self):
        wallet = self.wallet
        binding_id = self.bind()
        se = ffi.SimulatedSecureElements.open(os.path.join(self.dir, "se"))
        wallet.attach_secure_elements(se)
        card = asyncio.run(wallet.open_card(binding_id, ffi.SeReaderKind.ESE, 0, None))
        result = asyncio.run(self.terminal.tap_simulated_se(se, ffi.SeReaderKind.ESE, 2345))
        self.assertTrue(result.approved, result)
        self.assertEqual(result.masked_pan, card.masked_pan)
        self.assertIsNotNone(result.atc)


if __name__ == "__main__":
    unittest.main()
