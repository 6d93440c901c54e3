"""Argument handling: wrong types raise TypeError; None, huge strings and lone surrogates
never crash; every core option is reachable; version; repr."""

from __future__ import annotations

import datetime
import re

import pytest

import bitrix24_callback as b

WEBHOOK = "http://127.0.0.1:9/rest/1/abcdefghijklmnop/"  # never contacted in this file
GOOD = {"line": "reg1", "to": "+12015550123", "text": "A visitor asked for a call back"}


def test_version_comes_from_cargo() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", b.__version__)
    assert b.__version__ == b._native.__version__
    import importlib.metadata

    assert importlib.metadata.version("bitrix24-callback") == b.__version__


def test_public_api_is_curated() -> None:
    for name in b.__all__:
        assert hasattr(b, name), name
    assert "_make_error" not in b.__all__
    assert len(b.KNOWN_VOICES) == 42 and b.MAX_TEXT_CHARS == 1000


def test_build_request_gives_the_wire_body() -> None:
    req = b.build_request(**GOOD)
    assert req.line == "reg1"
    assert req.to == "+12015550123"
    assert req.wire_body.startswith("{") and '"TO_NUMBER":"+12015550123"' in req.wire_body
    assert req.masked_number != req.to and req.masked_number.endswith("23")
    assert "+12015550123" not in repr(req)


@pytest.mark.parametrize("field", ["line", "to", "text", "voice", "idempotency_key"])
@pytest.mark.parametrize("bad", [12, 1.5, b"bytes", ["x"], object()])
def test_request_fields_of_the_wrong_type_raise_type_error(field: str, bad: object) -> None:
    with pytest.raises(TypeError, match=field):
        b.build_request(**{**GOOD, field: bad})


@pytest.mark.parametrize("field", ["line", "to", "text"])
def test_none_for_a_required_field_is_a_violation_not_a_crash(field: str) -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.build_request(**{**GOOD, field: None})
    assert info.value.violations


def test_missing_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        b.build_request(line="reg1", to="+12015550123")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        b.build_request("reg1", "+12015550123", "hi")  # type: ignore[misc]


@pytest.mark.parametrize("field,wire", [("line", "FROM_LINE"), ("to", "TO_NUMBER"), ("text", "TEXT_TO_PRONOUNCE")])
def test_lone_surrogates_are_refused_as_a_violation(field: str, wire: str) -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.build_request(**{**GOOD, field: "abc\ud800def"})
    assert [(v.field, v.code) for v in info.value.violations] == [(wire, "invalid_unicode")]


def test_lone_surrogates_are_reported_with_the_other_violations_in_field_order() -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.build_request(line="", to="\udc00", text="   ", voice="\ud800")
    assert [(v.field, v.code) for v in info.value.violations] == [
        ("FROM_LINE", "required"),
        ("TO_NUMBER", "invalid_unicode"),
        ("TEXT_TO_PRONOUNCE", "required"),
        ("VOICE", "invalid_unicode"),
    ]
    with b.Client.from_webhook(WEBHOOK) as client:
        with pytest.raises(b.InvalidRequestError) as info:
            client.start_callback(line="reg1", to="\udc00", text="hi", idempotency_key="")
    assert [(v.field, v.code) for v in info.value.violations] == [
        ("TO_NUMBER", "invalid_unicode"),
        ("idempotency_key", "empty"),
    ]


def test_huge_strings_are_refused_not_crashed() -> None:
    for field in ("line", "to", "text", "voice", "idempotency_key"):
        with pytest.raises(b.InvalidRequestError):
            b.build_request(**{**GOOD, field: "9" * 5_000_000})


def test_odd_but_valid_unicode_does_not_crash() -> None:
    for text in ("\x00", "\u202e\u200b", "😀" * 10, "\ufeffhello"):
        try:
            b.build_request(**{**GOOD, "text": text})
        except b.InvalidRequestError:
            pass


@pytest.mark.parametrize("bad_status", [-1, 70000, 2**80])
def test_classify_response_status_out_of_range(bad_status: int) -> None:
    with pytest.raises(ValueError):
        b.classify_response(bad_status, b"{}")


def test_classify_response_types() -> None:
    with pytest.raises(TypeError):
        b.classify_response("200", b"{}")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        b.classify_response(True, b"{}")
    with pytest.raises(TypeError):
        b.classify_response(200, None)  # type: ignore[arg-type]
    assert b.classify_response(200, '{"result":{"RESULT":true,"CALL_ID":"x"}}') is None
    err = b.classify_response(200, "\ud800")
    assert err is None or isinstance(err, b.CallbackError)
    huge = b.classify_response(500, b"x" * 20_000_000)
    assert isinstance(huge, b.OutcomeUnknownError)


