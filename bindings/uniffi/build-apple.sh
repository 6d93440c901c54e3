#!/usr/bin/env bash
# Builds the Apple artifacts of the Swift binding: an XCFramework of the Rust library for a
# SwiftPM binary target, and the SwiftPM package that consumers add.
#
#   Bitrix24CallbackFFI-<v>.xcframework.zip          static libraries for iOS (arm64), the iOS
#                                                    simulator (arm64 + x86_64) and macOS (arm64 +
#                                                    x86_64), with the C header and module map
#   Bitrix24CallbackFFI-testing-<v>.xcframework.zip  the same, TESTING build (cargo feature
#                                                    `testing`: FakePortal, test hooks), with --testing
#   *.sha256                                         `swift package compute-checksum` of each zip
#   Bitrix24Callback/                                the consumers' SwiftPM package: Package.swift
#                                                    (binaryTarget url + checksum) and
#                                                    Sources/Bitrix24Callback/ (the generated Swift
#                                                    and swift/Wrappers/)
#   Bitrix24Callback-swiftpm-<v>.zip                 that package, zipped
#
# Usage:
#   bindings/uniffi/build-apple.sh --url-base URL [--out DIR] [--version V] [--testing]
#   bindings/uniffi/build-apple.sh --layout-check [--out DIR]
#
#   --url-base URL   where the release will serve the zips, e.g.
#                    https://github.com/OWNER/REPO/releases/download/v0.1.0
#   --testing        also build the testing XCFramework (Package.swift picks it when the
#                    environment says BITRIX24_CALLBACK_TESTING=1 while SwiftPM resolves)
#   --layout-check   on Linux (no Xcode): generates the real Swift sources, header and module map,
#                    assembles the XCFramework's directory layout with stand-in (empty) static
#                    libraries, zips it, and checks in the Swift chroot (swift-chroot.sh, root)
#                    that SwiftPM computes its checksum and parses the consumers' Package.swift,
#                    both with the remote url + checksum and with the local zip. Never publish
#                    its output.
#
# The real build needs macOS with Xcode (xcodebuild, lipo, ditto, swift) and
# `rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin
# x86_64-apple-darwin`. Honours CARGO_TARGET_DIR. Output: DIR (default target/dist/apple).
set -euo pipefail
LOG_PREFIX=build-apple
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

OUT="$CARGO_TARGET_DIR/dist/apple"
VERSION="$(cargo pkgid -p callback-uniffi | sed 's/.*@//')"
URL_BASE=""
TESTING=0
LAYOUT_CHECK=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --version) VERSION="$2"; shift 2 ;;
        --url-base) URL_BASE="${2%/}"; shift 2 ;;
        --testing) TESTING=1; shift ;;
        --layout-check) LAYOUT_CHECK=1; TESTING=1; shift ;;
        *) log "unknown argument: $1"; exit 2 ;;
    esac
