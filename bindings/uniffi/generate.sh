#!/usr/bin/env bash
# Builds the native library and generates the Kotlin and Swift sources in library mode into
# ${CARGO_TARGET_DIR:-target}/uniffi/{kotlin,swift} (generated code is never committed).
#
#   bindings/uniffi/generate.sh            debug build, the same cargo selection as the tests
#   bindings/uniffi/generate.sh --release  release build of the binding only (for packaging)
set -euo pipefail
LOG_PREFIX=generate
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

uniffi_build "$@"
uniffi_generate kotlin
uniffi_generate swift
log "library: $UNIFFI_LIB"
find "$UNIFFI_OUT/kotlin" "$UNIFFI_OUT/swift" -type f | sort
