# shellcheck shell=bash
# The shell library of the repository's scripts (tests/run, the suites' test scripts,
# bindings/uniffi/*.sh, benches/run). Sourced, never run:
#
#   LOG_PREFIX=python                              # prefix of log lines (default: script name)
#   . "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
#
# Sourcing it changes into the repository root and sets (exported where marked):
#   B24_ROOT             the repository root
#   B24_SCRIPT           the calling script, absolute (for become_root)
#   CARGO_TARGET_DIR     exported, absolute: a relative value is taken from the repository root,
#                        unset means <root>/target (cargo's default)
#   B24_CALLBACK_BIN     exported and made absolute (from the root) when set; see build_cli
#   B24_RUN_ID           exported: one id per run, shared by the scripts a run starts (tests/run
#                        and its suites), so that apt-get update runs at most once per run
# Functions, each described where it is defined:
#   abs_path                                             a path taken from the root
#   log, die, as_root, become_root, apt_install          messages, root, Debian packages
#   need_redis                                           a redis-server for the shared-state tests
#   python_venv, python_wheel                            the virtualenv and the wheel
#   build_cli                                            the CLI b24-callback, built once
#   on_exit, start_server, stop_server                   servers that live as long as the script
#   start_fake_portal                                    `b24-callback fake-portal --json`
#   uniffi_build, uniffi_generate                        the uniffi library and its bindings
# The functions return non-zero on failure (they do not rely on the caller's `set -e`).

B24_SCRIPT="$(cd "$(dirname "$0")" && pwd)/${0##*/}"
B24_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$B24_ROOT" || exit 1

# abs_path PATH: PATH made absolute (and normalised), a relative one taken from the root.
abs_path() { (cd "$B24_ROOT" && realpath -ms -- "$1"); }

CARGO_TARGET_DIR="$(abs_path "${CARGO_TARGET_DIR:-target}")"
export CARGO_TARGET_DIR
if [ -n "${B24_CALLBACK_BIN:-}" ]; then
    B24_CALLBACK_BIN="$(abs_path "$B24_CALLBACK_BIN")"
    export B24_CALLBACK_BIN
fi
export B24_RUN_ID="${B24_RUN_ID:-$$-$(date +%s)}"

# ----- messages and root -----

log() { printf '%s: %s\n' "${LOG_PREFIX:-${B24_SCRIPT##*/}}" "$*" >&2; }
die() { log "$*"; exit 1; }

# as_root COMMAND...: runs COMMAND as root (directly, or through sudo when available).
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

# become_root "$@": when not root, runs the calling script again as root through sudo (keeping
# the variables the scripts honour) and never returns; fails when there is no sudo.
become_root() {
    [ "$(id -u)" = 0 ] && return 0
    if command -v sudo >/dev/null 2>&1; then
        exec sudo --preserve-env=CARGO_TARGET_DIR,B24_CALLBACK_BIN,B24_RUN_ID,B24_SWIFT_CHROOT,B24_DEBIAN_MIRROR,CARGO_TERM_COLOR,PATH,CARGO_HOME,RUSTUP_HOME \
            "$B24_SCRIPT" "$@"
    fi
    log "root is needed (and there is no sudo)"
    return 1
}

