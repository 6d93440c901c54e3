# Shared by test-kotlin.sh, test-swift.sh, generate.sh, build-android.sh and build-apple.sh
# (sourced, not run).
#
# Sets: REPO_ROOT, TARGET_DIR (absolute ${CARGO_TARGET_DIR:-target}), UNIFFI_OUT, NATIVE_LIB,
#       TEST_FEATURES.
# Functions: as_root, apt_install_missing, build_native, generate_bindings.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
case "${CARGO_TARGET_DIR:-target}" in
    /*) TARGET_DIR="${CARGO_TARGET_DIR}" ;;
    *) TARGET_DIR="$REPO_ROOT/${CARGO_TARGET_DIR:-target}" ;;
esac
UNIFFI_OUT="$TARGET_DIR/uniffi"
NATIVE_LIB="$TARGET_DIR/debug/libcallback_uniffi.so"
# The testing build of the library: the fake portal in the box (`FakePortal`) and the core's
# test hook (a start from the line "test-hook:panic" panics mid-call). Never shipped.
TEST_FEATURES="callback-uniffi/testing,callback-uniffi/test-hooks"

log() { printf '%s: %s\n' "${LOG_PREFIX:-uniffi}" "$*" >&2; }

# Runs a command as root (directly, or through sudo when available).
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "root is needed for: $*"
        return 1
    fi
}

# Installs the Debian packages among "$@" that are not installed yet.
apt_install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# One cargo selection for everything the test scripts need, so the workspace is never compiled
# twice over with different feature sets: the testing build of the binding's cdylib and the
# bindgen binary. The tests start the fake portal in their own process (`FakePortal`).
build_native() {
    log "cargo build -p callback-uniffi -p uniffi-bindgen --features $TEST_FEATURES"
    cargo build --quiet -p callback-uniffi -p uniffi-bindgen --features "$TEST_FEATURES"
}

# generate_bindings LANGUAGE: library-mode generation into $UNIFFI_OUT/LANGUAGE (never
# committed; regenerated on every run).
generate_bindings() {
    local lang="$1"
    log "uniffi-bindgen generate --language $lang"
    rm -rf "${UNIFFI_OUT:?}/$lang"
    "$TARGET_DIR/debug/uniffi-bindgen" generate "$NATIVE_LIB" \
        --language "$lang" --no-format --out-dir "$UNIFFI_OUT/$lang" >/dev/null
}