def test_parse_event_types() -> None:
    with pytest.raises(TypeError):
        b.parse_event(None, "token")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        b.parse_event(b"event=X", None)  # type: ignore[arg-type]
    with pytest.raises(b.CallbackError):
        b.parse_event("\ud800=\udfff", "token")
    with pytest.raises(b.CallbackError):
        b.parse_event(b"\xff\xfe" * 1000, "token")


def test_mask_number() -> None:
    masked = b.mask_number("+12015550123")
    assert masked == "+120******23" and "2015550" not in masked
    with pytest.raises(TypeError):
        b.mask_number(12015550123)  # type: ignore[arg-type]


# ----- client options -----


def test_every_core_option_is_reachable() -> None:
    client = b.Client.from_webhook(
        WEBHOOK,
        connect_timeout=2.5,
        timeout=datetime.timedelta(seconds=5),
        deadline=30,
        rate_limit=(10, 2.5),
        root_certificates=[],
        user_agent_suffix="myapp/1.0",
        default_region="GB",
        allow_unknown_voice=True,
        allowed_regions=["GB", "DE"],
        blocked_regions=("FR",),
        allowed_prefixes=["+44", "+49 30"],
        blocked_prefixes=["+4470"],
        block_costly_numbers=False,
        allowed_number_types=["mobile", "voip"],
        high_risk_regions=[],
        number_cooldown=0,
        number_hourly_cap=10,
        dedupe_window=600.0,
    )
    assert client.auth_kind == "webhook"
    assert client.portal.startswith("http://127.0.0.1:9")
    client.close()
    for preset in ("standard", "enterprise", "off", "Enterprise", "OFF"):
        b.Client.from_webhook(WEBHOOK, rate_limit=preset).close()


def test_custom_rate_limit_values_are_checked_by_the_core() -> None:
    for value in ((0, 1.0), (5, -1.0), (5, 0), (5, float("nan")), (5, float("inf"))):
        with pytest.raises(b.InvalidRequestError) as info:
            b.Client.from_webhook(WEBHOOK, rate_limit=value)
        assert [(v.field, v.code) for v in info.value.violations] == [("rate_limit", "invalid")]


@pytest.mark.parametrize(
    "option,value",
    [
        ("timeout", "10"),
        ("timeout", True),
        ("deadline", [1]),
        ("rate_limit", 5),
        ("rate_limit", (1, 2, 3)),
        ("rate_limit", ("1", 2.0)),
        ("root_certificates", 5),
        ("default_region", 44),
        ("allow_unknown_voice", "yes"),
        ("allowed_regions", "GB"),
        ("allowed_regions", [1, 2]),
        ("block_costly_numbers", 1),
        ("number_cooldown", object()),
        ("user_agent_suffix", b"x"),
    ],
)
def test_wrong_option_types_raise_type_error(option: str, value: object) -> None:
    with pytest.raises(TypeError):
        b.Client.from_webhook(WEBHOOK, **{option: value})


@pytest.mark.parametrize(
    "option,value,code",
    [
        ("timeout", -1, "out_of_range"),
        ("timeout", float("nan"), "out_of_range"),
        ("timeout", 10**400, "out_of_range"),
        ("timeout", datetime.timedelta(seconds=-1), "out_of_range"),
        ("deadline", float("inf"), "out_of_range"),
        ("deadline", 0, "zero"),
        ("connect_timeout", datetime.timedelta(0), "zero"),
        ("rate_limit", "fast", "unknown_preset"),
        ("rate_limit", (0, 1.0), "invalid"),
        ("rate_limit", (5, -1.0), "invalid"),
        ("rate_limit", (2**40, 1.0), "invalid"),
        ("rate_limit", (-(2**2000), 1.0), "invalid"),
        ("dedupe_window", 1e300, "out_of_range"),
        ("number_cooldown", -0.5, "out_of_range"),
        ("default_region", "XX", "unknown_region"),
        ("allowed_regions", ["GB", "ZZ"], "unknown_region"),
        ("user_agent_suffix", "caf\u00e9/1", "invalid_character"),
        ("root_certificates", "not a certificate", "no_certificate"),
    ],
)
def test_bad_option_values_are_refused_by_the_core(option: str, value: object, code: str) -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_webhook(WEBHOOK, **{option: value})
    assert isinstance(info.value, ValueError)
    assert [(v.field, v.code) for v in info.value.violations] == [(option, code)]


