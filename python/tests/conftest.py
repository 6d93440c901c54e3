"""Shared fixtures: the installed package, the fake portal (the package's own
`bitrix24_callback.testing.FakePortal` in this process, driven through its `/_fake/` admin
endpoint) and a tiny portal written in Python that also runs inside this process."""

from __future__ import annotations

import http.server
import json
import pathlib
import threading
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import bitrix24_callback
from bitrix24_callback import testing

REPO = pathlib.Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"
SOURCE_TREE = REPO / "python" / "src"


def pytest_report_header(config: Any) -> str:
    return f"bitrix24_callback {bitrix24_callback.__version__} from {bitrix24_callback.__file__}"


def pytest_sessionstart(session: Any) -> None:
    # The suite tests the installed wheel, never the source tree.
    pkg = pathlib.Path(bitrix24_callback.__file__).resolve()
    assert SOURCE_TREE not in pkg.parents, f"imported the source tree: {pkg}"


# ----- the fake portal (bitrix24_callback.testing, in this process) -----


class FakePortal:
    """The package's own fake portal (`bitrix24_callback.testing.FakePortal`, started in this
    process), driven through its `/_fake/` admin endpoint so that the tests see exactly the
    JSON of the project's other suites."""

    def __init__(self, **options: Any) -> None:
        self.portal = testing.FakePortal(**options)
        self.base_url: str = self.portal.base_url
        self.webhook_url: str = self.portal.webhook_url
        self.admin_url: str = self.portal.admin_url
        self.ca_pem: Optional[str] = self.portal.ca_pem
        self.info: Dict[str, Any] = self.admin("GET", "info")

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.admin_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        ctx = None
        if self.base_url.startswith("https"):
            import ssl

            ctx = ssl.create_default_context(cadata=self.ca_pem)
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            text = resp.read().decode()
        return json.loads(text) if text else None

    # conveniences
    def ledger(self) -> List[Dict[str, Any]]:
        return self.admin("GET", "ledger")["calls"]

    def requests(self) -> List[Dict[str, Any]]:
        return self.admin("GET", "requests")["requests"]

    def fault(self, kind: str, method: Optional[str] = "voximplant.callback.start", times: int = 1,
              delay_ms: int = 0) -> None:
        body: Dict[str, Any] = {"kind": kind, "times": times, "delay_ms": delay_ms}
        if method is not None:
            body["method"] = method
        self.admin("POST", "faults", body)

    def config(self, **changes: Any) -> None:
        self.admin("POST", "config", changes)

    def oauth_tokens(self) -> Dict[str, Any]:
        return self.admin("POST", "oauth/tokens", {})

    def close(self) -> None:
        self.portal.close()


@pytest.fixture(scope="session")
def fake_portal_process() -> Iterator[FakePortal]:
    portal = FakePortal(stage_ms=20)
    original = portal.admin("GET", "config")
    portal.original_config = original  # type: ignore[attr-defined]
    yield portal
    portal.close()


_RESTORABLE = (
    "burst",
    "drain_per_second",
    "webhook_scopes",
    "oauth_scopes",
    "outgoing_call_permission",
    "line_list_permission",
    "empty_error_code",
    "operating_limit_seconds",
    "stage_ms",
)


@pytest.fixture
def portal(fake_portal_process: FakePortal) -> Iterator[FakePortal]:
    """The shared fake portal, reset before each test and its settings restored after."""
    fake_portal_process.admin("POST", "reset", {})
    yield fake_portal_process
    fake_portal_process.admin("DELETE", "faults")
    fake_portal_process.admin("POST", "events", {"handler_url": None})
    cfg = fake_portal_process.original_config  # type: ignore[attr-defined]
    fake_portal_process.config(**{k: cfg[k] for k in _RESTORABLE if k in cfg})


@pytest.fixture
def client(portal: FakePortal) -> Iterator[bitrix24_callback.Client]:
    """A webhook client of the fake portal, with the per-number cooldown off."""
    with bitrix24_callback.Client.from_webhook(
        portal.webhook_url, number_cooldown=0, timeout=10, deadline=20
    ) as c:
        yield c


_counter = [-1]
_counter_lock = threading.Lock()
_AREAS = (202, 212, 213, 312, 415, 617, 646, 718, 917)


def fresh_number() -> str:
    """A number the fake portal answers, valid for libphonenumber: the NANP fictional block
    555-0100 ... 0199 of area codes other than 201 (whose 555-0101 ... 0106 are the fake
    portal's magic numbers); cycles through 900 numbers."""
    with _counter_lock:
        _counter[0] = (_counter[0] + 1) % 900
        n = _counter[0]
    return f"+1{_AREAS[n // 100]}55501{n % 100:02d}"


# ----- a portal written in Python, running in this process -----


Handler = Callable[[str, bytes], Tuple[int, str]]


class PythonPortal:
    """A minimal portal on `http.server` in a thread of this process.

    If a client call held the GIL, this server could not answer it and the call would time
    out: that is what the GIL tests rely on.
    """

    SECRET = "pyportalsecret01"

    def __init__(self, handler: Handler) -> None:
        outer = self
        self.hits: List[Tuple[str, bytes]] = []

        class _H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                outer.hits.append((self.path, body))
                status, text = handler(self.path, body)
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.webhook_url = f"{self.base_url}/rest/1/{self.SECRET}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ok_callback_answer(call_id: str = "callback.0123456789abcdef0123456789abcdef.1") -> str:
    return json.dumps(
        {
            "result": {"RESULT": True, "CALL_ID": call_id},
            "time": {"start": 1, "finish": 1.5, "duration": 0.5, "processing": 0},
        }
    )


@pytest.fixture
def python_portal() -> Iterator[Callable[[Handler], PythonPortal]]:
    started: List[PythonPortal] = []

    def start(handler: Handler) -> PythonPortal:
        p = PythonPortal(handler)
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()
