import Foundation
import WalletKit
import XCTest

/// E-cash load (圈存) against the mock backend (WALLET_BACKEND_URL): a card opened over the air in
/// the simulated eSE, then the mock load terminal (`MockTerminal.loadSimulatedSe`, test hooks)
/// loads ¥20.00 from the account online: ARQC to the issuer, the issuer script applied by the card.
final class EcashLoadTests: XCTestCase {
    var url = ""
    var tmp = URL(fileURLWithPath: "/")

    override func setUpWithError() throws {
        guard let backend = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        url = backend
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-swift-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: tmp)
    }

    func testLoadTwentyYuanOntoTheCardInTheSimulatedEse() async throws {
        let wallet = try Wallet.open(config: WalletConfig(
            dataDir: tmp.appendingPathComponent("wallet").path, backendUrl: url,
            requestTimeoutMs: 5000, maxRetries: 0, otaMaxDelayMs: 5))
        let se = try SimulatedSecureElements.open(dir: tmp.appendingPathComponent("se").path)
        let terminal = try MockTerminal(backendUrl: url)
        let bindingId = try await bindDebitCard(wallet, url: url)
        wallet.attachSecureElements(transport: se)
        let card = try await wallet.openCard(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 1_000, listener: nil)
        let before = try await wallet.ecashBalance(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(before, 1_000)

        let load = await terminal.loadSimulatedSe(ses: se, kind: .ese, amountFen: 2_000)
        XCTAssertTrue(load.approved, "\(load)")
        XCTAssertNil(load.reason, "\(load)")
        XCTAssertEqual(load.script, .applied)
        XCTAssertNotNil(load.authorizationId)
        XCTAssertEqual(load.oldBalance, before)
        XCTAssertEqual(load.newBalance, before + 2_000)

        // The wallet reads the card's own balance through the SE: old + 2000.
        let after = try await wallet.ecashBalance(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(after, before + 2_000)
    }
}