done
case "$OUT" in /*) ;; *) OUT="$B24_ROOT/$OUT" ;; esac
if [ "$LAYOUT_CHECK" = 1 ]; then
    URL_BASE="${URL_BASE:-https://example.invalid/releases/download/v$VERSION}"
elif [ -z "$URL_BASE" ]; then
    log "--url-base is required (where the release serves the zips)"
    exit 2
fi

FFI=Bitrix24CallbackFFI
MODULE=Bitrix24Callback
WORK="$CARGO_TARGET_DIR/apple-build"
rm -rf "$WORK" "$OUT"
mkdir -p "$WORK" "$OUT"

# 1. The generator, and the Swift sources, header and module map (library mode; the interface is
#    the same for every target and for the testing build).
log "cargo build --release -p uniffi-bindgen"
cargo build --quiet --release -p uniffi-bindgen
BINDGEN="$CARGO_TARGET_DIR/release/uniffi-bindgen-swift"

# swift_sources LIB: the Swift of the module and the XCFramework's headers directory.
swift_sources() {
    local lib="$1"
    rm -rf "$WORK/Sources" "$WORK/headers"
    "$BINDGEN" --swift-sources "$lib" "$WORK/Sources/$MODULE" >/dev/null
    cp "$B24_ROOT"/bindings/uniffi/swift/Wrappers/*.swift "$WORK/Sources/$MODULE/"
    # The headers in a directory named after the module: Xcode then never sees two
    # module.modulemap files in one include directory when an app uses several XCFrameworks.
    "$BINDGEN" --headers --modulemap --xcframework --module-name "$FFI" \
        --modulemap-filename module.modulemap "$lib" "$WORK/headers/$FFI" >/dev/null
}

# xcframework NAME FEATURES: NAME.xcframework in $WORK from the three static libraries.
APPLE_TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
xcframework() {
    local name="$1" features="$2" t
    local feature_args=()
    [ -n "$features" ] && feature_args=(--features "$features")
    for t in "${APPLE_TARGETS[@]}"; do
        log "cargo rustc --release --target $t --crate-type staticlib ${feature_args[*]}"
        cargo rustc --quiet -p callback-uniffi --release --target "$t" --crate-type staticlib "${feature_args[@]}"
    done
    local lib=libcallback_uniffi.a staged="$WORK/libs-$name"
    mkdir -p "$staged/ios" "$staged/ios-sim" "$staged/macos"
    cp "$CARGO_TARGET_DIR/aarch64-apple-ios/release/$lib" "$staged/ios/$lib"
    lipo -create "$CARGO_TARGET_DIR/aarch64-apple-ios-sim/release/$lib" "$CARGO_TARGET_DIR/x86_64-apple-ios/release/$lib" \
        -output "$staged/ios-sim/$lib"
    lipo -create "$CARGO_TARGET_DIR/aarch64-apple-darwin/release/$lib" "$CARGO_TARGET_DIR/x86_64-apple-darwin/release/$lib" \
        -output "$staged/macos/$lib"
    [ -d "$WORK/headers" ] || swift_sources "$staged/macos/$lib"
    xcodebuild -create-xcframework \
        -library "$staged/ios/$lib" -headers "$WORK/headers" \
        -library "$staged/ios-sim/$lib" -headers "$WORK/headers" \
        -library "$staged/macos/$lib" -headers "$WORK/headers" \
        -output "$WORK/$name.xcframework" >/dev/null
}

# The layout xcodebuild writes, with empty static libraries standing in (no Xcode here).
fake_xcframework() {
    local name="$1" id dir
    for id in ios-arm64 ios-arm64_x86_64-simulator macos-arm64_x86_64; do
        dir="$WORK/$name.xcframework/$id"
        mkdir -p "$dir/Headers"
        cp -R "$WORK/headers/." "$dir/Headers/"
        ar rc "$dir/libcallback_uniffi.a"
    done
    cat > "$WORK/$name.xcframework/Info.plist" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>AvailableLibraries</key>
	<array>
		<dict>
			<key>BinaryPath</key><string>libcallback_uniffi.a</string>
			<key>HeadersPath</key><string>Headers</string>
			<key>LibraryIdentifier</key><string>ios-arm64</string>
			<key>LibraryPath</key><string>libcallback_uniffi.a</string>
			<key>SupportedArchitectures</key><array><string>arm64</string></array>
			<key>SupportedPlatform</key><string>ios</string>
		</dict>
		<dict>
			<key>BinaryPath</key><string>libcallback_uniffi.a</string>
			<key>HeadersPath</key><string>Headers</string>
			<key>LibraryIdentifier</key><string>ios-arm64_x86_64-simulator</string>
			<key>LibraryPath</key><string>libcallback_uniffi.a</string>
			<key>SupportedArchitectures</key><array><string>arm64</string><string>x86_64</string></array>
			<key>SupportedPlatform</key><string>ios</string>
			<key>SupportedPlatformVariant</key><string>simulator</string>
		</dict>
		<dict>
			<key>BinaryPath</key><string>libcallback_uniffi.a</string>
			<key>HeadersPath</key><string>Headers</string>
			<key>LibraryIdentifier</key><string>macos-arm64_x86_64</string>
			<key>LibraryPath</key><string>libcallback_uniffi.a</string>
			<key>SupportedArchitectures</key><array><string>arm64</string><string>x86_64</string></array>
			<key>SupportedPlatform</key><string>macos</string>
		</dict>
	</array>
	<key>CFBundlePackageType</key><string>XFWK</string>
	<key>XCFrameworkFormatVersion</key><string>1.0</string>
</dict>
</plist>
EOF
}

# zip_xcframework NAME: $OUT/NAME-$VERSION.xcframework.zip (the XCFramework at the zip's root,
# as SwiftPM expects).
zip_xcframework() {
    local name="$1" zip="$OUT/$1-$VERSION.xcframework.zip"
    if command -v ditto >/dev/null 2>&1; then
        ditto -c -k --sequesterRsrc --keepParent "$WORK/$name.xcframework" "$zip"
    else
        (cd "$WORK" && zip -qrX "$zip" "$name.xcframework")
    fi
}

if [ "$LAYOUT_CHECK" = 1 ]; then
    log "layout check: real sources and headers, stand-in static libraries (never publish this)"
    log "cargo build --release -p callback-uniffi"
    cargo build --quiet --release -p callback-uniffi
    swift_sources "$CARGO_TARGET_DIR/release/libcallback_uniffi.so"
    fake_xcframework "$FFI"
    fake_xcframework "$FFI-testing"
else
    [ "$(uname -s)" = Darwin ] || { log "the XCFramework needs macOS with Xcode (or use --layout-check)"; exit 1; }
    xcframework "$FFI" ""
    [ "$TESTING" = 1 ] && xcframework "$FFI-testing" "$UNIFFI_TEST_FEATURES"
fi
zip_xcframework "$FFI"
[ "$TESTING" = 1 ] && zip_xcframework "$FFI-testing"

# 2. Checksums (SwiftPM's own; sha256 of the zip). In the layout check SwiftPM runs in the chroot.
SWIFT=(swift)
if [ "$LAYOUT_CHECK" = 1 ]; then
    CHROOT="$("$B24_ROOT/bindings/uniffi/swift-chroot.sh")"
    CHECK_IN=/b24-uniffi-apple-check
    cleanup() {
        if mountpoint -q "$CHROOT/proc"; then umount "$CHROOT/proc" || umount -l "$CHROOT/proc"; fi
    }
    exec 8>"$CHROOT.run.lock"
    flock 8
    trap cleanup EXIT
    mountpoint -q "$CHROOT/proc" || mount -t proc proc "$CHROOT/proc"
    rm -rf "${CHROOT:?}$CHECK_IN"
    mkdir -p "$CHROOT$CHECK_IN"
    SWIFT=(chroot "$CHROOT" /usr/bin/env -i PATH=/usr/libexec/swift/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 swift)
fi
checksum() { # checksum ZIP -> prints SwiftPM's checksum
    local zip="$1"
    if [ "$LAYOUT_CHECK" = 1 ]; then
        cp "$zip" "$CHROOT$CHECK_IN/"
        (cd / && "${SWIFT[@]}" package compute-checksum "$CHECK_IN/${zip##*/}")
    else
        swift package compute-checksum "$zip"
    fi
}
SUM="$(checksum "$OUT/$FFI-$VERSION.xcframework.zip")"
echo "$SUM" > "$OUT/$FFI-$VERSION.xcframework.zip.sha256"
TESTING_SUM=""
if [ "$TESTING" = 1 ]; then
    TESTING_SUM="$(checksum "$OUT/$FFI-testing-$VERSION.xcframework.zip")"
    echo "$TESTING_SUM" > "$OUT/$FFI-testing-$VERSION.xcframework.zip.sha256"
