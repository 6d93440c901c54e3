"""Secrets and full phone numbers never appear in logs, reprs, messages or tracebacks; the
core's log records reach Python's `logging` under `bitrix24_callback`."""

from __future__ import annotations

import logging
import traceback
from typing import Any, List

import pytest

import bitrix24_callback as b
from conftest import FakePortal

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
