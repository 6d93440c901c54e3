"""Against the fake portal (`b24-callback fake-portal`): results, every error class, OAuth
refresh with `on_tokens`, TLS, rename."""

from __future__ import annotations

import json
import logging
import pickle
import re
import threading
import time
from typing import Any, List

import pytest

import bitrix24_callback as b
from conftest import FakePortal, PythonPortal, fresh_number

TEXT = "A visitor asked for a call back"


def start(client: b.Client, to: str, **kw: Any) -> b.CallbackStarted:
    return client.start_callback(line=kw.pop("line", "reg1"), to=to, text=kw.pop("text", TEXT), **kw)


# ----- results -----


def test_start_callback_returns_a_frozen_result(portal: FakePortal, client: b.Client) -> None:
    number = fresh_number()
    started = start(client, number)
    assert isinstance(started, b.CallbackStarted)
    assert started.call_id and started.call_id.startswith("callback.")
    assert started.deduplicated is False
    assert started.portal_moved_to is None
    assert isinstance(started.timing, b.Timing)
    assert started.timing.attempts == 1
    assert started.timing.total >= 0 and started.timing.limiter_wait >= 0
    with pytest.raises(AttributeError):
        started.call_id = "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(started)) == started
    ledger = portal.ledger()
    assert [c["call_id"] for c in ledger] == [started.call_id]
    assert ledger[0]["number"] == number and ledger[0]["line"] == "reg1"


def test_user_agent_names_the_python_binding(portal: FakePortal, client: b.Client) -> None:
    start(client, fresh_number())
    agents = {r["user_agent"] for r in portal.requests()}
    # what platform.python_version() says, without the binding importing `platform`
    import platform

    assert agents == {f"bitrix24-callback/{b.__version__} (python/{platform.python_version()})"}, agents


def test_user_agent_suffix_follows_the_binding(portal: FakePortal) -> None:
    with b.Client.from_webhook(portal.webhook_url, user_agent_suffix="shop/2.0", number_cooldown=0) as client:
        client.lines()
    agents = [r["user_agent"] or "" for r in portal.requests()]
    # The core formats it: `bitrix24-callback/<version> (python/<version>) <suffix>`.
    assert agents and all(
        re.fullmatch(r"bitrix24-callback/[0-9][^ ]* \(python/3\.[0-9.]+[a-z0-9]*\) shop/2\.0", a) for a in agents
    ), agents


def test_allow_unknown_voice_and_block_costly_numbers_change_what_is_sent(portal: FakePortal) -> None:
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0) as strict:
        with pytest.raises(b.InvalidRequestError):
            strict.start_callback(line="reg1", to=fresh_number(), text=TEXT, voice="klingonmale")
        with pytest.raises(b.DestinationBlockedError):
            strict.start_callback(line="reg1", to="+449098790123", text=TEXT)
    assert portal.requests() == []
    with b.Client.from_webhook(
        portal.webhook_url, allow_unknown_voice=True, block_costly_numbers=False, number_cooldown=0
    ) as lenient:
        lenient.start_callback(line="reg1", to=fresh_number(), text=TEXT, voice="klingonmale")
        lenient.start_callback(line="reg1", to="+449098790123", text=TEXT)
    ledger = portal.ledger()
    assert [c["voice"] for c in ledger][:1] == ["klingonmale"]
    assert ledger[-1]["number"] == "+449098790123"


def test_voice_and_national_numbers(portal: FakePortal) -> None:
    with b.Client.from_webhook(portal.webhook_url, default_region="US", number_cooldown=0) as client:
        started = client.start_callback(line="reg1", to="(201) 555-0123", text=TEXT, voice="ukenglishfemale")
    assert started.call_id
    assert portal.ledger()[0]["number"] == "+12015550123"
    assert portal.ledger()[0]["voice"] == "ukenglishfemale"


def test_idempotency_key_deduplicates(portal: FakePortal, client: b.Client) -> None:
    number = fresh_number()
    first = start(client, number, idempotency_key="form-42")
    second = start(client, number, idempotency_key="form-42")
    assert second.deduplicated is True and first.deduplicated is False
    assert second.call_id == first.call_id
    assert len(portal.ledger()) == 1