fi

# 3. The consumers' package.
PKG="$OUT/$MODULE"
mkdir -p "$PKG/Sources"
cp -R "$WORK/Sources/$MODULE" "$PKG/Sources/"
manifest() { # manifest BINARY-TARGET-EXPRESSION TESTING-BINARY-TARGET-EXPRESSION
    cat <<EOF
// swift-tools-version:5.9
// bitrix24-callback $VERSION for iOS and macOS: the Swift API (Sources/$MODULE) over the Rust
// library, shipped as an XCFramework in a binary target.
//
// The testing build of the library (FakePortal, the fake Bitrix24 portal, for your tests; never
// in an app you ship) replaces the normal one when BITRIX24_CALLBACK_TESTING=1 is in the
// environment of the tool that resolves this package (\`BITRIX24_CALLBACK_TESTING=1 swift test\`,
// \`... xcodebuild test\`). The Swift API is the same for both builds.
import PackageDescription

let testing = Context.environment["BITRIX24_CALLBACK_TESTING"] == "1"

let package = Package(
    name: "$MODULE",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "$MODULE", targets: ["$MODULE"]),
    ],
    targets: [
        testing
            ? $2
            : $1,
        .target(name: "$MODULE", dependencies: ["$FFI"], path: "Sources/$MODULE"),
    ]
)
EOF
}
remote() { # remote NAME SUM
    printf '.binaryTarget(name: "%s", url: "%s/%s-%s.xcframework.zip", checksum: "%s")' \
        "$FFI" "$URL_BASE" "$1" "$VERSION" "$2"
}
if [ "$TESTING" = 1 ]; then
    manifest "$(remote "$FFI" "$SUM")" "$(remote "$FFI-testing" "$TESTING_SUM")" > "$PKG/Package.swift"
