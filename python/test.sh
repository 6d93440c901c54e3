#!/usr/bin/env bash
# Python suite of bitrix24-callback. Run from anywhere (it works from the repository root):
#
#   python/test.sh [extra pytest arguments]
#
# Creates (or reuses) a virtualenv ($VENV, default .venv at the repository root), installs the
# pinned build and test tools, builds the wheel with maturin, installs that wheel into the venv,
# then checks the stubs against the compiled module (mypy.stubtest) and runs pytest against the
# installed package. Honours ${CARGO_TARGET_DIR:-target} and $B24_CALLBACK_BIN (the CLI that
# serves the fake portal; built with cargo when missing) and $REDIS_SERVER (the redis-server of
# the shared_state tests; installed from Debian when none is found). Set PY_PROFILE=release for an
# optimised wheel (default: debug, faster to build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export CARGO_TARGET_DIR="$target"
build_cli=0
[ -n "${B24_CALLBACK_BIN:-}" ] || build_cli=1
export B24_CALLBACK_BIN="${B24_CALLBACK_BIN:-$target/debug/b24-callback}"
venv="${VENV:-$root/.venv}"
python="${PYTHON:-python3}"

step() { echo "--- python: $*"; }

# 1. virtualenv (Debian's python3 needs python3-venv for this)
if [ ! -x "$venv/bin/python" ]; then
    step "creating $venv"
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        step "installing python3-venv"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv "$venv"
    fi
fi
py="$venv/bin/python"
step "tools"
# maturin builds the wheel, mypy checks the stubs; FastAPI (+ its form parser and test
# client) and Django run the README's examples.
"$py" -m pip install -q --disable-pip-version-check \
    "maturin==1.16.0" "pytest==9.2.0" "mypy==2.4.1" \
    "fastapi==0.163.2" "python-multipart==0.0.34" "httpx2==2.16.2" "django==5.2.19"

# The tests of shared_state run a real Redis ($REDIS_SERVER, else redis-server on the PATH).
if [ -z "${REDIS_SERVER:-}" ] && ! command -v redis-server >/dev/null; then
    step "installing redis-server"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } ||
        echo "could not install redis-server: the shared_state tests will fail" >&2
fi

# 2. the fake portal's CLI (brought up to date unless $B24_CALLBACK_BIN names one)
if [ "$build_cli" = 1 ] || [ ! -x "$B24_CALLBACK_BIN" ]; then
    step "building b24-callback"
    cargo build -p callback-cli
fi

# 3. the wheel, built by maturin and installed like a user would
dist="$target/python-wheels"
rm -rf "$dist"
profile_flag=()
[ "${PY_PROFILE:-debug}" = "release" ] && profile_flag=(--release)
step "building the wheel"
(cd python && "$venv/bin/maturin" build "${profile_flag[@]}" --interpreter "$py" --out "$dist")
wheels=("$dist"/bitrix24_callback-*.whl)
[ -f "${wheels[0]}" ] || { echo "no wheel was built" >&2; exit 1; }
step "installing ${wheels[0]##*/}"
"$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "${wheels[0]}"

# 4. checks, from a directory where the source tree cannot shadow the installed package
cd "$root/python/tests"
step "stubtest"
"$py" -m mypy.stubtest bitrix24_callback._native
step "mypy --strict (the installed package, stubs included)"
"$py" -m mypy --strict --no-incremental -p bitrix24_callback
step "pytest"
"$py" -m pytest -p no:cacheprovider "$@"
