#!/usr/bin/env python3
"""Checks that every version number of a release agrees, before anything is built or published.

    python3 .github/scripts/check-versions.py [--tag vX.Y.Z] [--github-output FILE]

The one hand-edited number is `[workspace.package] version` in Cargo.toml. This script checks
that everything else follows it:

- the version has a form all three ecosystems read the same way: X.Y.Z or X.Y.Z-(alpha|beta|rc).N
  (Cargo and npm take it as is, PEP 440 as X.Y.ZaN / bN / rcN, which is what maturin and the
  Python module's `__version__` write);
- every workspace member inherits it (`version.workspace = true`) or states the same number, and
  is not published to crates.io (`publish = false`, directly or through the workspace);
- the path dependencies in `[workspace.dependencies]` require exactly that version;
- Cargo.lock records that version for every workspace package;
- python/pyproject.toml takes its version from Cargo (`dynamic = ["version"]`, no `version`);
- node/package.json and node/package-lock.json carry the same version, and so do the
  per-platform packages in `optionalDependencies` when they are listed there;
- with --tag (or on a tag push in GitHub Actions, from GITHUB_REF_NAME), the tag is v<version>.

Every disagreement is reported, not only the first; the exit status is 1 if there is any.
With --github-output (GitHub Actions passes $GITHUB_OUTPUT) it appends version=, pep440=,
prerelease= and npm_dist_tag= lines for later jobs.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION_FORM = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-(alpha|beta|rc)\.(\d+))?$")
PEP440_PRE = {"alpha": "a", "beta": "b", "rc": "rc"}


def pep440(version: str) -> str:
    """The PEP 440 spelling of a version of the checked form (0.2.0-rc.1 -> 0.2.0rc1)."""
    m = VERSION_FORM.match(version)
    if not m or not m.group(4):
        return version
    return f"{m.group(1)}.{m.group(2)}.{m.group(3)}{PEP440_PRE[m.group(4)]}{m.group(5)}"


def load_toml(path: Path) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="the release tag to check (default: GITHUB_REF_NAME on a tag push)")
    parser.add_argument("--github-output", help="append version=, pep440=, prerelease=, npm_dist_tag= here")
    args = parser.parse_args()

    problems: list[str] = []
    workspace = load_toml(ROOT / "Cargo.toml")
    ws = workspace.get("workspace", {})
    ws_package = ws.get("package", {})
    version = ws_package.get("version")
    if not isinstance(version, str):
        print("Cargo.toml: [workspace.package] version is missing", file=sys.stderr)
        return 1
    if not VERSION_FORM.match(version):
        problems.append(
            f"Cargo.toml: version {version!r} is not X.Y.Z or X.Y.Z-(alpha|beta|rc).N "
            "(other pre-release forms are read differently by Cargo, npm and PEP 440)"
        )
    ws_publish = ws_package.get("publish", True)

    # Workspace members: version and publish.
    members: list[Path] = []
    for pattern in ws.get("members", []):
        for d in sorted(glob.glob(str(ROOT / pattern))):
            if (Path(d) / "Cargo.toml").is_file():
                members.append(Path(d) / "Cargo.toml")
    member_names: dict[str, Path] = {}
    for manifest in members:
        package = load_toml(manifest).get("package", {})
        name = package.get("name", "?")
        member_names[name] = manifest
        v = package.get("version")
        if isinstance(v, dict):
            if v.get("workspace") is not True:
                problems.append(f"{rel(manifest)}: version must be `version.workspace = true`")
        elif v != version:
            problems.append(f"{rel(manifest)}: version {v!r}, the workspace says {version!r}")
        publish = package.get("publish", True)
        if isinstance(publish, dict) and publish.get("workspace") is True:
            publish = ws_publish
        if publish is not False:
            problems.append(
                f"{rel(manifest)}: crate {name} may be published to crates.io "
                "(the release publishes no crate: set publish = false or publish.workspace = true)"
            )

    # Path dependencies shared through [workspace.dependencies].
    for dep, spec in ws.get("dependencies", {}).items():
        if isinstance(spec, dict) and "path" in spec and "version" in spec:
            if spec["version"].lstrip("=^~ ") != version:
                problems.append(
                    f"Cargo.toml: [workspace.dependencies] {dep} requires {spec['version']!r}, "
                    f"the workspace version is {version!r}"
                )

    # Cargo.lock: workspace packages have no `source`.
    lock_path = ROOT / "Cargo.lock"
    if lock_path.is_file():
        lock = load_toml(lock_path)
        locked = {p["name"]: p["version"] for p in lock.get("package", []) if "source" not in p}
        for name in member_names:
            if name not in locked:
                problems.append(f"Cargo.lock: no entry for workspace crate {name} (run cargo update -w)")
            elif locked[name] != version:
                problems.append(
                    f"Cargo.lock: {name} is {locked[name]!r}, the workspace says {version!r} "
                    "(run cargo update -w)"
                )
    else:
        problems.append("Cargo.lock is missing (release builds use --locked)")

    # Python: dynamic version from Cargo.
    pyproject_path = ROOT / "python" / "pyproject.toml"
    pyproject = load_toml(pyproject_path)
    project = pyproject.get("project", {})
    if "version" in project:
        problems.append(
            f"{rel(pyproject_path)}: [project] version {project['version']!r} is set by hand; "
            "use dynamic = [\"version\"] so maturin takes it from Cargo"
        )
    if "version" not in project.get("dynamic", []):
        problems.append(f"{rel(pyproject_path)}: \"version\" is not in [project] dynamic")
    manifest_path = pyproject.get("tool", {}).get("maturin", {}).get("manifest-path")
    if manifest_path:
        crate_manifest = (pyproject_path.parent / manifest_path).resolve()
        if crate_manifest not in [m.resolve() for m in members]:
            problems.append(
                f"{rel(pyproject_path)}: manifest-path {manifest_path} is not a workspace member"
            )

    # Node: package.json, package-lock.json, per-platform optional dependencies.
    package_json_path = ROOT / "node" / "package.json"
    package_json = json.loads(package_json_path.read_text(encoding="utf-8"))
    npm_name = package_json.get("name", "")
    if package_json.get("version") != version:
        problems.append(
            f"{rel(package_json_path)}: version {package_json.get('version')!r}, "
            f"the workspace says {version!r}"
        )
    for dep, v in package_json.get("optionalDependencies", {}).items():
        if dep.startswith(npm_name + "-") and v != version:
            problems.append(
                f"{rel(package_json_path)}: optionalDependencies {dep} is {v!r}, "
                f"the workspace says {version!r}"
            )
    lock_json_path = ROOT / "node" / "package-lock.json"
    if lock_json_path.is_file():
        lock_json = json.loads(lock_json_path.read_text(encoding="utf-8"))
        for where, v in (
            ("version", lock_json.get("version")),
            ('packages[""].version', lock_json.get("packages", {}).get("", {}).get("version")),
        ):
            if v != version:
                problems.append(
                    f"{rel(lock_json_path)}: {where} is {v!r}, the workspace says {version!r} "
                    "(run npm install --package-lock-only in node/)"
                )

    # The tag.
    tag = args.tag
    if tag is None and os.environ.get("GITHUB_REF_TYPE") == "tag":
        tag = os.environ.get("GITHUB_REF_NAME")
    if tag is not None and tag != f"v{version}":
        problems.append(f"tag {tag!r} does not name the workspace version (expected 'v{version}')")

    prerelease = bool(VERSION_FORM.match(version) and VERSION_FORM.match(version).group(4))
    print(f"workspace version  {version}")
    print(f"Python (PEP 440)   {pep440(version)}")
    print(f"npm                {package_json.get('version')} (dist-tag {'next' if prerelease else 'latest'})")
    print(f"crates checked     {', '.join(sorted(member_names))}")
    if tag is not None:
        print(f"tag                {tag}")

    if args.github_output:
        with open(args.github_output, "a", encoding="utf-8") as out:
            out.write(f"version={version}\n")
            out.write(f"pep440={pep440(version)}\n")
            out.write(f"prerelease={'true' if prerelease else 'false'}\n")
            out.write(f"npm_dist_tag={'next' if prerelease else 'latest'}\n")

    if problems:
        print(f"\n{len(problems)} version problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print("versions agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