# apt_install PACKAGE...: installs the Debian packages among these that are missing (as root,
# without recommends). apt-get update runs first, once per run.
apt_install() {
    local missing=() p stamp="$CARGO_TARGET_DIR/.apt-updated"
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$B24_RUN_ID" ]; then
        as_root apt-get update -qq >&2 || return 1
        { mkdir -p "$CARGO_TARGET_DIR" && printf '%s\n' "$B24_RUN_ID" >"$stamp"; } 2>/dev/null || true
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# need_redis: makes sure the shared-state tests find a Redis: $REDIS_SERVER when set, else
# redis-server on the PATH, installed from Debian when missing.
need_redis() {
    [ -n "${REDIS_SERVER:-}" ] && return 0
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
}

# ----- Python -----

# python_venv REQUIREMENT...: makes sure the virtualenv $VENV exists (default <root>/.venv, a
# relative path taken from the root; created with ${PYTHON:-python3}, installing Debian's
# python3-venv when that cannot create one) and pip-installs the given pinned requirements
# into it. Sets VENV (absolute) and VENV_PY (its python).
python_venv() {
    VENV="$(abs_path "${VENV:-.venv}")"
    VENV_PY="$VENV/bin/python"
    local python="${PYTHON:-python3}"
    if [ ! -x "$VENV_PY" ]; then
        log "creating the virtualenv $VENV"
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv && "$python" -m venv "$VENV" || return 1
        fi
    fi
    [ $# -eq 0 ] && return 0
    log "pip install $*"
    "$VENV_PY" -m pip install -q --disable-pip-version-check "$@"
}

# python_wheel DIR [MATURIN-ARGS...]: builds the wheel of python/ with the virtualenv's maturin
# (python_venv first) into DIR, emptied first, and installs it into the virtualenv in place of
# any earlier one, as a user would install it.
python_wheel() {
    local dist=$1 wheels
    shift
    rm -rf "$dist"
    log "maturin build $*"
    (cd "$B24_ROOT/python" && "$VENV/bin/maturin" build "$@" --interpreter "$VENV_PY" --out "$dist") \
        || return 1
    wheels=("$dist"/bitrix24_callback-*.whl)
    [ -f "${wheels[0]}" ] || { log "no wheel was built"; return 1; }
    log "installing ${wheels[0]##*/}"
    "$VENV_PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "${wheels[0]}"
}

# ----- the CLI -----

# build_cli [--release] [-p PACKAGE...]: makes sure B24_CALLBACK_BIN names the CLI b24-callback
# and exports it. When it is set, it must name an executable, and nothing is built for it (this
# is how tests/run hands its one build to the suites); otherwise `cargo build -p callback-cli`
# builds <target>/debug/b24-callback (release/ with --release). Packages given with -p are built
# in the same cargo invocation, whether or not the CLI is: one selection per script, so that the
# shared dependencies are not compiled again with a different feature set.
build_cli() {
    local profile=debug args=()
    if [ "${1:-}" = --release ]; then
        profile=release
        args+=(--release)
        shift
    fi
    if [ -n "${B24_CALLBACK_BIN:-}" ]; then
        [ -x "$B24_CALLBACK_BIN" ] || { log "B24_CALLBACK_BIN is not an executable: $B24_CALLBACK_BIN"; return 1; }
    else
        args+=(-p callback-cli)
    fi
    args+=("$@")
    case " ${args[*]} " in
        *" -p "*)
            log "cargo build ${args[*]}"
            cargo build "${args[@]}" || return 1
            ;;
    esac
    B24_CALLBACK_BIN="${B24_CALLBACK_BIN:-$CARGO_TARGET_DIR/$profile/b24-callback}"
    export B24_CALLBACK_BIN
}

# ----- servers -----

# on_exit COMMAND...: runs COMMAND when the script exits (normally, on an error, or on INT or
# TERM, which then exit with 130); the last one registered runs first. The script's exit status
# is kept.
_b24_exit_hooks=()
on_exit() {
    if [ ${#_b24_exit_hooks[@]} -eq 0 ]; then
        trap _b24_run_exit_hooks EXIT
        trap 'exit 130' INT TERM
    fi
    _b24_exit_hooks+=("$(printf '%q ' "$@")")
}
_b24_run_exit_hooks() {
    local i
    for ((i = ${#_b24_exit_hooks[@]} - 1; i >= 0; i--)); do
        eval "${_b24_exit_hooks[i]}" || true
    done
    _b24_exit_hooks=()
}

# start_server NAME COMMAND...: starts COMMAND in the background, for as long as the script
# runs. Its standard output goes to the file $SERVER_OUT (standard error stays the script's);
# its standard input is a pipe this shell holds open, so a server that stops at the end of its
# input (like `b24-callback fake-portal`) goes away even when the script is killed. It is
# stopped when the script exits (stop_server NAME stops it earlier). Sets SERVER_PID and
# SERVER_OUT. Readiness is the caller's business (a line in $SERVER_OUT, a port that answers).
_b24_servers=()   # "NAME PID FD" of the running ones
B24_TMP=""
start_server() {
    local name=$1 fifo fd entry
    shift
    if [ -z "$B24_TMP" ]; then
        B24_TMP="$(mktemp -d "${TMPDIR:-/tmp}/b24-scripts.XXXXXX")" || return 1
        on_exit rm -rf "$B24_TMP"
    fi
    fifo="$B24_TMP/$name.in"
    SERVER_OUT="$B24_TMP/$name.out"
    mkfifo "$fifo" || return 1
    # Read-write, so opening never blocks; the server alone holds the read end once started.
    exec {fd}<>"$fifo"
    (
        # The server keeps no write end of its own input, nor of any earlier server's.
        for entry in "${_b24_servers[@]}" "- - $fd"; do
            held=${entry##* }
            exec {held}>&-
        done
        exec "$@" <"$fifo" >"$SERVER_OUT"
    ) &
    SERVER_PID=$!
    _b24_servers+=("$name $SERVER_PID $fd")
    on_exit stop_server "$name"
}

# stop_server NAME: closes the server's input, sends it SIGTERM (SIGKILL after 5 s) and waits
# for it. Nothing happens when it is not running.
stop_server() {
    local i entry name pid fd keep=()
    for entry in "${_b24_servers[@]}"; do
        read -r name pid fd <<<"$entry"
        if [ "$name" != "$1" ]; then
            keep+=("$entry")
            continue
        fi
        exec {fd}>&-
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    _b24_servers=("${keep[@]}")
    return 0
}

# start_fake_portal [ARGS...]: starts `$B24_CALLBACK_BIN fake-portal --json --stage-ms 200 ARGS`
# on loopback (a server, see start_server) and exports its one JSON line as B24_FAKE_PORTAL_JSON,
# plus B24_VECTORS_DIR (the shared test vectors).
start_fake_portal() {
    local line="" i
    [ -x "${B24_CALLBACK_BIN:-}" ] || { log "fake portal binary not found: ${B24_CALLBACK_BIN:-(unset)}"; return 1; }
    start_server fake-portal "$B24_CALLBACK_BIN" fake-portal --json --stage-ms 200 "$@" || return 1
    for ((i = 0; i < 600; i++)); do   # 60 s
        IFS= read -r line <"$SERVER_OUT" && [ -n "$line" ] && break
        line=""
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$line" ]; then
        log "the fake portal did not print its JSON line"
        stop_server fake-portal
        return 1
    fi
    export B24_FAKE_PORTAL_JSON="$line"
    export B24_VECTORS_DIR="$B24_ROOT/tests/vectors"
    log "fake portal: $(printf '%s' "$line" | grep -o '"base_url":"[^"]*"')"
}

# ----- uniffi (Kotlin and Swift) -----

UNIFFI_OUT="$CARGO_TARGET_DIR/uniffi"

# The testing build of the uniffi library: the fake portal in the box (`FakePortal`) and the
# core's test hook (a start from the line "test-hook:panic" panics mid-call). Never shipped.
UNIFFI_TEST_FEATURES="callback-uniffi/testing,callback-uniffi/test-hooks"

# uniffi_build [--release] [--testing]: builds the binding's library and uniffi-bindgen, with
# --testing the testing build (UNIFFI_TEST_FEATURES) that the Kotlin and Swift suites run. Sets
# UNIFFI_LIB and UNIFFI_BINDGEN.
uniffi_build() {
    local profile=debug args=()
    if [ "${1:-}" = --release ]; then
        profile=release
        args+=(--release)
        shift
    fi
    [ "${1:-}" = --testing ] && args+=(--features "$UNIFFI_TEST_FEATURES")
    log "cargo build ${args[*]} -p callback-uniffi -p uniffi-bindgen"
    cargo build --quiet "${args[@]}" -p callback-uniffi -p uniffi-bindgen || return 1
    UNIFFI_LIB="$CARGO_TARGET_DIR/$profile/libcallback_uniffi.so"
    UNIFFI_BINDGEN="$CARGO_TARGET_DIR/$profile/uniffi-bindgen"
}

# uniffi_generate LANGUAGE: generates the LANGUAGE sources from $UNIFFI_LIB (library mode) into
# $UNIFFI_OUT/LANGUAGE, replacing what was there (generated code is never committed).
uniffi_generate() {
    log "uniffi-bindgen generate --language $1"
    rm -rf "${UNIFFI_OUT:?}/$1"
    "$UNIFFI_BINDGEN" generate "$UNIFFI_LIB" --language "$1" --no-format \
        --out-dir "$UNIFFI_OUT/$1" >/dev/null
}
