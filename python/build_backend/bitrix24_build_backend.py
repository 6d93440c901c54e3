"""The package's PEP 517 build backend: maturin, behind a check that Rust is installed.

Building from source (an sdist, or ``pip install ./python`` from a checkout) compiles the
Rust core, which needs ``cargo`` and takes minutes. Without ``cargo`` maturin would download a
Rust toolchain into a temporary directory and compile with it, silently; this backend stops at
once instead and says what to do. The hooks are maturin's own otherwise.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any, List, Mapping, Optional

# Never let maturin fetch a toolchain behind the user's back (it checks this variable).
os.environ.setdefault("MATURIN_NO_INSTALL_RUST", "1")

import maturin  # noqa: E402  (after the variable above)

NO_CARGO = """
bitrix24-callback: pip is building this package from source (no prebuilt wheel of this
version matches this platform and Python), and that needs Rust: `cargo` is not on PATH.

  * Install Rust (https://rustup.rs), then run pip again. Compiling takes a few minutes;
    `pip install -v ...` shows its progress.
  * Or install a prebuilt wheel instead: pip install --only-binary=:all: bitrix24-callback

"""

BUILDING = (
    "bitrix24-callback: compiling the Rust core from source (release build); this takes a "
    "few minutes.\n"
)


def _require_cargo() -> None:
    if shutil.which("cargo") is None:
        sys.stderr.write(NO_CARGO)
        sys.stderr.flush()
        raise SystemExit(1)


def get_requires_for_build_wheel(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _require_cargo()
    return maturin.get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _require_cargo()
    return maturin.get_requires_for_build_editable(config_settings)


def get_requires_for_build_sdist(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _require_cargo()
    return maturin.get_requires_for_build_sdist(config_settings)


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: Optional[Mapping[str, Any]] = None
) -> str:
    _require_cargo()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(
    metadata_directory: str, config_settings: Optional[Mapping[str, Any]] = None
) -> str:
    _require_cargo()
    return maturin.prepare_metadata_for_build_editable(metadata_directory, config_settings)


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _require_cargo()
    sys.stderr.write(BUILDING)
    sys.stderr.flush()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _require_cargo()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory: str, config_settings: Optional[Mapping[str, Any]] = None) -> str:
    _require_cargo()
    return maturin.build_sdist(sdist_directory, config_settings)
