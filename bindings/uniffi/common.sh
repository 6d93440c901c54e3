# Shared by test-kotlin.sh, test-swift.sh and generate.sh (sourced, not run).
#
# Sets: REPO_ROOT, TARGET_DIR (absolute ${CARGO_TARGET_DIR:-target}), UNIFFI_OUT, NATIVE_LIB.
# Functions: need_root_or_sudo, apt_install_missing, build_native, generate_bindings,
#            start_fake_portal.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
case "${CARGO_TARGET_DIR:-target}" in
    /*) TARGET_DIR="${CARGO_TARGET_DIR}" ;;
    *) TARGET_DIR="$REPO_ROOT/${CARGO_TARGET_DIR:-target}" ;;
esac
UNIFFI_OUT="$TARGET_DIR/uniffi"
NATIVE_LIB="$TARGET_DIR/debug/libcallback_uniffi.so"

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

# One cargo selection for everything these scripts need, so the workspace is never compiled
# twice over with different feature sets: the binding's cdylib, the bindgen binary and (unless
# $B24_CALLBACK_BIN points at a prebuilt one) the CLI that runs the fake portal.
build_native() {
    local pkgs=(-p callback-uniffi -p uniffi-bindgen)
    [ -z "${B24_CALLBACK_BIN:-}" ] && pkgs+=(-p callback-cli)
    log "cargo build ${pkgs[*]}"
    cargo build --quiet "${pkgs[@]}"
    B24_CALLBACK_BIN="${B24_CALLBACK_BIN:-$TARGET_DIR/debug/b24-callback}"
    export B24_CALLBACK_BIN
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

# Starts `b24-callback fake-portal --json` on loopback and exports its one JSON line as
# B24_FAKE_PORTAL_JSON (plus B24_VECTORS_DIR). The portal stops when this shell exits: its
# stdin (our coprocess pipe) closes, and it is killed as well.
FAKE_PID=""
start_fake_portal() {
    if [ ! -x "$B24_CALLBACK_BIN" ]; then
        log "fake portal binary not found: $B24_CALLBACK_BIN"
        return 1
    fi
    coproc FAKE { exec "$B24_CALLBACK_BIN" fake-portal --json --stage-ms 200 "$@"; }
    # bash sets FAKE_PID for the coprocess named FAKE.
    # Coprocess descriptors are not inherited by subshells: duplicate the output end first.
    local line="" out
    exec {out}<&"${FAKE[0]}"
    if ! IFS= read -r -t 60 line <&"$out" || [ -z "$line" ]; then
        log "the fake portal did not print its JSON line"
        stop_fake_portal
        return 1
    fi
    # Keep draining its stdout so it can never block on a full pipe.
    cat <&"$out" >/dev/null &
    export B24_FAKE_PORTAL_JSON="$line"
    export B24_VECTORS_DIR="$REPO_ROOT/tests/vectors"
    log "fake portal: $(printf '%s' "$line" | grep -o '"base_url":"[^"]*"')"
}

stop_fake_portal() {
    if [ -n "${FAKE_PID:-}" ]; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
        FAKE_PID=""
    fi
}
