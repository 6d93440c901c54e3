"""The README's examples, run as a new user would: the plain script, the FastAPI form handler,
the check of a form and the Django view, against the fake portal; and its list of the
high-risk regions, against the client's behaviour."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from typing import Any, Dict

import pytest

import bitrix24_callback as b
from conftest import REPO, VECTORS, FakePortal, fresh_number

README = REPO / "python" / "README.md"


def _examples() -> Dict[str, str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(# example: (\w+)\n.*?)```", text, flags=re.S)
    return {name: code for code, name in blocks}


def _module(name: str, code: str, monkeypatch: pytest.MonkeyPatch, portal: FakePortal) -> Any:
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", portal.webhook_url)
    module = types.ModuleType(f"readme_{name}")
    exec(compile(code, f"README.md:{name}", "exec"), module.__dict__)
    return module


def test_the_readme_has_the_three_examples() -> None:
    assert {"script", "fastapi", "check", "django"} <= set(_examples())


def test_plain_script(portal: FakePortal) -> None:
    env = dict(os.environ, BITRIX24_WEBHOOK_URL=portal.webhook_url)
    done = subprocess.run(
        [sys.executable, "-c", _examples()["script"]], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "line reg1:" in done.stdout
    assert re.search(r"call id callback\.\w+", done.stdout)
    assert "outcome answered" in done.stdout
    assert len(portal.ledger()) == 1


def test_fastapi_form_handler(portal: FakePortal, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    app = _module("fastapi", _examples()["fastapi"], monkeypatch, portal).app
    with TestClient(app) as http:
        ok = http.post("/call-me-back", data={"phone": "(201) 555-0123", "form_id": "f-1"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["status"] == "calling" and ok.json()["call_id"].startswith("callback.")
        again = http.post("/call-me-back", data={"phone": "(201) 555-0123", "form_id": "f-1"})
        assert again.json()["call_id"] == ok.json()["call_id"]
        bad = http.post("/call-me-back", data={"phone": "call me"})
        assert bad.status_code == 422 and "TO_NUMBER" in bad.json()["fields"]
        abroad = http.post("/call-me-back", data={"phone": "+4930123456789"})
        assert abroad.status_code == 422
        portal.fault("close_after_execute")
        unknown = http.post("/call-me-back", data={"phone": fresh_number()})
        assert unknown.status_code == 202
    assert len(portal.ledger()) == 2


def test_django_view(portal: FakePortal, monkeypatch: pytest.MonkeyPatch) -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], SECRET_KEY="tests-only", USE_TZ=True)
        django.setup()
    from django.test import RequestFactory

    view = _module("django", _examples()["django"], monkeypatch, portal).call_me_back
    factory = RequestFactory()
    ok = view(factory.post("/call-me-back", {"phone": "201-555-0124", "form_id": "d-1"}))
    assert ok.status_code == 200, ok.content
    assert b'"calling"' in ok.content
    missing = view(factory.post("/call-me-back", {}))
    assert missing.status_code == 422 and b"TO_NUMBER" in missing.content
    assert view(factory.get("/call-me-back")).status_code == 405
    assert len(portal.ledger()) == 1


def test_form_check(portal: FakePortal, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    app = _module("check", _examples()["check"], monkeypatch, portal).app
    with TestClient(app) as http:
        ok = http.post("/check-phone", data={"phone": "020 7946 0000"})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"ok": True, "number": b.mask_number("+442079460000"), "type": "fixed_line"}
        reasons = {
            "0909 879 0123": "premium_rate",
            "+1 201 555 0123": "region_not_allowed",
            "+353 1 234 5678": None,
        }
        for phone, reason in reasons.items():
            answer = http.post("/check-phone", data={"phone": phone})
            if reason is None:
                assert answer.status_code == 200 and answer.json()["ok"], answer.text
            else:
                assert answer.status_code == 422 and answer.json()["reason"] == reason, answer.text
        bad = http.post("/check-phone", data={"phone": "call me"})
        assert bad.status_code == 422 and bad.json()["reason"] == "not a phone number"
    assert portal.requests() == []


def test_the_high_risk_regions_listed_are_the_ones_refused() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("(`high_risk_region`):"):text.index("- a number called in the last")]
    listed = set(re.findall(r"\b[A-Z]{2}\b", section))
    assert len(listed) == 47
    # One landline or mobile example of every region: refused as high-risk exactly when listed.
    examples = json.loads((VECTORS / "numbers.json").read_text(encoding="utf-8"))["examples"]
    seen = {}
    for case in examples:
        if case["type"] in ("fixed_line", "mobile", "fixed_line_or_mobile") and case["region"] != "001":
            seen.setdefault(case["region"], case["e164"])
    assert listed <= set(seen)
    with b.Client.from_webhook("http://127.0.0.1:9/rest/1/abcdefghijklmnop/") as client:
        refused = set()
        for region, number in seen.items():
            try:
                client.check_callback(line="reg1", to=number, text="high-risk list")
            except b.DestinationBlockedError as e:
                assert e.violations[0].code == "high_risk_region", (region, e)
                refused.add(region)
    assert refused == listed
