"""The README's examples, run as a new user would: the plain script, the FastAPI form handler
and the Django view, against the fake portal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from typing import Any, Dict

import pytest

from conftest import REPO, FakePortal, fresh_number

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
    assert {"script", "fastapi", "django"} <= set(_examples())


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
