"""The release wheel as a user gets it: installed into a fresh virtualenv, run from a directory
outside the repository, importing only the installed package and its `testing` module (and
pytest, whose `fake_portal` fixture the package registers).

python/test.sh copies this file to a temporary directory and runs it there.
"""

from __future__ import annotations

import importlib.metadata
import pathlib
import struct
import sys

import pytest

import bitrix24_callback as b
from bitrix24_callback.testing import FakePortal

TEXT = "A visitor asked for a call back"


def test_the_package_is_the_installed_one() -> None:
    package = pathlib.Path(b.__file__).resolve()
    assert pathlib.Path(sys.prefix).resolve() in package.parents, package
    assert not (package.parents[2] / "Cargo.toml").exists(), "imported a source tree"


def test_a_callback_through_the_fixture(fake_portal: FakePortal) -> None:
    with b.Client.from_webhook(fake_portal.webhook_url) as client:
        started = client.start_callback(line="reg1", to="+12025550123", text=TEXT)
    [entry] = fake_portal.ledger()
    assert entry.call_id == started.call_id and entry.line == "reg1"


@pytest.mark.fake_portal(tls=True, stage_ms=20)
def test_https_and_the_outcome_through_the_marker(fake_portal: FakePortal) -> None:
    import asyncio

    async def main() -> b.CallRecord | None:
        async with b.AsyncClient.from_webhook(fake_portal.webhook_url, root_certificates=fake_portal.ca_pem) as client:
            started = await client.start_callback(line="reg1", to="+12025550123", text=TEXT)
            return await client.wait_for_outcome(started.call_id or "", timeout=10)

    record = asyncio.run(main())
    assert record is not None and record.outcome is b.CallOutcome.ANSWERED


def test_faults_and_errors_with_the_context_manager() -> None:
    with FakePortal() as portal:
        portal.add_fault("close_after_execute", method="voximplant.callback.start")
        with b.Client.from_webhook(portal.webhook_url) as client:
            with pytest.raises(b.OutcomeUnknownError) as raised:
                client.start_callback(line="reg1", to="+12025550123", text=TEXT)
        assert raised.value.code == "outcome_unknown" and raised.value.retry_safe is False
        assert len(portal.ledger()) == 1


def test_the_shipped_wheel_has_no_test_hooks() -> None:
    assert b._native._TEST_HOOKS is False
    with FakePortal() as portal:
        with b.Client.from_webhook(portal.webhook_url) as client:
            # in a test build this line panics inside the core; here it is an ordinary start
            with pytest.raises(b.LineNotFoundError):
                client.start_callback(line="test-hook:panic", to="+12025550123", text=TEXT)
        [request] = portal.requests()
        assert request.rest_method == "voximplant.callback.start" and request.status == 400
        assert portal.ledger() == []


def _dist() -> importlib.metadata.Distribution:
    return importlib.metadata.distribution("bitrix24-callback")


def test_metadata_licenses_and_urls() -> None:
    meta = _dist().metadata
    assert meta["License-Expression"] == "MIT OR Apache-2.0"
    assert sorted(meta.get_all("License-File") or []) == ["LICENSE-APACHE", "LICENSE-MIT"]
    files = {str(f) for f in _dist().files or []}
    for name, title in (("LICENSE-MIT", "MIT"), ("LICENSE-APACHE", "Apache License")):
        [path] = [f for f in files if f.endswith(f"licenses/{name}")]
        text = pathlib.Path(str(_dist().locate_file(path))).read_text(encoding="utf-8")
        assert title in text, f"{name} does not look like the {title} license"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Repository", "Issues", "Documentation"} <= set(urls), urls
    entry = [e for e in _dist().entry_points if e.group == "pytest11"]
    assert [e.value for e in entry] == ["bitrix24_callback.pytest_plugin"]


def test_the_wheel_is_manylinux2014_abi3() -> None:
    wheel = _dist().read_text("WHEEL") or ""
    tags = {line.split(": ", 1)[1] for line in wheel.splitlines() if line.startswith("Tag: ")}
    assert "cp39-abi3-manylinux_2_17_x86_64" in tags, tags


def _sections(path: pathlib.Path) -> set[str]:
    """Section names of a 64-bit little-endian ELF file."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx]
    names = data[strtab[4] : strtab[4] + strtab[5]]
    return {names[h[0] : names.index(b"\0", h[0])].decode() for h in headers}


def test_the_extension_is_stripped() -> None:
    [native] = pathlib.Path(b.__file__).parent.glob("_native*.so")
    sections = _sections(native)
    assert ".symtab" not in sections and not any(s.startswith(".debug") for s in sections), sections
