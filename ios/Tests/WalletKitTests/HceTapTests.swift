import Foundation
import WalletKit
import XCTest

/// SELECT of the PPSE (`2PAY.SYS.DDF01`, EMV Book B) with Le.
let selectPPSE = Data([0x00, 0xA4, 0x04, 0x00, 0x0E]) + Data("2PAY.SYS.DDF01".utf8) + Data([0x00])

/// The phone in the field: hands every command APDU to the wallet, as a HostApduService does.
final class HostApduPhone: TappableCard, @unchecked Sendable {
    private let wallet: Wallet
    private let lock = NSLock()
    private var _apdus = 0
    var apdus: Int { lock.lock(); defer { lock.unlock() }; return _apdus }

    init(wallet: Wallet) { self.wallet = wallet }

    func transceive(apdu: Data) throws -> Data {
        lock.lock(); _apdus += 1; lock.unlock()
        return wallet.processApdu(apdu: apdu)
    }
}

/// Host card emulation against the mock backend (WALLET_BACKEND_URL): the mock POS terminal
/// (`MockTerminal`, test hooks) runs in Rust and taps `HostApduPhone`, so each APDU goes
/// Rust terminal → Swift → Rust wallet.
final class HceTapTests: XCTestCase {
    var url = ""
    var tmp = URL(fileURLWithPath: "/")

    override func setUpWithError() throws {
        guard let backend = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        url = backend
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-swift-hce-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: tmp)
    }

    func openWallet() throws -> Wallet {
        try Wallet.open(config: WalletConfig(
            dataDir: tmp.appendingPathComponent("wallet").path, backendUrl: url,
            requestTimeoutMs: 5000, maxRetries: 0, otaMaxDelayMs: nil))
    }

    func testWithoutAnHceCardSelectPpseIsFileNotFound() throws {
        let wallet = try openWallet()
        XCTAssertEqual(wallet.processApdu(apdu: selectPPSE), Data([0x6A, 0x82]))
        XCTAssertEqual(try wallet.hceCards(), [])
    }

    func testHceCardPaysOnlineThroughSwiftTwiceWithRisingAtc() async throws {
        let wallet = try openWallet()
        let terminal = try MockTerminal(backendUrl: url)
        let bindingId = try await bindDebitCard(wallet, url: url)
        let card = try await wallet.openHceCard(bindingId: bindingId)
        XCTAssertEqual(card.bindingId, bindingId)
        XCTAssertEqual(card.accountKind, .debit)
        XCTAssertTrue(card.isDefault && card.usableKeys > 0, "\(card)")
        XCTAssertFalse(card.maskedTokenPan.contains(DebitCard.pan))
        XCTAssertEqual(try wallet.hceCards(), [card])

        let phone = HostApduPhone(wallet: wallet)
        let first = await terminal.tap(card: phone, amountFen: 2345)
        wallet.onDeactivated(reason: 0)
        XCTAssertTrue(first.approved, "\(first)")
        XCTAssertEqual(first.decision, .approvedOnline)
        XCTAssertEqual(first.cryptogramType, "arqc")
        XCTAssertEqual(first.maskedPan, card.maskedTokenPan)
        XCTAssertEqual(Int(first.apdus), phone.apdus)

        let second = await terminal.tap(card: phone, amountFen: 2345)
        wallet.onDeactivated(reason: 0)
        XCTAssertEqual(second.decision, .approvedOnline, "\(second)")
        let atc1 = try XCTUnwrap(first.atc), atc2 = try XCTUnwrap(second.atc)
        XCTAssertGreaterThan(atc2, atc1)
        XCTAssertEqual(try wallet.hceCards().first?.atc, atc2)
    }
}
