#!/usr/bin/env bash
# Compiles the generated Swift binding plus the Swift test suite with swiftc and runs it against
# the fake portal. Swift comes from Debian 13's `swiftlang`, inside a debootstrap chroot cached
# OUTSIDE the repository (B24_SWIFT_CHROOT, default /var/cache/bitrix24-callback/swift-trixie;
# see swift-chroot.sh), because Debian 12 has no Swift. Needs root (chroot, mount).
# A missing toolchain is a failure, never a skip. Exits non-zero on any failure.
#
#   bindings/uniffi/test-swift.sh            (honours CARGO_TARGET_DIR and B24_CALLBACK_BIN)
set -euo pipefail
LOG_PREFIX=test-swift
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
started=$(date +%s)

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo --preserve-env=CARGO_TARGET_DIR,B24_CALLBACK_BIN,B24_SWIFT_CHROOT,PATH,CARGO_HOME,RUSTUP_HOME "$0" "$@"
    fi
    log "root is needed (debootstrap, chroot, mount)"
    exit 1
fi

# 1. The chroot with swiftc (created on first use, ~1.5 min and ~530 MB download; reused).
CHROOT="$("$REPO_ROOT/bindings/uniffi/swift-chroot.sh")"
[ -x "$CHROOT/usr/bin/swiftc" ] || { log "no swiftc in $CHROOT"; exit 1; }

# 2. Native library, bindgen, CLI; then the generated Swift.
build_native
generate_bindings swift

# 3. Stage what the compiler needs inside the chroot (a fresh directory per run). Runs that
#    share the chroot take turns (one /proc mount, unmounted by whoever mounted it).
exec 8>"$CHROOT.run.lock"
flock 8
WORK_IN=/b24-uniffi-swift
WORK="$CHROOT$WORK_IN"
rm -rf "$WORK"
mkdir -p "$WORK/gen" "$WORK/lib" "$WORK/tests" "$WORK/build" "$WORK/vectors"
cp "$UNIFFI_OUT/swift/"* "$WORK/gen/"
cp "$NATIVE_LIB" "$WORK/lib/"
cp "$REPO_ROOT/bindings/uniffi/swift/Tests/"*.swift "$WORK/tests/"
cp "$REPO_ROOT/tests/vectors/"*.json "$WORK/vectors/" 2>/dev/null || true

# /proc is needed by swiftc and the Swift runtime; mounted only for this run.
cleanup() {
    stop_fake_portal
    if mountpoint -q "$CHROOT/proc"; then umount "$CHROOT/proc" || umount -l "$CHROOT/proc"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mountpoint -q "$CHROOT/proc" || mount -t proc proc "$CHROOT/proc"

in_chroot() { chroot "$CHROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

FFI=(-I "$WORK_IN/gen" -Xcc "-fmodule-map-file=$WORK_IN/gen/Bitrix24CallbackFFI.modulemap")
log "swiftc Bitrix24Callback (library module)"
in_chroot swiftc -emit-library -emit-module -parse-as-library -module-name Bitrix24Callback \
    "${FFI[@]}" -L "$WORK_IN/lib" -lcallback_uniffi \
    -Xlinker -rpath -Xlinker "$WORK_IN/lib" \
    -emit-module-path "$WORK_IN/build/Bitrix24Callback.swiftmodule" \
    -o "$WORK_IN/build/libBitrix24Callback.so" "$WORK_IN/gen/Bitrix24Callback.swift"
log "swiftc tests"
sources=()
for f in "$WORK"/tests/*.swift; do sources+=("$WORK_IN/tests/${f##*/}"); done
in_chroot swiftc -swift-version 5 -module-name B24Tests "${FFI[@]}" -I "$WORK_IN/build" \
    -L "$WORK_IN/build" -lBitrix24Callback -L "$WORK_IN/lib" -lcallback_uniffi \
    -Xlinker -rpath -Xlinker "$WORK_IN/build" -Xlinker -rpath -Xlinker "$WORK_IN/lib" \
    -o "$WORK_IN/build/tests" "${sources[@]}"

# 4. Run against the fake portal on the host's loopback (the chroot shares the network).
start_fake_portal
log "running"
set +e
in_chroot B24_FAKE_PORTAL_JSON="$B24_FAKE_PORTAL_JSON" B24_VECTORS_DIR="$WORK_IN/vectors" \
    "$WORK_IN/build/tests"
status=$?
set -e
log "finished in $(( $(date +%s) - started )) s (exit $status)"
exit $status
