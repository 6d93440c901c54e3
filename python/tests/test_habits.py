"""Python habits: literal error codes, typed options that mypy checks, a NullHandler,
`outcome_unknown` at WARNING, constructors that say how to build a client, `from_env`, and an
import that loads nothing it does not need."""

from __future__ import annotations

import logging
import pathlib
import subprocess
import sys
import textwrap
import typing
from typing import Any, Dict

import pytest

import bitrix24_callback as b
from conftest import FakePortal, fresh_number

TEXT = "A visitor asked for a call back"


# ----- codes


def test_the_error_code_literal_lists_the_core_codes() -> None:
    assert set(typing.get_args(b.ErrorCode)) == set(b.ERROR_CODES)
    assert len(typing.get_args(b.ErrorCode)) == 13
    for code, cls in b.ERROR_CLASSES.items():
        assert cls.code == code
        # each class narrows `code` to its own literal
        assert typing.get_type_hints(cls)["code"] == typing.Literal[code]


def test_the_base_class_needs_a_code() -> None:
    with pytest.raises(TypeError, match="code="):
        b.CallbackError("no code")
    assert b.CallbackError("x", code="portal_error").code == "portal_error"


# ----- mypy --strict on users' code

GOOD = '''
from typing import Literal, Optional
import asyncio
import bitrix24_callback as b
from bitrix24_callback.testing import FakePortal, LedgerEntry

def codes(e: b.CallbackError) -> str:
    if e.code == "outcome_unknown":
        return "look it up"
    return e.code

def narrowed(e: b.InvalidRequestError) -> Literal["invalid_request"]:
    return e.code

async def main(url: str) -> Optional[b.CallRecord]:
    async with b.AsyncClient.from_webhook(url, default_region="US", number_cooldown=0.5,
                                          rate_limit=(10, 2.0)) as client:
        started = await client.start_callback(line="reg1", to="+12025550123", text="Hi")
        return await client.wait_for_outcome(started.call_id or "", timeout=5)

def sync(portal: FakePortal) -> list[LedgerEntry]:
    with b.Client.from_webhook(portal.webhook_url, allowed_regions=["US"]) as client:
        client.start_callback(line="reg1", to="+12025550123", text="Hi")
    b.Client.from_env(timeout=5)
    b.AsyncClient.from_env(deadline=30)
    return portal.ledger()

with FakePortal(stage_ms=20) as p:
    sync(p)
    asyncio.run(main(p.webhook_url))
'''

BAD = {
    "async_typo": 'b.AsyncClient.from_webhook("u", defualt_region="US")',
    "async_env_typo": 'b.AsyncClient.from_env(dedline=3)',
    "async_type": 'b.AsyncClient.from_webhook("u", number_cooldown="60")',
    "sync_typo": 'b.Client.from_webhook("u", alowed_regions=["US"])',
    "code_typo": 'def f(e: b.CallbackError) -> bool:\n    return e.code == "outcome_unkown"',
    "constructor": 'b.Client("u")',
    "portal_typo": 'FakePortal(stage=20)',
    "fault_typo": 'FakePortal().add_fault("close_after_exec")',
}


def _mypy(tmp_path: pathlib.Path, name: str, code: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / f"{name}.py").write_text(code)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".cache"), f"{name}.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_mypy_strict_accepts_correct_use(tmp_path: pathlib.Path) -> None:
    done = _mypy(tmp_path, "good", GOOD)
    assert done.returncode == 0, done.stdout


def test_mypy_strict_catches_misspelled_options_and_codes(tmp_path: pathlib.Path) -> None:
    header = "import bitrix24_callback as b\nfrom bitrix24_callback.testing import FakePortal\n"
    lines = [header]
    where: Dict[str, int] = {}
    for name, snippet in BAD.items():
        where[name] = sum(part.count("\n") for part in lines) + 1
        lines.append(snippet + "\n")
    done = _mypy(tmp_path, "bad", "".join(lines))
    assert done.returncode == 1, done.stdout
    flagged = {int(line.split(":")[1]) for line in done.stdout.splitlines() if ": error:" in line}
    for name, line in where.items():
        assert line in flagged or line + 1 in flagged, f"mypy missed {name}:\n{done.stdout}"
    assert 'Unexpected keyword argument "defualt_region"' in done.stdout
    assert "Non-overlapping equality check" in done.stdout