def test_every_bad_option_is_reported_at_once() -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_webhook(WEBHOOK, timeout=-1, deadline=0, rate_limit="turbo", default_region="XX")
    assert [(v.field, v.code) for v in info.value.violations] == [
        ("timeout", "out_of_range"),
        ("deadline", "zero"),
        ("rate_limit", "unknown_preset"),
        ("default_region", "unknown_region"),
    ]
    for field in ("timeout", "deadline", "rate_limit", "default_region"):
        assert field in info.value.description
    oauth = dict(
        client_id="local.app.1",
        client_secret="clientsecret-xyz",
        access_token="access-xyz",
        refresh_token="refresh-xyz",
        client_endpoint="http://127.0.0.1:9/rest/",
        server_endpoint="http://127.0.0.1:9/rest/",
    )
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_oauth(**oauth, number_cooldown=float("nan"), rate_limit=(1, 0))
    assert [(v.field, v.code) for v in info.value.violations] == [
        ("rate_limit", "invalid"),
        ("number_cooldown", "out_of_range"),
    ]
    assert "clientsecret-xyz" not in str(info.value) and "access-xyz" not in repr(info.value)


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        b.Client.from_webhook(WEBHOOK, timeuot=3)  # type: ignore[call-arg]


def test_bad_webhook_urls_are_invalid_requests_without_the_secret() -> None:
    for url in ("", "not a url", "ftp://x/rest/1/abcdefghijklmnop/", "http://example.com/rest/1/abcdefghijklmnop/",
                "https://x.bitrix24.com/rest/1/", "\ud800"):
        with pytest.raises((b.InvalidRequestError, ValueError)) as info:
            b.Client.from_webhook(url)
        assert "abcdefghijklmnop" not in str(info.value)
        assert "abcdefghijklmnop" not in repr(info.value)
    with pytest.raises(TypeError):
        b.Client.from_webhook(None)  # type: ignore[arg-type]


def test_oauth_arguments() -> None:
    common = dict(
        client_id="local.app.1",
        client_secret="clientsecret-xyz",
        access_token="access-xyz",
        refresh_token="refresh-xyz",
        client_endpoint="http://127.0.0.1:9/rest/",
        server_endpoint="http://127.0.0.1:9/rest/",
    )
    client = b.Client.from_oauth(**common, on_tokens=lambda pair: None, deadline=5)
    assert client.auth_kind == "oauth"
    for secret in ("clientsecret-xyz", "access-xyz", "refresh-xyz"):
        assert secret not in repr(client)
    with pytest.raises(TypeError):
        b.Client.from_oauth(**common, on_tokens="not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        b.Client.from_oauth(**{**common, "access_token": None})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        b.Client.from_oauth(**{k: v for k, v in common.items() if k != "refresh_token"})  # type: ignore[call-arg]


def test_context_manager_and_close() -> None:
    with b.Client.from_webhook(WEBHOOK) as client:
        assert not client.closed
        assert "abcdefghijklmnop" not in repr(client)
    assert client.closed
    assert "closed" in repr(client)
    with pytest.raises(RuntimeError):
        client.lines()
    with pytest.raises(RuntimeError):
        client.start_callback(**GOOD)
    client.close()  # twice is fine


def test_client_cannot_be_built_directly() -> None:
    with pytest.raises(TypeError):
        b.Client()  # type: ignore[call-arg]


def test_start_callback_argument_types(monkeypatch: pytest.MonkeyPatch) -> None:
    with b.Client.from_webhook(WEBHOOK) as client:
        with pytest.raises(TypeError):
            client.start_callback(**{**GOOD, "to": 12015550123})
        with pytest.raises(TypeError):
            client.start_callback(**GOOD, cancel="no")  # type: ignore[arg-type]
        with pytest.raises(b.InvalidRequestError):
            client.start_callback(**{**GOOD, "to": "\udc00"})
        with pytest.raises(TypeError):
            client.call_record(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            client.wait_for_outcome("x", timeout="1")  # type: ignore[arg-type]
        for bad in (-1, float("nan"), datetime.timedelta(seconds=-1)):
            with pytest.raises(b.InvalidRequestError) as info:
                client.wait_for_outcome("x", timeout=bad)
            assert [(v.field, v.code) for v in info.value.violations] == [("timeout", "out_of_range")]


def test_cancel_token() -> None:
    t = b.CancelToken()
    assert not t.cancelled
    t.cancel()
    assert t.cancelled
    assert "cancelled=true" in repr(t).lower()
