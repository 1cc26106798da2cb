// swift-tools-version:5.9
//
// WalletKit: the Swift side of the wallet.
//
//   ../scripts/gen-bindings.sh && swift test      (or ../scripts/test-swift.sh)
//
// Targets:
//   WalletFFIFFI  C module of the uniffi scaffolding (WalletFFIFFI.h + module.modulemap),
//                 generated into Sources/WalletFFIFFI by scripts/gen-bindings.sh
//   WalletFFI     the generated Swift bindings (Sources/WalletFFI/WalletFFI.swift, generated)
//   WalletKit     the Swift API over them (Sources/WalletKit)
//   WalletBench   FFI cost benchmark (scripts/bench-ffi.sh), not a test
//
// The Rust library is linked from WALLET_FFI_LIB_DIR (default ../build/ffi/lib, where
// gen-bindings.sh copies it) with an rpath to the same folder. An iOS app links the
// XCFramework that build-xcframework.sh makes on macOS with Xcode instead (see README.md).

import Foundation
import PackageDescription

let libDir = Context.environment["WALLET_FFI_LIB_DIR"]
    ?? URL(fileURLWithPath: Context.packageDirectory)
        .appendingPathComponent("../build/ffi/lib").standardizedFileURL.path

let package = Package(
    name: "WalletKit",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "WalletKit", targets: ["WalletKit"]),
    ],
    targets: [
        .systemLibrary(name: "WalletFFIFFI", path: "Sources/WalletFFIFFI"),
        .target(
            name: "WalletFFI",
            dependencies: ["WalletFFIFFI"],
            path: "Sources/WalletFFI",
            linkerSettings: [
                .linkedLibrary("wallet_ffi"),
                .unsafeFlags(["-L\(libDir)", "-Xlinker", "-rpath", "-Xlinker", libDir]),
            ]
        ),
        .target(name: "WalletKit", dependencies: ["WalletFFI"]),
        .executableTarget(name: "WalletBench", dependencies: ["WalletFFI"]),
        .testTarget(name: "WalletKitTests", dependencies: ["WalletKit"]),
    ]
)
