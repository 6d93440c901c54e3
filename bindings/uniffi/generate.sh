#!/usr/bin/env bash
# Builds the native library and generates the Kotlin and Swift sources in library mode into
# ${CARGO_TARGET_DIR:-target}/uniffi/{kotlin,swift} (generated code is never committed).
#
#   bindings/uniffi/generate.sh            debug build, the same cargo selection as the tests
#   bindings/uniffi/generate.sh --release  release build of the binding only (for packaging)
set -euo pipefail
LOG_PREFIX=generate
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ "${1:-}" = "--release" ]; then
    log "cargo build --release -p callback-uniffi -p uniffi-bindgen"
    cargo build --quiet --release -p callback-uniffi -p uniffi-bindgen
    NATIVE_LIB="$TARGET_DIR/release/libcallback_uniffi.so"
    BINDGEN="$TARGET_DIR/release/uniffi-bindgen"
else
    build_native
    BINDGEN="$TARGET_DIR/debug/uniffi-bindgen"
fi

for lang in kotlin swift; do
    rm -rf "${UNIFFI_OUT:?}/$lang"
    "$BINDGEN" generate "$NATIVE_LIB" --language "$lang" --no-format \
        --out-dir "$UNIFFI_OUT/$lang" >/dev/null
done
log "library: $NATIVE_LIB"
find "$UNIFFI_OUT/kotlin" "$UNIFFI_OUT/swift" -type f | sort
