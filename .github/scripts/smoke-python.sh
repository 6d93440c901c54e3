#!/bin/sh
# Installs bitrix24-callback from a folder of built wheels into a fresh virtualenv, the way a user
# would (no source tree, no sdist, no network), and uses it from outside any checkout:
#
#   .github/scripts/smoke-python.sh PYTHON DIST_DIR EXPECTED_VERSION
#
# pip picks the wheel whose tags fit this interpreter and platform, so a folder holding the
# whole release set also checks that each platform finds its wheel. POSIX sh: it runs in Alpine
# and manylinux containers as well as on the GitHub runners (Git Bash on Windows).
set -eu
py=$1
dist=$(cd "$2" && pwd)
version=$3
if command -v cygpath >/dev/null 2>&1; then dist=$(cygpath -w "$dist"); fi

work=$(mktemp -d)
"$py" -m venv "$work/venv"
if [ -x "$work/venv/bin/python" ]; then vpy=$work/venv/bin/python; else vpy=$work/venv/Scripts/python.exe; fi
"$vpy" -m pip install --disable-pip-version-check -q --no-index --only-binary :all: \
    --find-links "$dist" bitrix24-callback
cd "$work"
"$vpy" -m pip list --disable-pip-version-check 2>/dev/null | grep -i bitrix24
EXPECTED_VERSION=$version "$vpy" - <<'PY'
import os
import sys

import bitrix24_callback

expected = os.environ["EXPECTED_VERSION"]
if bitrix24_callback.__version__ != expected:
    sys.exit(f"__version__ is {bitrix24_callback.__version__!r}, expected {expected!r}")
print(f"bitrix24_callback {bitrix24_callback.__version__} from {os.path.dirname(bitrix24_callback.__file__)}")
try:
    import bitrix24_callback.testing  # noqa: F401  (the fake portal in the box, issue 14)
except ImportError as e:
    sys.exit(f"bitrix24_callback.testing is not in the wheel: {e}")
print("bitrix24_callback.testing imports")
PY
echo "python smoke: ok"
