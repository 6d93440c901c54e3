#!/usr/bin/env python3
"""Checks the Python distributions of a release before they are uploaded.

    python3 .github/scripts/check-python-dists.py DIST_DIR [--version PEP440] [--expect-all]

For every wheel in DIST_DIR:
- the file name: distribution `bitrix24_callback`, the expected version, tag `cp39-abi3` (one
  wheel for CPython 3.9 and later), a platform tag PyPI accepts (no bare `linux_*`);
- the native module `bitrix24_callback/_native.abi3.so` (`_native.pyd` on Windows) and
  `py.typed` are inside;
- `*.dist-info/licenses/LICENSE-MIT` and `LICENSE-APACHE` are inside, byte for byte the files at
  the repository root;
- METADATA: `License-Expression: MIT OR Apache-2.0` (or the older `License:` field with that
  text), a `License-File:` line for each license file, and at least one `Project-URL:`.
For the sdist (`bitrix24_callback-<version>.tar.gz`): PKG-INFO with the same fields, and both
license files at its top level.

--expect-all also requires the whole release set: one sdist and one wheel for each of
manylinux2014 x86_64 and aarch64, musllinux_1_2 x86_64 and aarch64, macOS x86_64 and arm64, and
Windows x86_64. Without it, whatever is in DIST_DIR is checked (a local release candidate holds
only this machine's wheel).

Every problem is reported; the exit status is 1 if there is any.
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIST = "bitrix24_callback"
LICENSE_FILES = ("LICENSE-MIT", "LICENSE-APACHE")
LICENSE_EXPRESSION = "MIT OR Apache-2.0"
WHEEL_NAME = re.compile(
    rf"^{DIST}-(?P<version>[^-]+)-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)
# What --expect-all wants: a description and a pattern on the wheel's platform tag.
EXPECTED_PLATFORMS = [
    ("manylinux2014 x86_64", re.compile(r"(^|\.)manylinux(2014|_2_17)_x86_64(\.|$)")),
    ("manylinux2014 aarch64", re.compile(r"(^|\.)manylinux(2014|_2_17)_aarch64(\.|$)")),
    ("musllinux_1_2 x86_64", re.compile(r"(^|\.)musllinux_1_2_x86_64(\.|$)")),
    ("musllinux_1_2 aarch64", re.compile(r"(^|\.)musllinux_1_2_aarch64(\.|$)")),
    ("macOS x86_64", re.compile(r"^macosx_\d+_\d+_x86_64$")),
    ("macOS arm64", re.compile(r"^macosx_\d+_\d+_arm64$")),
    ("Windows x86_64", re.compile(r"^win_amd64$")),
]


def check_metadata(where: str, text: str, problems: list[str]) -> None:
    meta = HeaderParser().parsestr(text)
    expression = meta.get("License-Expression")
    if expression is None:
        if meta.get("License") != LICENSE_EXPRESSION:
            problems.append(
                f"{where}: no License-Expression (and License is {meta.get('License')!r}); "
                f"expected {LICENSE_EXPRESSION!r}"
            )
    elif expression != LICENSE_EXPRESSION:
        problems.append(f"{where}: License-Expression is {expression!r}, expected {LICENSE_EXPRESSION!r}")
    listed = meta.get_all("License-File") or []
    for name in LICENSE_FILES:
        if name not in listed:
            problems.append(f"{where}: no `License-File: {name}` line")
    if not meta.get_all("Project-URL"):
        problems.append(f"{where}: no Project-URL (PyPI shows no links to the project)")


def check_wheel(path: Path, version: str | None, problems: list[str]) -> str | None:
    m = WHEEL_NAME.match(path.name)
    if not m:
        problems.append(f"{path.name}: not a wheel name of {DIST}")
        return None
    if version and m["version"] != version:
        problems.append(f"{path.name}: version {m['version']}, expected {version}")
    if (m["python"], m["abi"]) != ("cp39", "abi3"):
        problems.append(f"{path.name}: tag {m['python']}-{m['abi']}, expected cp39-abi3")
    platform = m["platform"]
    if re.search(r"(^|\.)linux_", platform):
        problems.append(f"{path.name}: platform tag {platform} (PyPI refuses linux_*; build for manylinux/musllinux)")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        native = [n for n in names if re.fullmatch(rf"{DIST}/_native(\.abi3\.so|\.pyd)", n)]
        if not native:
            problems.append(f"{path.name}: no {DIST}/_native.abi3.so or _native.pyd")
        if f"{DIST}/py.typed" not in names:
            problems.append(f"{path.name}: no {DIST}/py.typed")
        dist_info = f"{DIST}-{m['version']}.dist-info"
        for name in LICENSE_FILES:
            member = f"{dist_info}/licenses/{name}"
            if member not in names:
                problems.append(f"{path.name}: no {member}")
            elif zf.read(member) != (ROOT / name).read_bytes():
                problems.append(f"{path.name}: {member} differs from {name} at the repository root")
        try:
            metadata = zf.read(f"{dist_info}/METADATA").decode("utf-8")
        except KeyError:
            problems.append(f"{path.name}: no {dist_info}/METADATA")
        else:
            check_metadata(path.name, metadata, problems)
        sizes = {n: zf.getinfo(n).file_size for n in native}
    print(f"  {path.name}  {path.stat().st_size:>10} B" + "".join(f"  ({n.split('/')[-1]} {s} B)" for n, s in sizes.items()))
    return platform


def check_sdist(path: Path, version: str | None, problems: list[str]) -> None:
    m = re.fullmatch(rf"{DIST}-(?P<version>.+)\.tar\.gz", path.name)
    if not m:
        problems.append(f"{path.name}: not an sdist name of {DIST}")
        return
    if version and m["version"] != version:
        problems.append(f"{path.name}: version {m['version']}, expected {version}")
    top = f"{DIST}-{m['version']}"
    with tarfile.open(path) as tf:
        names = set(tf.getnames())
        for name in LICENSE_FILES:
            member = f"{top}/{name}"
            if member not in names:
                problems.append(f"{path.name}: no {member}")
            else:
                data = tf.extractfile(member).read()  # type: ignore[union-attr]
                if data != (ROOT / name).read_bytes():
                    problems.append(f"{path.name}: {member} differs from {name} at the repository root")
        if f"{top}/PKG-INFO" not in names:
            problems.append(f"{path.name}: no {top}/PKG-INFO")
        else:
            pkg_info = tf.extractfile(f"{top}/PKG-INFO").read().decode("utf-8")  # type: ignore[union-attr]
            check_metadata(path.name, pkg_info, problems)
    print(f"  {path.name}  {path.stat().st_size:>10} B")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist_dir", type=Path)
    parser.add_argument("--version", help="the expected version, PEP 440 spelling (0.2.0rc1)")
    parser.add_argument("--expect-all", action="store_true", help="require the whole release set")
    args = parser.parse_args()

    problems: list[str] = []
    wheels = sorted(args.dist_dir.glob("*.whl"))
    sdists = sorted(args.dist_dir.glob("*.tar.gz"))
    print(f"{len(wheels)} wheel(s), {len(sdists)} sdist(s) in {args.dist_dir}")
    platforms = [p for p in (check_wheel(w, args.version, problems) for w in wheels) if p]
    for s in sdists:
        check_sdist(s, args.version, problems)

    if args.expect_all:
        for label, pattern in EXPECTED_PLATFORMS:
            found = [p for p in platforms if pattern.search(p)]
            if len(found) != 1:
                problems.append(f"release set: {len(found)} wheel(s) for {label}, expected 1")
        if len(wheels) != len(EXPECTED_PLATFORMS):
            problems.append(f"release set: {len(wheels)} wheels, expected {len(EXPECTED_PLATFORMS)}")
        if len(sdists) != 1:
            problems.append(f"release set: {len(sdists)} sdists, expected 1")
    elif not wheels and not sdists:
        problems.append(f"nothing to check in {args.dist_dir}")

    if problems:
        print(f"\n{len(problems)} distribution problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print("distributions look right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