# ----- logging


def test_the_package_logger_has_a_null_handler(portal: FakePortal) -> None:
    b.build_request(line="reg1", to=fresh_number(), text=TEXT)
    handlers = logging.getLogger("bitrix24_callback").handlers
    assert sum(isinstance(h, logging.NullHandler) for h in handlers) == 1


QUIET = textwrap.dedent(
    """
    import logging
    import bitrix24_callback as b
    from bitrix24_callback.testing import FakePortal

    warnings = []
    # a filter sees every record the logger handles, without being a handler itself
    logging.getLogger("bitrix24_callback").addFilter(lambda r: warnings.append(r.levelno) or True)
    with FakePortal() as portal:
        portal.add_fault("close_before_execute", method="voximplant.line.get")
        with b.Client.from_webhook(portal.webhook_url) as client:
            try:
                client.lines()  # the connection closed: WARNING records
            except b.OutcomeUnknownError:
                pass
    assert logging.WARNING in warnings, warnings
    print("done")
    """
)


def test_warnings_are_not_printed_when_the_app_configured_no_logging() -> None:
    done = subprocess.run([sys.executable, "-c", QUIET], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert done.stderr == "", done.stderr


def test_outcome_unknown_is_logged_at_warning(portal: FakePortal, client: b.Client, caplog: Any) -> None:
    portal.fault("close_after_execute")
    with caplog.at_level(logging.WARNING, logger="bitrix24_callback"):
        with pytest.raises(b.OutcomeUnknownError):
            client.start_callback(line="reg1", to=fresh_number(), text=TEXT)
    ends = [r for r in caplog.records if "outcome_unknown (retry_safe=false)" in r.getMessage()]
    assert [r.levelno for r in ends] == [logging.WARNING], [(r.levelname, r.getMessage()) for r in caplog.records]
    # other ends of a start stay at INFO
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bitrix24_callback"):
        client.start_callback(line="reg1", to=fresh_number(), text=TEXT)
        with pytest.raises(b.LineNotFoundError):
            client.start_callback(line="nope", to=fresh_number(), text=TEXT)
    starts = [r for r in caplog.records if "voximplant.callback.start to" in r.getMessage()]
    assert len(starts) == 2 and {r.levelno for r in starts} == {logging.INFO}


# ----- constructors


def test_constructors_say_how_to_build_a_client() -> None:
    with pytest.raises(TypeError, match=r"use Client\.from_webhook\(url\), Client\.from_oauth\(\.\.\.\) or Client\.from_env\(\)"):
        b.Client("https://example.bitrix24.com/rest/1/secret/")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"from_webhook"):
        b.Client()
    with pytest.raises(TypeError, match=r"AsyncClient\.from_webhook\(url\)"):
        b.AsyncClient("https://example.bitrix24.com/rest/1/secret/")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"build_request"):
        b.CallbackRequest()


# ----- from_env


