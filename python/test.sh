#!/usr/bin/env bash
# Python suite of bitrix24-callback. Run from anywhere (it works from the repository root):
#
#   python/test.sh [extra pytest arguments]
#
# 1. Creates (or reuses) a virtualenv ($VENV, default .venv at the repository root) and installs
#    the pinned build and test tools.
# 2. Builds the test wheel with maturin (debug, with the core's test hooks), installs it into
#    that venv, checks the stubs against the compiled module (mypy.stubtest), runs mypy --strict
#    on the package and pytest against the installed package (its own fake portal runs in the
#    test process; the shared_state tests also start a redis-server).
# 3. Builds the release wheel as it is shipped (manylinux2014 through zig, stripped, no test
#    hooks), has auditwheel check it, installs it into a fresh venv and runs one test file from
#    a directory outside the repository, importing only the installed package and its
#    `testing` module; then the 10-second load run against it.
#
# Honours ${CARGO_TARGET_DIR:-target}, $REDIS_SERVER (the redis-server of the shared_state
# tests; installed from Debian when none is found), PY_PROFILE=release (an optimised test
# wheel; default debug, faster to build) and PY_RELEASE=0 (skip step 3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export CARGO_TARGET_DIR="$target"
venv="${VENV:-$root/.venv}"
python="${PYTHON:-python3}"

step() { echo "--- python: $*"; }

new_venv() {
    # Debian's python3 needs python3-venv for this
    if ! "$python" -m venv "$1" 2>/dev/null; then
        rm -rf "$1"
        step "installing python3-venv"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv "$1"
    fi
}

# 1. virtualenv and tools
if [ ! -x "$venv/bin/python" ]; then
    step "creating $venv"
    new_venv "$venv"
fi
py="$venv/bin/python"
step "tools"
# maturin builds the wheels (ziglang links the manylinux2014 one against an old glibc, auditwheel
# checks it), mypy checks the stubs; FastAPI (+ its form parser and test client) and Django run
# the README's examples.
"$py" -m pip install -q --disable-pip-version-check \
    "maturin==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2" "pytest==9.2.0" "mypy==2.4.1" \
    "fastapi==0.163.2" "python-multipart==0.0.34" "httpx2==2.16.2" "django==5.2.19"

# The tests of shared_state run a real Redis ($REDIS_SERVER, else redis-server on the PATH).
if [ -z "${REDIS_SERVER:-}" ] && ! command -v redis-server >/dev/null; then
    step "installing redis-server"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } ||
        echo "could not install redis-server: the shared_state tests will fail" >&2
fi

# 2. the test wheel, built by maturin and installed like a user would
dist="$target/python-wheels"
rm -rf "$dist"
profile_flag=()
[ "${PY_PROFILE:-debug}" = "release" ] && profile_flag=(--release)
step "building the test wheel (test hooks on)"
(cd python && "$venv/bin/maturin" build "${profile_flag[@]}" --features test-hooks \
    --interpreter "$py" --out "$dist/test")
wheels=("$dist"/test/bitrix24_callback-*.whl)
[ -f "${wheels[0]}" ] || { echo "no wheel was built" >&2; exit 1; }
step "installing ${wheels[0]##*/}"
"$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "${wheels[0]}"

# checks, from a directory where the source tree cannot shadow the installed package
cd "$root/python/tests"
step "stubtest"
"$py" -m mypy.stubtest bitrix24_callback._native
step "mypy --strict (the installed package, stubs included)"
"$py" -m mypy --strict --no-incremental -p bitrix24_callback
step "pytest"
"$py" -m pytest -p no:cacheprovider "$@"
cd "$root"

[ "${PY_RELEASE:-1}" = "0" ] && exit 0

# 3. the release wheel as shipped: manylinux2014 (glibc 2.17) through zig, stripped, without
# the test hooks; maturin finds zig through the venv's `python -m ziglang`.
step "building the release wheel (manylinux2014)"
(cd python && PATH="$venv/bin:$PATH" "$venv/bin/maturin" build --release --zig \
    --compatibility manylinux2014 --interpreter "$py" --out "$dist/release")
release=("$dist"/release/bitrix24_callback-*manylinux_2_17_x86_64*.whl)
[ -f "${release[0]}" ] || { echo "no manylinux_2_17 wheel was built" >&2; exit 1; }
step "auditwheel show ${release[0]##*/}"
shown=$("$venv/bin/auditwheel" show "${release[0]}")
echo "$shown"
grep -q 'consistent with the following platform tag: "manylinux_2_17_x86_64"' <<<"$shown" ||
    { echo "auditwheel does not accept the wheel as manylinux_2_17" >&2; exit 1; }
echo "wheel: $(stat -c %s "${release[0]}") bytes"

# a fresh venv holding only the wheel and pytest; the test file runs from a temporary
# directory, far from the source tree
smoke="$target/python-smoke-venv"
rm -rf "$smoke"
step "fresh venv with the release wheel"
new_venv "$smoke"
"$smoke/bin/python" -m pip install -q --disable-pip-version-check "${release[0]}" "pytest==9.2.0"
outside=$(mktemp -d)
trap 'rm -rf "$outside"' EXIT
cp "$root/python/smoke/test_installed.py" "$outside/"
step "test_installed.py (outside the repository)"
(cd "$outside" && "$smoke/bin/python" -m pytest -p no:cacheprovider -q test_installed.py)

step "load: 10 s at 1,000 calls/s against the testing module's portal"
(cd "$outside" && "$smoke/bin/python" "$root/python/benchmarks/load.py" --seconds 10 --rate 1000 --check)
