"""Secrets and full phone numbers never appear in logs, reprs, messages or tracebacks; the
core's log records reach Python's `logging` under `bitrix24_callback`.

`test_every_error_path_is_clean` drives every path that fails, with the package logger at
DEBUG: each fault of the fake portal on a start and on reads (including answers that echo the
request path, which holds the webhook secret), each policy refusal of the shared vectors and the
memory rules, refresh failures of every kind, an `on_tokens` that raises with the tokens in its
message, `parse_event` failures, an unreachable portal and Redis, and constructors refusing URLs
that hold the secret."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import traceback
from typing import Any, Callable, Dict, Iterable, List

import pytest

import bitrix24_callback as b
from bitrix24_callback.testing import FakePortal as InProcessPortal
from conftest import VECTORS, FakePortal, fresh_number

NUMBER = "+12015550123"
NUMBER_FORMS = ("12015550123", "2015550123", "(201) 555-0123", "201-555-0123", "201 555 0123", "555-0123")
TEXT = "A visitor asked for a call back"


def _secrets(portal: FakePortal, *more: str) -> List[str]:
    info = portal.info
    return [
        info["webhook_secret"],
        info["oauth_client_secret"],
        info["application_token"],
        *more,
    ]


def _assert_clean(text: str, secrets: List[str]) -> None:
    for s in secrets:
        assert s not in text, f"secret {s[:4]}... leaked"
    for n in NUMBER_FORMS:
        assert n not in text, f"full number leaked: {text!r}"


def _everything_logged(caplog: Any) -> str:
    out = []
    handler = logging.Formatter("%(name)s %(levelname)s %(message)s %(pathname)s")
    for r in caplog.records:
        out.append(handler.format(r))
        out.append(repr(r.__dict__))
    return "\n".join(out)


def test_log_records_reach_python_logging(portal: FakePortal, caplog: Any) -> None:
    with caplog.at_level(logging.DEBUG, logger="bitrix24_callback"):
        with b.Client.from_webhook(portal.webhook_url, number_cooldown=0) as client:
            client.start_callback(line="reg1", to=NUMBER, text=TEXT)
    ours = [r for r in caplog.records if r.name == "bitrix24_callback"]
    assert ours, "no record of the core reached logging"
    assert all(getattr(r, "rust_target", "").startswith("callback_core") for r in ours)


def test_level_changes_take_effect_at_the_next_call(portal: FakePortal, caplog: Any) -> None:
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0) as client:
        with caplog.at_level(logging.ERROR, logger="bitrix24_callback"):
            client.start_callback(line="reg1", to=NUMBER, text=TEXT)
        assert [r for r in caplog.records if r.name == "bitrix24_callback" and r.levelno < logging.ERROR] == []
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="bitrix24_callback"):
            client.start_callback(line="reg1", to="+12015550124", text=TEXT)
        assert [r for r in caplog.records if r.name == "bitrix24_callback"]


def test_logs_hold_no_secret_and_no_full_number(portal: FakePortal, caplog: Any) -> None:
    tokens = portal.oauth_tokens()
    secrets = _secrets(portal, tokens["access_token"], tokens["refresh_token"])
    pairs: List[b.TokenPair] = []
    with caplog.at_level(logging.DEBUG):
        with b.Client.from_webhook(portal.webhook_url, number_cooldown=0) as client:
            started = client.start_callback(line="reg1", to=NUMBER, text=TEXT, idempotency_key="k1")
            client.start_callback(line="reg1", to=NUMBER, text=TEXT, idempotency_key="k1")
            assert started.call_id
            client.wait_for_outcome(started.call_id, timeout=10)
            with pytest.raises(b.LineNotFoundError):
                client.start_callback(line="nope", to=NUMBER, text=TEXT)
            portal.fault("close_after_execute")
            with pytest.raises(b.OutcomeUnknownError):
                client.start_callback(line="reg1", to=NUMBER, text=TEXT)
            client.check_callback(line="reg1", to=NUMBER, text=TEXT)
            client.check_callback(line="reg1", to=NUMBER, text=TEXT, idempotency_key="k1")
            with pytest.raises(b.InvalidRequestError):
                client.check_callback(line="reg1", to="+12025550123", text=TEXT, idempotency_key="k1")
            portal.fault("rename", method=None, times=0)
            client.start_callback(line="reg1", to=NUMBER, text=TEXT)
            portal.admin("DELETE", "faults")
        wrong = portal.webhook_url.replace(portal.info["webhook_secret"], "wrongwebhooksecret01")
        with b.Client.from_webhook(wrong) as bad:
            with pytest.raises(b.AuthFailedError):
                bad.start_callback(line="reg1", to=NUMBER, text=TEXT)
        with b.Client.from_oauth(
            client_id=tokens["client_id"],
            client_secret=tokens["client_secret"],
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            client_endpoint=tokens["client_endpoint"],
            server_endpoint=tokens["server_endpoint"],
            on_tokens=pairs.append,
            number_cooldown=0,
        ) as oauth:
            portal.admin("POST", "oauth/expire", {})
            oauth.start_callback(line="reg1", to=NUMBER, text=TEXT)
    assert pairs, "the refresh happened"
    secrets += [pairs[0].access_token, pairs[0].refresh_token, "wrongwebhooksecret01"]
    logged = _everything_logged(caplog)
    assert "bitrix24_callback" in logged
    _assert_clean(logged, secrets)


def test_reprs_messages_and_tracebacks_hold_no_secret(portal: FakePortal) -> None:
    secrets = _secrets(portal)
    texts: List[str] = []
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0) as client:
        texts.append(repr(client))
        started = client.start_callback(line="reg1", to=NUMBER, text=TEXT)
        texts.append(repr(started))
        assert started.call_id
        record = client.wait_for_outcome(started.call_id, timeout=10)
        texts.append(repr(record))
        for bad in (
            dict(line="reg1", to="+1 201 555 0123 ext 9", text=TEXT),
            dict(line="nope", to=NUMBER, text=TEXT),
            dict(line="reg1", to="+12015550123;,#", text=TEXT),
        ):
            with pytest.raises(b.CallbackError) as raised:
                client.start_callback(**bad)
            e = raised.value
            texts += [str(e), repr(e), "".join(traceback.format_exception(type(e), e, e.__traceback__))]
            texts += [repr(v) for v in e.violations]
    texts.append(repr(b.build_request(line="reg1", to=NUMBER, text=TEXT)))
    # Policy refusals of a check and of a start, and the destination a check returns.
    with b.Client.from_webhook(portal.webhook_url, number_hourly_cap=1, blocked_prefixes=["+1201555012"]) as strict:
        for call in (strict.check_callback, strict.start_callback):
            with pytest.raises(b.DestinationBlockedError) as blocked:
                call(line="reg1", to=NUMBER, text=TEXT)
            e = blocked.value
            texts += [str(e), repr(e), "".join(traceback.format_exception(type(e), e, e.__traceback__))]
    with b.Client.from_webhook(portal.webhook_url, number_hourly_cap=1) as capped:
        destination = capped.check_callback(line="reg1", to=NUMBER, text=TEXT)
        assert destination.number == NUMBER
        texts.append(repr(destination))
        capped.start_callback(line="reg1", to=NUMBER, text=TEXT)
        for call in (capped.check_callback, capped.start_callback):
            with pytest.raises(b.DestinationBlockedError) as blocked:
                call(line="reg1", to=NUMBER, text=TEXT)
            e = blocked.value
            texts += [str(e), repr(e), "".join(traceback.format_exception(type(e), e, e.__traceback__))]
    for url in (portal.webhook_url + "extra/parts/", portal.webhook_url.replace("http://", "gopher://")):
        with pytest.raises(b.InvalidRequestError) as raised:
            b.Client.from_webhook(url).close()
        e = raised.value
        texts += [str(e), repr(e), "".join(traceback.format_exception(type(e), e, e.__traceback__))]
    _assert_clean("\n".join(texts), secrets)


def test_token_pair_and_event_reprs_hide_secrets() -> None:
    pair = b.TokenPair(access_token="acc-secret-1", refresh_token="ref-secret-2", expires_in=3600)
    assert "acc-secret-1" not in repr(pair) and "ref-secret-2" not in repr(pair)
    event = b.TelephonyEvent(
        event="ONVOXIMPLANTCALLEND",
        call_id="x",
        outcome=b.CallOutcome.BUSY,
        data={"PHONE_NUMBER": NUMBER},
        member_id="member-secret",
    )
    assert NUMBER not in repr(event) and "member-secret" not in repr(event)


# ----- every error path, at the most verbose level

FAULTS = (
    "delay",
    "close_before_execute",
    "close_after_execute",
    "html_502",
    "html_504",
    "truncated_json",
    "rename",
    "overload",
    "query_limit",
    "operation_time_limit",
    "respond",
    "redirect",
)
#: A portal or proxy that echoes the request path (with the webhook secret in it) back.
ECHO = {"error": "ERROR_CORE", "error_description": "cannot serve {path} for {call_id}"}
REDIS_PASSWORD = "redispassword0001"
# (numbers are named here, never written on a line that a traceback would quote)
REUSED = "+12025550199"
COOLED = "+12025550198"


def _number_pattern(number: str) -> "re.Pattern[str]":
    """`number` in E.164 digits, or its national significant number on its own (not inside a
    longer run of digits), digits possibly split by separators."""
    request = b.build_request(line="l", to=number, text="t", allow_unknown_voice=True)
    sep = r"[\s\-().]*"
    full = sep.join(request.to[1:])
    national = sep.join(request.to[1 + len(str(request.calling_code)) :])
    return re.compile(rf"{full}|(?<!\d){national}(?!\d)")


class Texts:
    """Everything the library showed: log records, messages, reprs, tracebacks."""

    def __init__(self) -> None:
        self.parts: List[str] = []
        self.errors: List[str] = []

    def error(self, e: BaseException) -> None:
        self.errors.append(getattr(e, "code", type(e).__name__))
        self.parts += [str(e), repr(e), "".join(traceback.format_exception(type(e), e, e.__traceback__))]
        for v in getattr(e, "violations", ()):
            self.parts.append(repr(v))

    def raises(self, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except (b.CallbackError, TypeError, ValueError, RuntimeError) as e:
            self.error(e)
        else:
            self.parts.append(repr(result))

    def value(self, *objects: Any) -> None:
        self.parts += [repr(o) for o in objects] + [str(o) for o in objects]


def _check(texts: Iterable[str], secrets: Iterable[str], numbers: Iterable[str]) -> None:
    blob = "\n".join(texts)
    for s in secrets:
        assert s and s not in blob, f"secret {s[:4]}... leaked"
    for n in numbers:
        found = _number_pattern(n).search(blob)
        assert found is None, f"full number {n[:4]}... leaked: ...{blob[max(0, found.start() - 80):found.end() + 20]}..."


def test_every_error_path_is_clean(caplog: Any) -> None:
    texts = Texts()
    secrets: List[str] = [REDIS_PASSWORD]
    numbers: List[str] = [NUMBER]
    with caplog.at_level(logging.DEBUG, logger="bitrix24_callback"):
        assert logging.getLogger("bitrix24_callback").getEffectiveLevel() == logging.DEBUG
        with InProcessPortal(stage_ms=10) as portal:
            info = portal.info()
            secrets += [info["webhook_secret"], info["oauth_client_secret"], info["application_token"]]
            _faults(portal, texts, numbers)
            _policy_refusals(portal, texts, numbers)
            _refresh_failures(portal, texts, secrets)
            _events(portal, texts, info["application_token"], numbers)
            _elsewhere(portal, texts, secrets)
    logged = _everything_logged(caplog)
    assert "outcome_unknown" in logged and "refresh failed" in logged and "on_tokens raised" in logged
    assert "attempt 1" in logged  # the DEBUG records of every request
    # every kind of error was met
    assert {"outcome_unknown", "portal_error", "rate_limited", "operation_time_limit", "auth_failed",
            "destination_blocked", "invalid_request", "transport", "shared_state_unavailable"} <= set(texts.errors)
    _check(texts.parts + [logged], secrets, numbers)


def _faults(portal: InProcessPortal, texts: Texts, numbers: List[str]) -> None:
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, number_hourly_cap=0, rate_limit="off", timeout=0.3,
                               deadline=0.6) as client:
        texts.value(client, b.AsyncClient(client))
        for method in ("voximplant.callback.start", "voximplant.line.get", "voximplant.statistic.get"):
            for kind in FAULTS:
                options: Dict[str, Any] = {}
                if kind == "delay":
                    options["delay_ms"] = 800
                if kind == "respond":
                    options.update(status=400, body=ECHO, execute=True)
                if kind == "redirect":
                    options.update(status=307, location="{scheme}://evil.example:{port}{path}?stolen={path}")
                portal.add_fault(kind, method=method, times=3, **options)  # type: ignore[arg-type]
                if method == "voximplant.callback.start":
                    number = fresh_number()
                    numbers.append(number)
                    texts.raises(lambda: client.start_callback(line="reg1", to=number, text=TEXT))
                elif method == "voximplant.line.get":
                    texts.raises(client.lines)
                else:
                    texts.raises(lambda: client.call_record("callback.00000000000000000000000000000000.1"))
                portal.clear_faults()
        started = client.start_callback(line="reg1", to=NUMBER, text=TEXT)
        texts.value(started, client.wait_for_outcome(started.call_id or "", timeout=10))
        texts.value(*client.lines(), *client.voices()[:3])


def _policy_refusals(portal: InProcessPortal, texts: Texts, numbers: List[str]) -> None:
    cases = json.loads((VECTORS / "policy.json").read_text())["cases"]
    refusals = [c for c in cases if "code" in c["expect"]]
    assert len({c["expect"]["code"] for c in refusals}) >= 12
    for case in refusals:
        numbers.append(case["number"])
        with b.Client.from_webhook(portal.webhook_url, **case["policy"]) as client:
            for call in (client.check_callback, client.start_callback):
                texts.raises(lambda: call(line="reg1", to=case["number"], text=TEXT))
    # the memory rules: cooldown, hourly cap, a reused idempotency key
    with b.Client.from_webhook(portal.webhook_url, number_hourly_cap=1) as client:
        texts.value(client.check_callback(line="reg1", to=NUMBER, text=TEXT))
        client.start_callback(line="reg1", to=NUMBER, text=TEXT, idempotency_key="k-1")
        for call in (client.check_callback, client.start_callback):
            texts.raises(lambda: call(line="reg1", to=NUMBER, text=TEXT))
            texts.raises(lambda: call(line="reg1", to=REUSED, text=TEXT, idempotency_key="k-1"))
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=60, number_hourly_cap=0) as client:
        client.start_callback(line="reg1", to=COOLED, text=TEXT)
        texts.raises(lambda: client.start_callback(line="reg1", to=COOLED, text=TEXT))
    numbers += [REUSED, COOLED]
    # input refusals that quote nothing of the number
    for bad in ("+1 201 555 0123 ext 9", "+12015550123;,#", "12015550123", "+1201555012345678"):
        texts.raises(lambda: b.build_request(line="reg1", to=bad, text=TEXT))


def _refresh_failures(portal: InProcessPortal, texts: Texts, secrets: List[str]) -> None:
    def oauth(tokens: Any, **more: Any) -> b.Client:
        return b.Client.from_oauth(
            client_id=tokens.client_id,
            client_secret=more.pop("client_secret", tokens.client_secret),
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            client_endpoint=tokens.client_endpoint,
            server_endpoint=tokens.server_endpoint,
            timeout=0.5,
            deadline=1,
            **more,
        )

    pairs: List[b.TokenPair] = []
    # the token server failing in each way, and a refresh token already spent
    for kind, options in (
        ("html_502", {}),
        ("close_before_execute", {}),
        ("respond", {"status": 400, "body": {"error": "invalid_grant", "error_description": "{path}"}}),
        ("respond", {"status": 200, "body": "{not json"}),
        ("delay", {"delay_ms": 1500}),
    ):
        tokens = portal.issue_tokens()
        secrets += [tokens.access_token, tokens.refresh_token]
        with oauth(tokens, on_tokens=pairs.append) as client:
            texts.value(client)
            portal.expire_access_tokens()
            portal.add_fault(kind, method="oauth.token", **options)  # type: ignore[arg-type]
            texts.raises(client.lines)
            portal.clear_faults()
            texts.raises(client.lines)  # a second try (refreshes now, or stays refused)
    tokens = portal.issue_tokens()
    secrets += [tokens.access_token, tokens.refresh_token]
    with oauth(tokens, on_tokens=pairs.append) as first, oauth(tokens) as second:
        portal.expire_access_tokens()
        first.lines()  # spends the refresh token
        portal.expire_access_tokens()
        texts.raises(second.lines)  # invalid_grant
    with oauth(portal.issue_tokens(), client_secret="wrongclientsecret01") as wrong:
        portal.expire_access_tokens()
        texts.raises(wrong.lines)  # invalid_client
    secrets.append("wrongclientsecret01")

    # an on_tokens that raises with the tokens in its message
    def leaky(pair: b.TokenPair) -> None:
        raise ValueError(f"duplicate key (token)=({pair.access_token}, {pair.refresh_token})")

    tokens = portal.issue_tokens()
    secrets += [tokens.access_token, tokens.refresh_token]
    with oauth(tokens, on_tokens=leaky) as client:
        portal.expire_access_tokens()
        texts.raises(client.lines)

    async def in_a_loop() -> None:
        tokens = portal.issue_tokens()
        secrets.extend([tokens.access_token, tokens.refresh_token])
        client = b.AsyncClient(oauth(tokens, on_tokens=leaky))
        portal.expire_access_tokens()
        try:
            await client.voices()
        except b.CallbackError as e:
            texts.error(e)
        await client.aclose()

    asyncio.run(in_a_loop())
    assert pairs, "some refresh succeeded"
    for p in pairs:
        secrets += [p.access_token, p.refresh_token]
        texts.value(p)


def _events(portal: InProcessPortal, texts: Texts, application_token: str, numbers: List[str]) -> None:
    number = "+12025550177"
    numbers.append(number)
    good = (
        "event=ONVOXIMPLANTCALLEND&data%5BCALL_ID%5D=c1&data%5BPHONE_NUMBER%5D=%2B12025550177"
        f"&data%5BCALL_FAILED_CODE%5D=200&auth%5Bapplication_token%5D={application_token}"
    )
    texts.value(b.parse_event(good, application_token))
    for body, token in (
        (good, "forged-token"),  # the body's token is right, the expected one wrong
        (good.replace(application_token, application_token[:-1]), application_token),
        (good.replace("event=ONVOXIMPLANTCALLEND&", ""), application_token),
        (good.replace("event=ONVOXIMPLANTCALLEND", "event=%20"), application_token),
        (good + "&data%5BX%5D=%FF%FE", application_token),
        ("", application_token),
        (good.encode() + b"\xff", application_token),
        ("data%5BPHONE_NUMBER%5D=%2B12025550177&" * 2000, application_token),
    ):
        texts.raises(lambda: b.parse_event(body, token))
    for case in json.loads((VECTORS / "events.json").read_text())["cases"]:
        texts.raises(lambda: b.parse_event(case["body"], "forged-token"))


def _elsewhere(portal: InProcessPortal, texts: Texts, secrets: List[str]) -> None:
    secret = portal.info()["webhook_secret"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    # nothing listens there: transport
    with b.Client.from_webhook(f"http://127.0.0.1:{closed_port}/rest/1/{secret}/", deadline=2) as client:
        texts.value(client)
        texts.raises(client.lines)
        texts.raises(lambda: client.start_callback(line="reg1", to=NUMBER, text=TEXT))
    # Redis with a password, unreachable
    redis = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{closed_port}/0"
    with b.Client.from_webhook(portal.webhook_url, shared_state=redis, deadline=2) as client:
        texts.value(client)
        texts.raises(lambda: client.start_callback(line="reg1", to=NUMBER, text=TEXT, idempotency_key="r1"))
    texts.raises(lambda: b.Client.from_webhook(portal.webhook_url, shared_state=f"redis://:{REDIS_PASSWORD}@/x y"))
    # constructors refusing URLs that hold the secret
    for url in (
        portal.webhook_url + "extra/parts/",
        portal.webhook_url.replace("http://", "gopher://"),
        portal.webhook_url.replace("/rest/", "/rust/"),
        f"https://user:{secret}@example.bitrix24.com/rest/1/{secret}/",
    ):
        texts.raises(lambda: b.Client.from_webhook(url))
    texts.raises(
        lambda: b.Client.from_oauth(
            client_id="local.x.1",
            client_secret=secret,
            access_token=secret,
            refresh_token=secret,
            client_endpoint=f"ftp://{secret}.example/rest/",
            server_endpoint="https://oauth.bitrix.info/rest/",
        )
    )
