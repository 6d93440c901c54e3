#!/usr/bin/env bash
# Python suite of bitrix24-callback. Run from anywhere:
#
#   python/test.sh [extra pytest arguments]
#
# Creates (or reuses) a virtualenv ($VENV, default .venv at the repository root), installs the
# pinned build and test tools, builds the wheel with maturin, installs that wheel into the venv,
# then checks the stubs against the compiled module (mypy.stubtest) and runs pytest against the
# installed package. Honours CARGO_TARGET_DIR and B24_CALLBACK_BIN (the CLI that serves the fake
# portal; built when unset) and REDIS_SERVER (the redis-server of the shared_state tests;
# installed from Debian when none is found). Set PY_PROFILE=release for an optimised wheel
# (default: debug, faster to build).
set -euo pipefail
LOG_PREFIX=python
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# maturin builds the wheel, mypy checks the stubs; FastAPI (+ its form parser and test client)
# and Django run the README's examples.
python_venv "maturin==1.16.0" "pytest==9.2.0" "mypy==2.4.1" \
    "fastapi==0.163.2" "python-multipart==0.0.34" "httpx2==2.16.2" "django==5.2.19"
build_cli
need_redis
profile=()
[ "${PY_PROFILE:-debug}" = release ] && profile=(--release)
python_wheel "$CARGO_TARGET_DIR/python-wheels" "${profile[@]}"

# From a directory where the source tree cannot shadow the installed package.
cd "$B24_ROOT/python/tests"
log "stubtest"
"$VENV_PY" -m mypy.stubtest bitrix24_callback._native
log "mypy --strict (the installed package, stubs included)"
"$VENV_PY" -m mypy --strict --no-incremental -p bitrix24_callback
log "pytest"
"$VENV_PY" -m pytest -p no:cacheprovider "$@"