def test_lines_and_voices(client: b.Client) -> None:
    lines = client.lines()
    assert all(isinstance(x, b.Line) for x in lines)
    ids = [x.id for x in lines]
    assert "reg1" in ids and ids == sorted(ids)
    # names are served HTML-escaped and come back decoded
    assert not any("&amp;" in x.name or "&lt;" in x.name for x in lines)
    voices = client.voices()
    assert len(voices) == 42 and all(isinstance(v, b.Voice) for v in voices)
    assert {v.id for v in voices} == set(b.KNOWN_VOICES)


@pytest.mark.parametrize(
    "number,outcome,code",
    [
        (None, b.CallOutcome.ANSWERED, "200"),
        ("+12015550101", b.CallOutcome.BUSY, "486"),
        ("+12015550102", b.CallOutcome.NO_ANSWER, "304"),
        ("+12015550103", b.CallOutcome.DECLINED, "603"),
        ("+12015550104", b.CallOutcome.INSUFFICIENT_FUNDS, "402"),
        ("+12015550105", b.CallOutcome.INVALID_NUMBER, "404"),
    ],
)
def test_wait_for_outcome(client: b.Client, number: Any, outcome: b.CallOutcome, code: str) -> None:
    started = start(client, number or fresh_number())
    assert started.call_id
    record = client.wait_for_outcome(started.call_id, timeout=15)
    assert isinstance(record, b.CallRecord)
    assert record.call_id == started.call_id
    assert record.outcome is outcome and record.failed_code == code
    assert client.call_record(started.call_id) == record
    if record.masked_number:
        assert "2015550" not in record.masked_number


def test_call_record_of_an_unknown_call_is_none(client: b.Client) -> None:
    assert client.call_record("callback.00000000000000000000000000000000.1") is None
    assert client.wait_for_outcome("callback.00000000000000000000000000000000.1", timeout=0.3) is None


def test_rest_app_line_has_no_call_id(client: b.Client) -> None:
    started = start(client, fresh_number(), line="REST_APP:1")
    assert started.call_id is None


# ----- every error class -----


def test_invalid_request_sends_nothing(portal: FakePortal, client: b.Client) -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        client.start_callback(line="", to="call me maybe", text="", voice="klingon")
    err = info.value
    assert err.retry_safe and err.code == "invalid_request"
    fields = {v.field for v in err.violations}
    assert {"FROM_LINE", "TO_NUMBER", "TEXT_TO_PRONOUNCE", "VOICE"} <= fields
    assert portal.requests() == []


def test_destination_blocked_by_region(portal: FakePortal) -> None:
    with b.Client.from_webhook(portal.webhook_url, allowed_regions=["DE"]) as client:
        with pytest.raises(b.DestinationBlockedError) as info:
            start(client, fresh_number())
    assert info.value.retry_safe
    assert portal.requests() == []


def test_destination_blocked_by_cooldown(portal: FakePortal) -> None:
    number = fresh_number()
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=60) as client:
        start(client, number)
        with pytest.raises(b.DestinationBlockedError):
            start(client, number)
    assert len(portal.ledger()) == 1


def test_rate_limited(portal: FakePortal) -> None:
    portal.fault("query_limit", times=0)
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, deadline=1.5, timeout=1) as client:
        with pytest.raises(b.RateLimitedError) as info:
            start(client, fresh_number())
    assert info.value.retry_safe
    assert info.value.bitrix_code == "QUERY_LIMIT_EXCEEDED"
    assert portal.ledger() == []


def test_operation_time_limit(portal: FakePortal) -> None:
    portal.fault("operation_time_limit", times=0)
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, deadline=1.5, timeout=1) as client:
        with pytest.raises(b.OperationTimeLimitError) as info:
            start(client, fresh_number())
    assert info.value.http_status == 429 and info.value.retry_safe


def test_auth_failed_with_a_wrong_secret(portal: FakePortal) -> None:
    url = portal.webhook_url.replace("fakewebhooksecret0001", "wrongwebhooksecret01")
    with b.Client.from_webhook(url) as client:
        with pytest.raises(b.AuthFailedError) as info:
            start(client, fresh_number())
    assert info.value.retry_safe
    assert "wrongwebhooksecret01" not in str(info.value) + repr(info.value)


