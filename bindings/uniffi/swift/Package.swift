// swift-tools-version:5.9
// The Swift package of the binding, laid out the way an app consumes it:
//
//   Sources/Bitrix24CallbackFFI/   the generated C header + module.modulemap (the FFI module)
//   Sources/Bitrix24Callback/      the generated Bitrix24Callback.swift (the API you import)
//   lib/libcallback_uniffi.so      the Rust library (Linux; on Apple platforms an XCFramework)
//   Tests/Bitrix24CallbackTests/   XCTest suite against the fake portal
//
// Sources/ and lib/ are generated, never committed: bindings/uniffi/test-swift.sh stages a copy
// of this package with them filled in and runs `swift test`. For an iOS/macOS app, replace the
// system-library target with `.binaryTarget(name: "Bitrix24CallbackFFI", path:
// "Bitrix24CallbackFFI.xcframework")` and drop the linker settings (see the README).
import PackageDescription

let libDir = Context.packageDirectory + "/lib"

let package = Package(
    name: "Bitrix24Callback",
    products: [
        .library(name: "Bitrix24Callback", targets: ["Bitrix24Callback"]),
    ],
    targets: [
        .systemLibrary(name: "Bitrix24CallbackFFI", path: "Sources/Bitrix24CallbackFFI"),
        .target(
            name: "Bitrix24Callback",
            dependencies: ["Bitrix24CallbackFFI"],
            path: "Sources/Bitrix24Callback",
            linkerSettings: [
                .linkedLibrary("callback_uniffi"),
                .unsafeFlags(["-L", libDir, "-Xlinker", "-rpath", "-Xlinker", libDir]),
            ]
        ),
        .testTarget(
            name: "Bitrix24CallbackTests",
            dependencies: ["Bitrix24Callback"],
            path: "Tests/Bitrix24CallbackTests"
        ),
    ]
)
