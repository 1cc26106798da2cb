// The Swift API of the wallet library, over the generated bindings in module WalletFFI.

import Foundation
@_exported import WalletFFI

/// Entry points of the wallet library for Swift callers. The generated API (re-exported) stays
/// available for everything not wrapped here.
public enum WalletLibrary {
    /// Version of the Rust library (core and facade share it).
    public static var version: String { coreVersion() }

    /// The canonical form of a backend base URL, or `nil` when it is not one
    /// (`normalizeBackendUrl(url:)` throws the typed reason).
    public static func backendURL(_ url: String) -> String? {
        try? normalizeBackendUrl(url: url)
    }

    /// Whether the backend at `url` answers `GET /health` with `ok`. Unreachable or failing
    /// backends give `false`; a malformed URL throws `FfiError.InvalidArgument`.
    public static func isBackendHealthy(_ url: String) async throws -> Bool {
        do {
            return try await pingBackend(url: url) == "ok"
        } catch FfiError.Network, FfiError.Backend {
            return false
        }
    }

    /// Sends the library's log records at `minLevel` or more severe to `logger`, called on
    /// library threads; `nil` stops logging.
    public static func setLogger(
        minLevel: LogLevel = .info, _ logger: (@Sendable (LogRecord) -> Void)?
    ) {
        setLogSink(sink: logger.map(ClosureLogSink.init), minLevel: minLevel)
    }
}

/// Adapts a closure to the `LogSink` protocol.
private final class ClosureLogSink: LogSink {
    private let block: @Sendable (LogRecord) -> Void

    init(_ block: @escaping @Sendable (LogRecord) -> Void) {
        self.block = block
    }

    func log(record: LogRecord) {
        block(record)
    }
}

extension FfiError {
    /// Stable machine-readable code of any case (e.g. `invalid_url`).
    public var code: String {
        switch self {
        case let .InvalidArgument(code, _), let .Network(code, _), let .Backend(code, _):
            return code
        }
    }

    /// Human-readable text of any case.
    public var errorMessage: String {
        switch self {
        case let .InvalidArgument(_, message), let .Network(_, message), let .Backend(_, message):
            return message
        }
    }
}

extension KeyStoreFfiError {
    /// Stable machine-readable code of any case.
    public var code: String {
        switch self {
        case let .Failure(code, _), let .Unwrap(code, _), let .Unexpected(code, _):
            return code
        }
    }
}

extension WalletLibrary {
    /// Opens (or creates) the wallet stored in `dataDirectory`, talking to `backendURL`.
    /// `signer` holds the device keys (the Secure Enclave in the app, `SecureEnclaveSigner`;
    /// `nil` keeps software keys in the store); `keyStore` wraps the store's data key (the
    /// Keychain in the app, `KeychainKeyStore`; `nil` keeps a software key file);
    /// `secureElements`, when given, are the device's secure elements for card opening (they can
    /// also be attached later with `attachSecureElements(transport:)`); `logger`, when given,
    /// receives the library's log records at `.info` and above.
    /// Release the wallet before opening the same directory again.
    public static func openWallet(
        dataDirectory: URL, backendURL: String, signer: Signer? = nil, keyStore: KeyStore? = nil,
        secureElements: SecureElementTransport? = nil,
        logger: (@Sendable (LogRecord) -> Void)? = nil
    ) throws -> Wallet {
        try openWallet(
            config: WalletConfig(dataDir: dataDirectory.path, backendUrl: backendURL), signer: signer,
            keyStore: keyStore, secureElements: secureElements, logger: logger)
    }

    /// `openWallet(dataDirectory:backendURL:…)` with every setting of `config` (timeouts,
    /// retries).
    public static func openWallet(
        config: WalletConfig, signer: Signer? = nil, keyStore: KeyStore? = nil,
        secureElements: SecureElementTransport? = nil,
        logger: (@Sendable (LogRecord) -> Void)? = nil
    ) throws -> Wallet {
        let sink = logger.map(ClosureLogSink.init)
        let wallet = try signer.map {
            try Wallet.openWithSigner(config: config, signer: $0, keyStore: keyStore, logSink: sink)
        } ?? Wallet.open(config: config, keyStore: keyStore, logSink: sink)
        if let secureElements {
            wallet.attachSecureElements(transport: secureElements)
        }
        return wallet
    }
}

extension WalletFfiError {
    /// Stable machine-readable code of any case (e.g. `otp_wrong`).
    public var code: String { WalletError(self).code }

    /// Whether repeating the same call later may succeed (the back end was unreachable).
    public var isTransient: Bool { WalletError(self).isTransient }
}