def test_insufficient_scope(portal: FakePortal, client: b.Client) -> None:
    portal.config(webhook_scopes=["crm"])
    with pytest.raises(b.InsufficientScopeError):
        start(client, fresh_number())
    with pytest.raises(b.InsufficientScopeError):
        client.lines()


def test_access_denied(portal: FakePortal, client: b.Client) -> None:
    portal.config(outgoing_call_permission=False)
    with pytest.raises(b.AccessDeniedError) as info:
        start(client, fresh_number())
    assert info.value.bitrix_code == "ACCESS_DENIED"
    assert info.value.http_status == 403


def test_line_not_found(client: b.Client) -> None:
    with pytest.raises(b.LineNotFoundError) as info:
        start(client, fresh_number(), line="no-such-line")
    assert info.value.retry_safe


def test_number_rejected(python_portal: Any) -> None:
    # The fake portal only says this for numbers the client already refuses, so a portal
    # written in Python says it here.
    answer = json.dumps({"error": "ERROR_CORE", "error_description": "Phone number is not correct"})
    portal: PythonPortal = python_portal(lambda path, body: (400, answer))
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0) as client:
        with pytest.raises(b.NumberRejectedError) as info:
            start(client, fresh_number())
    assert info.value.http_status == 400 and info.value.bitrix_code == "ERROR_CORE"


def test_portal_error_on_overload(portal: FakePortal) -> None:
    portal.fault("overload", times=0)
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, deadline=2) as client:
        with pytest.raises(b.PortalError) as info:
            start(client, fresh_number())
    assert info.value.bitrix_code == "OVERLOAD_LIMIT" and info.value.http_status == 503
    assert info.value.retry_safe


def test_transport_error_when_nothing_listens() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with b.Client.from_webhook(f"http://127.0.0.1:{port}/rest/1/abcdefghijklmnop/", deadline=2,
                               connect_timeout=1) as client:
        with pytest.raises(b.TransportError) as info:
            start(client, fresh_number())
        with pytest.raises(b.TransportError):
            client.lines()
    assert info.value.retry_safe


@pytest.mark.parametrize("kind", ["close_after_execute", "html_504", "truncated_json"])
def test_outcome_unknown_is_never_retried(portal: FakePortal, kind: str) -> None:
    portal.fault(kind)
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, timeout=5, deadline=10) as client:
        with pytest.raises(b.OutcomeUnknownError) as info:
            start(client, fresh_number())
    assert info.value.retry_safe is False
    callback_requests = [r for r in portal.requests() if r["rest_method"] == "voximplant.callback.start"]
    assert len(callback_requests) == 1, "an unknown outcome must not be resent"


def test_outcome_unknown_on_controller_failure(portal: FakePortal, client: b.Client) -> None:
    with pytest.raises(b.OutcomeUnknownError):
        start(client, "+12015550106")


def test_timeout_after_send_is_outcome_unknown(portal: FakePortal) -> None:
    portal.fault("delay", delay_ms=3000)
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, timeout=0.5, deadline=5) as client:
        with pytest.raises(b.OutcomeUnknownError):
            start(client, fresh_number())


def test_renamed_portal_is_followed_and_reported(portal: FakePortal, client: b.Client) -> None:
    portal.fault("rename", method=None, times=0)
    started = start(client, fresh_number())
    assert started.call_id
    assert started.portal_moved_to and "localhost" in started.portal_moved_to
    assert len(portal.ledger()) == 1


# ----- OAuth -----


def _oauth(portal: FakePortal, tokens: Any, on_tokens: Any = None, **kw: Any) -> b.Client:
    return b.Client.from_oauth(
        client_id=tokens["client_id"],
        client_secret=tokens["client_secret"],
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        client_endpoint=tokens["client_endpoint"],
        server_endpoint=tokens["server_endpoint"],
        on_tokens=on_tokens,
        number_cooldown=0,
        **kw,
    )


