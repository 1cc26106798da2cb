// The "wrapped key" that `KeychainKeyStore` and `FileKeyStore` hand to the library: not the data
// key encrypted, but a reference to where the platform keeps it (a Keychain item, a file), with
// a random tag that must match the stored entry. The secret itself never enters the wallet's
// store; a reference from another installation or an older key does not unwrap.

import Foundation
import WalletFFI

/// Reference to a data key kept outside the wallet store: `OWK1 ‖ tag(16)`.
struct KeyReference: Equatable, Sendable {
    static let magic = Data("OWK1".utf8)
    static let tagLength = 16

    /// Random, chosen when the key is stored.
    let tag: Data

    /// A reference with a fresh random tag.
    static func random() -> KeyReference {
        var generator = SystemRandomNumberGenerator()
        return KeyReference(tag: Data((0..<tagLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }))
    }

    /// Parses what `encoded` produced.
    init(decoding wrapped: Data) throws {
        guard wrapped.count == Self.magic.count + Self.tagLength, wrapped.prefix(Self.magic.count) == Self.magic
        else {
            throw KeyStoreFfiError.Unwrap(code: "bad_reference", errorMessage: "not a key reference of this key store")
        }
        tag = Data(wrapped.suffix(Self.tagLength))
    }

    private init(tag: Data) { self.tag = tag }

    /// What the library stores as the wrapped key.
    var encoded: Data { Self.magic + tag }

    /// The stored entry: `tag ‖ key`.
    func entry(for key: Data) -> Data { tag + key }

    /// The key in a stored `entry`, if the entry carries this reference's tag.
    func key(in entry: Data) throws -> Data {
        let stored = entry.prefix(Self.tagLength)
        guard entry.count > Self.tagLength, constantTimeEqual(stored, tag) else {
            throw KeyStoreFfiError.Unwrap(
                code: "key_mismatch", errorMessage: "the stored key is not the one this reference names")
        }
        return Data(entry.dropFirst(Self.tagLength))
    }

    private func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
