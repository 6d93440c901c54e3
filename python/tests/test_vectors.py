"""The shared vectors of tests/vectors (the same cases every language runs)."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

import bitrix24_callback as b
from conftest import VECTORS


def _cases(name: str) -> List[Dict[str, Any]]:
    path = VECTORS / name
    assert path.exists(), f"missing shared vectors {path}"
    return json.loads(path.read_text(encoding="utf-8"))["cases"]


def _ids(cases: List[Dict[str, Any]]) -> List[str]:
    return [c["name"] for c in cases]


def _load(name: str) -> List[Dict[str, Any]]:
    try:
        return _cases(name)
    except AssertionError:
        return [{"name": f"{name} is missing", "missing": True}]


REQUESTS = _load("requests.json")
RESPONSES = _load("responses.json")
EVENTS = _load("events.json")


@pytest.mark.parametrize("case", REQUESTS, ids=_ids(REQUESTS))
def test_request_vectors(case: Dict[str, Any]) -> None:
    assert not case.get("missing"), case["name"]
    given = case["input"]
    kwargs: Dict[str, Any] = {
        "line": given.get("from_line"),
        "to": given.get("to_number"),
        "text": given.get("text"),
        "voice": given.get("voice"),
        "default_region": given.get("default_region"),
    }
    if "allow_unknown_voice" in given:
        kwargs["allow_unknown_voice"] = given["allow_unknown_voice"]
    expect = case["expect"]
    if "wire_body" in expect:
        request = b.build_request(**kwargs)
        assert request.wire_body == expect["wire_body"]
    else:
        with pytest.raises(b.InvalidRequestError) as info:
            b.build_request(**kwargs)
        err = info.value
        assert err.code == "invalid_request" and err.retry_safe
        got = [{"field": v.field, "code": v.code} for v in err.violations]
        assert got == [{"field": v["field"], "code": v["code"]} for v in expect["violations"]]


@pytest.mark.parametrize("case", RESPONSES, ids=_ids(RESPONSES))
def test_response_vectors(case: Dict[str, Any]) -> None:
    assert not case.get("missing"), case["name"]
    err = b.classify_response(case["http_status"], case["body"].encode("utf-8"))
    expect = case["expect"]
    if expect.get("ok"):
        assert err is None
    else:
        assert isinstance(err, b.ERROR_CLASSES[expect["code"]])
        assert err.code == expect["code"]
        assert err.retry_safe is expect["retry_safe"]
        assert err.bitrix_code == expect.get("bitrix_code")
        # a str body is the same as its UTF-8 bytes
        again = b.classify_response(case["http_status"], case["body"])
        assert again is not None and again.code == err.code


def _events() -> Dict[str, Any]:
    path = VECTORS / "events.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@pytest.mark.parametrize("case", EVENTS, ids=_ids(EVENTS))
def test_event_vectors(case: Dict[str, Any]) -> None:
    assert not case.get("missing"), case["name"]
    token = _events()["application_token"]
    expect = case["expect"]
    if "code" in expect:
        with pytest.raises(b.CallbackError) as info:
            b.parse_event(case["body"].encode("utf-8"), token)
        assert info.value.code == expect["code"]
        assert type(info.value) is b.ERROR_CLASSES[expect["code"]]
    else:
        event = b.parse_event(case["body"].encode("utf-8"), token)
        assert event.event == expect["event"]
        assert event.call_id == expect["call_id"]
        if "outcome" in expect:
            got = None if event.outcome is None else event.outcome.value
            assert got == expect["outcome"]
