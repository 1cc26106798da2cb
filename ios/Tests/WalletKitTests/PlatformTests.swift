import Foundation
import WalletKit
import XCTest

/// The portable platform services (`FileKeyStore`, `SoftwareSigner`) and the iOS packaging
/// script's refusal off macOS. The Secure Enclave signer and the Keychain key store are not
/// compiled here (no Security framework on Linux); see ios/README.md.
final class PlatformTests: XCTestCase {
    private var tmp = URL(fileURLWithPath: "/")

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-platform-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: tmp)
    }

    private func keyStoreError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> KeyStoreFfiError? {
        do {
            try body()
            XCTFail("no error", file: file, line: line)
        } catch let error as KeyStoreFfiError {
            return error
        } catch {
            XCTFail("not a KeyStoreFfiError: \(error)", file: file, line: line)
        }
        return nil
    }

    func testFileKeyStoreKeepsTheKeyOutsideTheReference() throws {
        let store = FileKeyStore(directory: tmp.appendingPathComponent("keys"))
        let key = Data((0..<32).map { UInt8($0) })
        let reference = try store.wrapKey(alias: "data-key", key: key)
        XCTAssertEqual(reference.count, 20)
        XCTAssertEqual(reference.prefix(4), Data("OWK1".utf8))
        XCTAssertNil(reference.range(of: key.prefix(8)), "the reference must not carry the key")
        XCTAssertEqual(try store.unwrapKey(alias: "data-key", wrapped: reference), key)

        let file = try store.fileURL(alias: "data-key")
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let dirAttributes = try FileManager.default.attributesOfItem(atPath: store.directory.path)
        XCTAssertEqual((dirAttributes[.posixPermissions] as? NSNumber)?.intValue, 0o700)

        // Wrapping again replaces the key: the old reference no longer unwraps.
        let newer = try store.wrapKey(alias: "data-key", key: Data(repeating: 7, count: 32))
        XCTAssertNotEqual(newer, reference)
        XCTAssertEqual(keyStoreError { _ = try store.unwrapKey(alias: "data-key", wrapped: reference) },
                       .Unwrap(code: "key_mismatch", errorMessage: "the stored key is not the one this reference names"))
        XCTAssertEqual(try store.unwrapKey(alias: "data-key", wrapped: newer), Data(repeating: 7, count: 32))

        guard case .Unwrap(code: "bad_reference", _) = keyStoreError({ _ = try store.unwrapKey(alias: "data-key", wrapped: key) })
        else { return XCTFail("garbage reference accepted") }
        try store.deleteKey(alias: "data-key")
        guard case .Unwrap(code: "key_missing", _) = keyStoreError({ _ = try store.unwrapKey(alias: "data-key", wrapped: newer) })
        else { return XCTFail("unwrapped a deleted key") }
        try store.deleteKey(alias: "data-key") // deleting twice is fine
        guard case .Failure(code: "invalid_alias", _) = keyStoreError({ _ = try store.wrapKey(alias: "../escape", key: key) })
        else { return XCTFail("path in alias accepted") }
    }

    func testFileKeyStoreWorksThroughTheLibrary() throws {
        // The library's own round trip through a foreign key store.
        let store = FileKeyStore(directory: tmp.appendingPathComponent("keys"))
        let reference = try keyStoreRoundTrip(keyStore: store, alias: "probe", key: Data([1, 2, 3]))
        XCTAssertEqual(try store.unwrapKey(alias: "probe", wrapped: reference), Data([1, 2, 3]))
    }

    func testSoftwareSignerKeys() throws {
        let signer = SoftwareSigner()
        let publicKey = try signer.generateKey(alias: "device")
        XCTAssertEqual(publicKey.count, 65)
        XCTAssertEqual(publicKey.first, 0x04, "SEC1 uncompressed")
        XCTAssertEqual(try signer.publicKey(alias: "device"), publicKey)
        XCTAssertNil(try signer.publicKey(alias: "other"))
        XCTAssertEqual(signer.aliases, ["device"])

        let signature = try signer.sign(alias: "device", message: Data("pay order 1".utf8))
        XCTAssertEqual(signature.first, 0x30, "ASN.1 DER SEQUENCE")
        XCTAssertEqual(Int(signature[1]) + 2, signature.count)
        XCTAssertNotEqual(try signer.generateKey(alias: "device"), publicKey, "a new key replaces the old")

        try signer.deleteKey(alias: "device")
        XCTAssertThrowsError(try signer.sign(alias: "device", message: Data())) { error in
            guard case SignerFfiError.KeyNotFound = error else { return XCTFail("\(error)") }
        }
    }

    #if os(Linux)
    func testXcframeworkScriptRefusesOffMacOS() throws {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("build-xcframework.sh")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: script.path), script.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 2, text)
        XCTAssertTrue(text.contains("needs macOS with Xcode"), text)
        XCTAssertTrue(text.contains("nothing was built"), text)
    }
    #endif
}