else
    manifest "$(remote "$FFI" "$SUM")" "$(remote "$FFI" "$SUM")" > "$PKG/Package.swift"
fi
(cd "$OUT" && zip -qrX "$MODULE-swiftpm-$VERSION.zip" "$MODULE")

# 4. The layout check: SwiftPM parses the manifest with the remote binary target, and with the
#    local zip in its place.
if [ "$LAYOUT_CHECK" = 1 ]; then
    log "swift package describe (remote binary target)"
    cp -R "$PKG" "$CHROOT$CHECK_IN/remote"
    (cd / && "${SWIFT[@]}" package --package-path "$CHECK_IN/remote" describe --type json) > "$WORK/describe-remote.json"
    log "swift package describe (local zip, testing)"
    cp -R "$PKG" "$CHROOT$CHECK_IN/local"
    cp "$OUT/$FFI-testing-$VERSION.xcframework.zip" "$CHROOT$CHECK_IN/local/"
    local_target=".binaryTarget(name: \"$FFI\", path: \"$FFI-testing-$VERSION.xcframework.zip\")"
    manifest "$local_target" "$local_target" > "$CHROOT$CHECK_IN/local/Package.swift"
    (cd / && "${SWIFT[@]}" package --package-path "$CHECK_IN/local" describe --type json) > "$WORK/describe-local.json"
    python3 - "$WORK/describe-remote.json" "$WORK/describe-local.json" <<'EOF'
import json, sys
for path in sys.argv[1:]:
    d = json.load(open(path))
    targets = {t["name"]: t for t in d["targets"]}
    assert d["name"] == "Bitrix24Callback", d["name"]
    assert [p["name"] for p in d["products"]] == ["Bitrix24Callback"], d["products"]
    assert targets["Bitrix24CallbackFFI"]["type"] == "binary", targets["Bitrix24CallbackFFI"]
    assert targets["Bitrix24Callback"]["target_dependencies"] == ["Bitrix24CallbackFFI"], targets["Bitrix24Callback"]
    print(f"{path.rsplit('/', 1)[-1]}: targets {sorted(targets)} parsed")
EOF
    rm -rf "${CHROOT:?}$CHECK_IN"
fi
log "artifacts in $OUT:"
(cd "$OUT" && ls -l && cat ./*.sha256)