def test_oauth_refresh_hands_the_new_pair_to_on_tokens(portal: FakePortal) -> None:
    tokens = portal.oauth_tokens()
    seen: List[b.TokenPair] = []
    with _oauth(portal, tokens, seen.append) as client:
        start(client, fresh_number())
        assert seen == []
        portal.admin("POST", "oauth/expire", {})
        started = start(client, fresh_number())
    assert started.call_id
    assert len(seen) == 1
    pair = seen[0]
    assert isinstance(pair, b.TokenPair)
    assert pair.access_token != tokens["access_token"] and pair.refresh_token != tokens["refresh_token"]
    assert pair.access_token not in repr(pair) and pair.refresh_token not in repr(pair)
    assert portal.admin("GET", "stats")["refreshes"] == 1


def test_oauth_refresh_happens_once_for_many_threads(portal: FakePortal) -> None:
    tokens = portal.oauth_tokens()
    seen: List[b.TokenPair] = []
    lock = threading.Lock()

    def store(pair: b.TokenPair) -> None:
        with lock:
            seen.append(pair)

    with _oauth(portal, tokens, store) as client:
        portal.admin("POST", "oauth/expire", {})
        errors: List[BaseException] = []

        def work() -> None:
            try:
                start(client, fresh_number())
            except BaseException as e:  # noqa: BLE001 (collected and asserted below)
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert errors == []
    assert len(seen) == 1
    assert portal.admin("GET", "stats")["refreshes"] == 1


def test_on_tokens_raising_fails_the_call_with_auth_failed(portal: FakePortal, caplog: Any) -> None:
    tokens = portal.oauth_tokens()

    seen: List[b.TokenPair] = []

    def broken(pair: b.TokenPair) -> None:
        seen.append(pair)
        raise OSError(f"disk full while saving {pair.access_token} {pair.refresh_token}")

    with _oauth(portal, tokens, broken) as client:
        portal.admin("POST", "oauth/expire", {})
        with caplog.at_level("WARNING", logger="bitrix24_callback"):
            with pytest.raises(b.AuthFailedError) as raised:
                start(client, fresh_number())
    logged = [r for r in caplog.records if "on_tokens raised OSError" in r.getMessage()]
    assert len(logged) == 1
    # ... with where it was raised, to debug the hook ...
    assert "in broken" in logged[0].getMessage()
    # The error and the log name the exception's type only: its message is app text (here: the
    # tokens).
    assert len(seen) == 1
    error_text = str(raised.value) + repr(raised.value)
    assert "OSError" in error_text and "disk full" not in error_text
    log_text = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    for secret in (seen[0].access_token, seen[0].refresh_token):
        assert secret not in error_text + log_text


def test_oauth_with_a_spent_refresh_token_is_auth_failed(portal: FakePortal) -> None:
    tokens = portal.oauth_tokens()
    with _oauth(portal, tokens) as first:
        portal.admin("POST", "oauth/expire", {})
        start(first, fresh_number())  # refreshes, spending the refresh token
    portal.admin("POST", "oauth/expire", {})
    with _oauth(portal, tokens) as stale:
        with pytest.raises(b.AuthFailedError):
            start(stale, fresh_number())


# ----- TLS -----


def test_https_portal_with_an_extra_root_certificate() -> None:
    tls = FakePortal(tls=True, stage_ms=20)
    try:
        assert tls.webhook_url.startswith("https://") and tls.ca_pem
        with b.Client.from_webhook(tls.webhook_url, root_certificates=tls.ca_pem, number_cooldown=0) as client:
            assert start(client, fresh_number()).call_id
            assert client.lines()
        with b.Client.from_webhook(tls.webhook_url, root_certificates=[tls.ca_pem.encode()]) as client:
            assert client.voices()
        with b.Client.from_webhook(tls.webhook_url, deadline=3) as untrusting:
            with pytest.raises(b.TransportError):
                untrusting.lines()
    finally:
        tls.close()


def test_deadline_bounds_a_call(portal: FakePortal) -> None:
    portal.fault("delay", method="voximplant.line.get", delay_ms=5000)
    with b.Client.from_webhook(portal.webhook_url, timeout=1, deadline=1.5) as client:
        t0 = time.monotonic()
        with pytest.raises(b.CallbackError):
            client.lines()
        assert time.monotonic() - t0 < 4
