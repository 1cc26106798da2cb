"""E-cash load (圈存) from Python: a card opened in the simulated eSE, then the mock load
terminal (`MockTerminal.load_simulated_se`, test hooks) loads ¥20.00 from the account online.

Needs $WALLET_BACKEND_URL (scripts/with-mock-backend.sh) and the `test-hooks` build; skipped
without them.
"""

import asyncio
import os
import shutil
import tempfile
import unittest

from test_cards import ID, NAME, PAN, PHONE, URL, ffi, last_code


@unittest.skipUnless(URL, "WALLET_BACKEND_URL not set")
@unittest.skipUnless(hasattr(ffi, "MockTerminal"), "built without test-hooks")
class EcashLoadTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wallet-py-load-")
        config = ffi.WalletConfig(
            data_dir=os.path.join(self.dir, "wallet"), backend_url=URL,
            request_timeout_ms=5000, max_retries=0, ota_max_delay_ms=5)
        self.wallet = ffi.Wallet.open(config)
        self.se = ffi.SimulatedSecureElements.open(os.path.join(self.dir, "se"))
        self.terminal = ffi.MockTerminal(URL)

    def tearDown(self):
        del self.wallet, self.se, self.terminal
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_load_20_yuan_onto_the_card_in_the_simulated_ese(self):
        wallet, se = self.wallet, self.se
        pending = asyncio.run(wallet.begin_binding(PAN, NAME, ID, PHONE))
        binding_id = asyncio.run(wallet.confirm_binding(pending.session_id, last_code(PHONE))).binding_id
        wallet.attach_secure_elements(se)
        card = asyncio.run(wallet.open_card(binding_id, ffi.SeReaderKind.ESE, 1_000, None))
        before = asyncio.run(wallet.ecash_balance(binding_id, card.se_id))
        self.assertEqual(before, 1_000)

        load = asyncio.run(self.terminal.load_simulated_se(se, ffi.SeReaderKind.ESE, 2_000))
        self.assertTrue(load.approved, load)
        self.assertIsNone(load.reason)
        self.assertEqual(load.script, ffi.LoadScriptOutcome.APPLIED)
        self.assertIsNotNone(load.authorization_id)
        self.assertEqual((load.old_balance, load.new_balance), (before, before + 2_000))
        self.assertEqual(asyncio.run(wallet.ecash_balance(binding_id, card.se_id)), before + 2_000)


if __name__ == "__main__":
    unittest.main()
