#!/usr/bin/env bash
# Runs the Swift suite: the SwiftPM package in bindings/uniffi/swift (library target
# Bitrix24Callback = the generated Swift plus swift/Wrappers/, system-library target
# Bitrix24CallbackFFI = the generated header + module map, XCTest target Bitrix24CallbackTests)
# is staged together with the generated sources and the testing build of libcallback_uniffi.so,
# whose fake portal (`FakePortal`) the tests start in their own process, and `swift test` runs
# it. Swift comes from Debian 13's `swiftlang`, inside a debootstrap chroot cached OUTSIDE
# the repository (B24_SWIFT_CHROOT, default /var/cache/bitrix24-callback/swift-trixie; see
# swift-chroot.sh), because Debian 12 has no Swift. Needs root (chroot, mount).
# A missing toolchain is a failure, never a skip. Exits non-zero on any failure; the last line
# of the test output is XCTest's "Executed N tests, with N failures ...".
#
#   bindings/uniffi/test-swift.sh            (honours CARGO_TARGET_DIR and B24_SWIFT_CHROOT)
set -euo pipefail
LOG_PREFIX=test-swift
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
become_root "$@"
started=$SECONDS

# 1. The chroot with the Swift toolchain (created on first use, ~1.5 min and ~530 MB download;
#    reused afterwards).
CHROOT="$("$B24_ROOT/bindings/uniffi/swift-chroot.sh")"
# Debian's swiftlang links only swiftc into /usr/bin; the driver that runs `swift build` and
# `swift test` lives in its libexec directory (put first on the chroot's PATH below).
SWIFT_BIN=/usr/libexec/swift/bin
for tool in swift swift-build swift-test; do
    [ -x "$CHROOT$SWIFT_BIN/$tool" ] || { log "no $SWIFT_BIN/$tool in $CHROOT"; exit 1; }
done
[ -f "$CHROOT/usr/libexec/swift/lib/swift/linux/libXCTest.so" ] || { log "no XCTest in $CHROOT"; exit 1; }

# 2. The testing build of the native library and bindgen; then the generated Swift.
uniffi_build --testing
uniffi_generate swift

# 3. Stage the package inside the chroot. Runs sharing the chroot take turns (one /proc mount,
#    unmounted by whoever mounted it). The staging directory and SwiftPM's .build inside it are
#    kept between runs; files are only replaced when their content changed, so an unchanged
#    package is not recompiled.
exec 8>"$CHROOT.run.lock"
flock 8
WORK_IN=/b24-uniffi-swift
WORK="$CHROOT$WORK_IN"
PKG_IN="$WORK_IN/pkg"
PKG="$CHROOT$PKG_IN"
SRC="$B24_ROOT/bindings/uniffi/swift"
GEN="$UNIFFI_OUT/swift"

staged=()
# put SOURCE RELATIVE-DEST: copy into the staged package unless the content is already there.
put() {
    local dest="$PKG/$2"
    mkdir -p "$(dirname "$dest")"
    cmp -s "$1" "$dest" 2>/dev/null || cp "$1" "$dest"
    staged+=("$dest")
}
put "$SRC/Package.swift" Package.swift
put "$GEN/Bitrix24Callback.swift" Sources/Bitrix24Callback/Bitrix24Callback.swift
for f in "$SRC"/Wrappers/*.swift; do
    put "$f" "Sources/Bitrix24Callback/${f##*/}"
done
put "$GEN/Bitrix24CallbackFFI.h" Sources/Bitrix24CallbackFFI/Bitrix24CallbackFFI.h
put "$GEN/Bitrix24CallbackFFI.modulemap" Sources/Bitrix24CallbackFFI/module.modulemap
put "$UNIFFI_LIB" lib/libcallback_uniffi.so
for f in "$SRC"/Tests/Bitrix24CallbackTests/*.swift; do
    put "$f" "Tests/Bitrix24CallbackTests/${f##*/}"
done
# Drop staged files that no longer exist in the repository (a removed or renamed test file).
while IFS= read -r -d '' f; do
    keep=0
    for s in "${staged[@]}"; do [ "$s" = "$f" ] && { keep=1; break; }; done
    [ "$keep" = 1 ] || rm -f "$f"
done < <(find "$PKG" -path "$PKG/.build" -prune -o -type f -print0)
rm -rf "$WORK/vectors"
mkdir -p "$WORK/vectors"
cp "$B24_ROOT/tests/vectors/"*.json "$WORK/vectors/"

# /proc is needed by the Swift toolchain and runtime; mounted only for this run. On an
# interrupt every process of this run inside the chroot is stopped before /proc is unmounted:
# `swift test` runs the XCTest bundle in a process group of its own, so besides signalling our
# group we look for processes whose root directory is the chroot (only this run has any: runs
# hold the lock above).
SWIFT_PID=""
ROOT_REAL="$(realpath "$CHROOT")"
chroot_pids() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT_REAL" ] && printf '%s\n' "${p#/proc/}"
    done
    return 0
}
stop_chroot_processes() {
    local pids i
    if [ -n "$SWIFT_PID" ]; then
        kill -INT -- "-$SWIFT_PID" 2>/dev/null || true   # SwiftPM stops its children on SIGINT
    fi
    for ((i = 1; i <= 30; i++)); do   # 1 s for SIGINT to work, then TERM, then KILL
        pids=$(chroot_pids)
        [ -n "$pids" ] || break
        if [ "$i" = 10 ]; then kill -TERM $pids 2>/dev/null || true; fi
        if [ "$i" = 25 ]; then kill -KILL $pids 2>/dev/null || true; fi
        sleep 0.1
    done
    if [ -n "$SWIFT_PID" ]; then
        wait "$SWIFT_PID" 2>/dev/null || true
        SWIFT_PID=""
    fi
}
cleanup() {
    stop_chroot_processes
    if mountpoint -q "$CHROOT/proc"; then umount "$CHROOT/proc" || umount -l "$CHROOT/proc"; fi
}
on_exit cleanup
mountpoint -q "$CHROOT/proc" || mount -t proc proc "$CHROOT/proc"

# in_chroot VAR=VALUE... COMMAND...: runs in the chroot with a clean environment (plus the
# given variables), in its own session; returns the command's exit status.
in_chroot() {
    setsid chroot "$CHROOT" /usr/bin/env -i PATH="$SWIFT_BIN:/usr/bin:/bin" HOME=/root LANG=C.UTF-8 "$@" &
    SWIFT_PID=$!
    local status=0
    wait "$SWIFT_PID" || status=$?
    SWIFT_PID=""
    return "$status"
}

log "swift build --build-tests (package $PKG_IN)"
in_chroot swift build --package-path "$PKG_IN" --build-tests

# 4. Run; the test process inherits the vectors' directory from `swift test`.
log "swift test"
status=0
in_chroot B24_VECTORS_DIR="$WORK_IN/vectors" \
    swift test --package-path "$PKG_IN" --skip-build --disable-swift-testing || status=$?
log "finished in $((SECONDS - started)) s (exit $status)"
exit "$status"