def test_from_env_reads_the_command_lines_variables(portal: FakePortal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", portal.webhook_url)
    monkeypatch.setenv("BITRIX24_DEFAULT_REGION", "US")
    monkeypatch.setenv("BITRIX24_NUMBER_COOLDOWN", "0")
    monkeypatch.setenv("BITRIX24_ALLOWED_REGIONS", "US")
    with b.Client.from_env() as client:
        assert client.auth_kind == "webhook"
        number = fresh_number()
        client.start_callback(line="reg1", to=number[2:], text=TEXT)  # national: default region US
        client.start_callback(line="reg1", to=number, text=TEXT)  # no cooldown
        with pytest.raises(b.DestinationBlockedError):
            client.check_callback(line="reg1", to="+442079460000", text=TEXT)
    # a keyword replaces its variable
    with b.Client.from_env(allowed_regions=["GB"], default_region="GB") as client:
        assert client.check_callback(line="reg1", to="020 7946 0000", text=TEXT).region == "GB"
        with pytest.raises(b.DestinationBlockedError):
            client.check_callback(line="reg1", to=fresh_number(), text=TEXT)
    agents = {r["user_agent"] for r in portal.requests()}
    assert all("(python/3." in (a or "") for a in agents), agents


def test_from_env_names_the_variable_at_fault(portal: FakePortal, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BITRIX24_WEBHOOK_URL", "BITRIX24_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(b.InvalidRequestError) as missing:
        b.Client.from_env()
    assert [v.field for v in missing.value.violations] == ["BITRIX24_WEBHOOK_URL"]
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", portal.webhook_url)
    monkeypatch.setenv("BITRIX24_TIMEOUT", "soon")  # not a number
    with pytest.raises(b.InvalidRequestError) as bad:
        b.Client.from_env()
    assert [(v.field, v.code) for v in bad.value.violations] == [("BITRIX24_TIMEOUT", "not_a_number")]
    monkeypatch.setenv("BITRIX24_TIMEOUT", "5")
    monkeypatch.setenv("BITRIX24_NUMBER_COOLDOWN", "-1")  # a number, out of range
    with pytest.raises(b.InvalidRequestError) as bad:
        b.Client.from_env()
    assert [(v.field, v.code) for v in bad.value.violations] == [("BITRIX24_NUMBER_COOLDOWN", "out_of_range")]
    assert portal.info["webhook_secret"] not in str(bad.value) + repr(bad.value)


def test_from_env_with_an_oauth_token_file(
    portal: FakePortal, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    import json

    tokens = portal.oauth_tokens()
    file = tmp_path / "tokens.json"
    file.write_text(json.dumps({"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]}))
    monkeypatch.delenv("BITRIX24_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("BITRIX24_CLIENT_ID", tokens["client_id"])
    monkeypatch.setenv("BITRIX24_CLIENT_SECRET", tokens["client_secret"])
    monkeypatch.setenv("BITRIX24_CLIENT_ENDPOINT", tokens["client_endpoint"])
    monkeypatch.setenv("BITRIX24_SERVER_ENDPOINT", tokens["server_endpoint"])
    monkeypatch.setenv("BITRIX24_TOKEN_FILE", str(file))
    with b.Client.from_env(number_cooldown=0) as client:
        assert client.auth_kind == "oauth"
        portal.admin("POST", "oauth/expire", {})
        assert client.lines()
    saved = json.loads(file.read_text())
    assert saved["refresh_token"] != tokens["refresh_token"]  # the rotated pair was written back


def test_async_client_from_env(portal: FakePortal, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", portal.webhook_url)

    async def main() -> int:
        async with b.AsyncClient.from_env(number_cooldown=0) as client:
            return len(await client.voices())

    assert asyncio.run(main()) == 42


# ----- the import


def test_the_import_loads_only_what_it_needs() -> None:
    code = textwrap.dedent(
        """
        import sys
        import bitrix24_callback
        heavy = ["asyncio", "concurrent.futures", "dataclasses", "logging", "platform", "typing",
                 "enum", "json", "ssl", "datetime"]
        print(",".join(m for m in heavy if m in sys.modules))
        from bitrix24_callback import AsyncClient, CallbackError, CallbackStarted  # on first use
        assert "asyncio" in sys.modules and "dataclasses" in sys.modules
        assert sorted(dir(bitrix24_callback)) == sorted(set(dir(bitrix24_callback)))
        assert set(bitrix24_callback.__all__) <= set(dir(bitrix24_callback))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported at once: {done.stdout.strip()}"


def test_every_public_name_resolves() -> None:
    import importlib

    fresh = importlib.reload(b)
    for name in fresh.__all__:
        assert getattr(fresh, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Clinet'"):
        fresh.Clinet  # type: ignore[attr-defined]
    from bitrix24_callback import testing  # a submodule, not a lazy name

    assert testing.FakePortal
