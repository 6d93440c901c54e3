#!/usr/bin/env bash
# Python suite of bitrix24-callback. Run from anywhere:
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
# Honours CARGO_TARGET_DIR, REDIS_SERVER (the redis-server of the shared_state tests; installed
# from Debian when none is found), PY_PROFILE=release (an optimised test wheel; default debug,
# faster to build) and PY_RELEASE=0 (skip step 3).
set -euo pipefail
LOG_PREFIX=python
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# 1. maturin builds the wheels (ziglang links the manylinux2014 one against an old glibc,
# auditwheel checks it), mypy checks the stubs; FastAPI (+ its form parser and test client) and
# Django run the README's examples.
python_venv "maturin==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2" "pytest==9.2.0" \
    "mypy==2.4.1" "fastapi==0.163.2" "python-multipart==0.0.34" "httpx2==2.16.2" \
    "django==5.2.19"
need_redis

# 2. The test wheel.
profile=()
[ "${PY_PROFILE:-debug}" = release ] && profile=(--release)
python_wheel "$CARGO_TARGET_DIR/python-wheels" "${profile[@]}" --features test-hooks

# From a directory where the source tree cannot shadow the installed package.
cd "$B24_ROOT/python/tests"
log "stubtest"
"$VENV_PY" -m mypy.stubtest bitrix24_callback._native
log "mypy --strict (the installed package, stubs included)"
"$VENV_PY" -m mypy --strict --no-incremental -p bitrix24_callback
log "pytest"
"$VENV_PY" -m pytest -p no:cacheprovider "$@"
cd "$B24_ROOT"

[ "${PY_RELEASE:-1}" = 0 ] && exit 0

# 3. The release wheel as shipped: manylinux2014 (glibc 2.17) through zig, stripped, without
# the test hooks; maturin finds zig through the venv's `python -m ziglang`.
dist="$CARGO_TARGET_DIR/python-release-wheel"
rm -rf "$dist"
log "building the release wheel (manylinux2014)"
(cd python && PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" build --release --zig \
    --compatibility manylinux2014 --interpreter "$VENV_PY" --out "$dist")
release=("$dist"/bitrix24_callback-*manylinux_2_17_x86_64*.whl)
[ -f "${release[0]}" ] || die "no manylinux_2_17 wheel was built"
log "auditwheel show ${release[0]##*/}"
shown=$("$VENV/bin/auditwheel" show "${release[0]}")
echo "$shown"
# auditwheel wraps its text at the terminal's width: join the lines first.
tr -s ' \n' '  ' <<<"$shown" | grep -q 'consistent with the following platform tag: "manylinux_2_17_x86_64"' ||
    die "auditwheel does not accept the wheel as manylinux_2_17"
log "wheel: $(stat -c %s "${release[0]}") bytes"

# A fresh venv holding only the wheel and pytest; the test file runs from a temporary
# directory, far from the source tree.
smoke="$CARGO_TARGET_DIR/python-smoke-venv"
rm -rf "$smoke"
log "fresh venv with the release wheel"
"${PYTHON:-python3}" -m venv "$smoke"
"$smoke/bin/python" -m pip install -q --disable-pip-version-check "${release[0]}" "pytest==9.2.0"
outside=$(mktemp -d)
trap 'rm -rf "$outside"' EXIT
cp "$B24_ROOT/python/smoke/test_installed.py" "$outside/"
log "test_installed.py (outside the repository)"
(cd "$outside" && "$smoke/bin/python" -m pytest -p no:cacheprovider -q test_installed.py)

log "load: 10 s at 1,000 calls/s against the testing module's portal"
(cd "$outside" && "$smoke/bin/python" "$B24_ROOT/python/benchmarks/load.py" --seconds 10 --rate 1000 --check)
