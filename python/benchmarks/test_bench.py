"""pytest-benchmark suite of the Python binding (the installed wheel).

Three groups:
- `validate`: `build_request`, i.e. input checks, E.164 parsing and the wire body;
- `classify`: `classify_response` on a success, an error envelope and an HTML 502 page;
- `roundtrip`: whole `Client.start_callback` / `voices` calls over loopback against a
  `b24-callback fake-portal` subprocess (its limits raised so that it never answers 429/503),
  sequentially from the main thread and from a worker thread, and 32 at once from a thread
  pool.

The `b24-callback` binary is `$B24_CALLBACK_BIN`, else the release then the debug build under
`${CARGO_TARGET_DIR:-target}` at the repository root (benches/run builds the release one).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import resource
import subprocess
import tempfile
import threading
import urllib.request
from typing import Any, Dict, Iterator

import pytest

import bitrix24_callback
from bitrix24_callback import InvalidRequestError, build_request, classify_response

REPO = pathlib.Path(__file__).resolve().parents[2]
# Answered by the fake portal (outside its magic numbers) and a valid NANP fictional number.
NUMBER = "+12015550123"
TEXT = "A visitor asked for a call back"


def _binary() -> pathlib.Path:
    explicit = os.environ.get("B24_CALLBACK_BIN")
    if explicit:
        return pathlib.Path(explicit)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    if not target.is_absolute():
        target = REPO / target
    for profile in ("release", "debug"):
        candidate = target / profile / "b24-callback"
        if candidate.is_file():
            return candidate
    raise RuntimeError("no b24-callback binary: set B24_CALLBACK_BIN or run cargo build -p callback-cli")


class Portal:
    """`b24-callback fake-portal --json` as a subprocess; stops when its stdin closes."""

    def __init__(self) -> None:
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [str(_binary()), "fake-portal", "--json",
             "--burst", "1000000", "--drain", "1000000", "--stage-ms", "3600000"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self._stderr.seek(0)
            raise RuntimeError("fake portal did not start: " + self._stderr.read().decode(errors="replace"))
        info: Dict[str, Any] = json.loads(line)
        self.webhook_url: str = info["webhook_url"]
        self.admin_url: str = info["admin_url"]
        # The default operating budget (480 s per 10 min, 1 s per callback) would answer 429
        # after 480 callbacks: lift it, and make the simulated handler time zero.
        self.admin("POST", "config", {"operating_limit_seconds": 1_000_000_000, "callback_processing_ms": 0})

    def admin(self, method: str, route: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.admin_url.rstrip("/") + "/" + route, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
        return json.loads(text) if text else None

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    p = Portal()
    yield p
    p.close()


@pytest.fixture(scope="module")
def client(portal: Portal) -> Iterator[bitrix24_callback.Client]:
    with bitrix24_callback.Client.from_webhook(
        # One number called over and over: the cooldown and the hourly cap are off.
        portal.webhook_url, rate_limit="off", number_cooldown=0, number_hourly_cap=0, timeout=10, deadline=20
    ) as c:
        yield c


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    # The first validation loads libphonenumber's metadata: keep it out of the measurements.
    build_request(line="reg1", to=NUMBER, text=TEXT)


def _rss_kib() -> int:
    # ru_maxrss is in KiB on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# ----- validation -----


@pytest.mark.benchmark(group="validate")
def test_build_request_e164(benchmark: Any) -> None:
    req = benchmark(build_request, line="reg1", to="+1 201-555-0123", text=TEXT, voice="ukenglishfemale")
    assert req.to == NUMBER


@pytest.mark.benchmark(group="validate")
def test_build_request_national_with_region(benchmark: Any) -> None:
    req = benchmark(build_request, line="reg1", to="(201) 555-0123", text=TEXT, default_region="US")
    assert req.to == NUMBER


@pytest.mark.benchmark(group="validate")
def test_build_request_all_violations(benchmark: Any) -> None:
    def invalid() -> int:
        try:
            build_request(line="reg 1", to="+1 201 555 0123;1", text="", voice="nope")
        except InvalidRequestError as e:
            return len(e.violations)
        raise AssertionError("accepted an invalid request")

    assert benchmark(invalid) >= 3


# ----- classification -----

SUCCESS = json.dumps({
    "result": {"RESULT": True, "CALL_ID": "callback.72f42b118e019a4cc47629ff60525f43.1773736077"},
    "time": {"start": 1773736066, "finish": 1773736067.708955, "duration": 1.7089550495147705,
             "processing": 1, "date_start": "2026-03-17T11:27:46+02:00",
             "date_finish": "2026-03-17T11:27:47+02:00", "operating_reset_at": 1773736666,
             "operating": 0.9574570655822754},
}).encode()
ERROR = b'{"error":"ERROR_CORE","error_description":"Could not find line reg000000"}'
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.mark.benchmark(group="classify")
def test_classify_success(benchmark: Any) -> None:
    assert benchmark(classify_response, 200, SUCCESS) is None


@pytest.mark.benchmark(group="classify")
def test_classify_error_envelope(benchmark: Any) -> None:
    err = benchmark(classify_response, 400, ERROR)
    assert err is not None and err.code == "line_not_found"


@pytest.mark.benchmark(group="classify")
def test_classify_html_502(benchmark: Any) -> None:
    err = benchmark(classify_response, 502, HTML_502)
    assert err is not None and err.code == "outcome_unknown"


# ----- whole calls over loopback -----


@pytest.mark.benchmark(group="roundtrip", min_rounds=200)
def test_start_callback(benchmark: Any, client: bitrix24_callback.Client) -> None:
    started = benchmark(client.start_callback, line="reg1", to=NUMBER, text=TEXT)
    assert started.call_id
    benchmark.extra_info["maxrss_kib"] = _rss_kib()


@pytest.mark.benchmark(group="roundtrip", min_rounds=200)
def test_start_callback_worker_thread(benchmark: Any, client: bitrix24_callback.Client) -> None:
    """The same call made from a thread other than the main one: there the binding runs it
    directly, while on the main thread it hands it to a helper thread (to stay responsive to
    Ctrl-C), which costs a thread start per call."""
    failures: list = []

    def run() -> None:
        try:
            assert benchmark(client.start_callback, line="reg1", to=NUMBER, text=TEXT).call_id
        except BaseException as e:  # re-raised on the test's thread below
            failures.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failures:
        raise failures[0]


@pytest.mark.benchmark(group="roundtrip", min_rounds=200)
def test_voices(benchmark: Any, client: bitrix24_callback.Client) -> None:
    voices = benchmark(client.voices)
    assert len(voices) > 10


@pytest.mark.benchmark(group="roundtrip", min_rounds=20)
def test_start_callback_32_threads(benchmark: Any, client: bitrix24_callback.Client) -> None:
    """32 calls at once from 32 threads; one round = all 32 done (the GIL is released)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:

        def batch() -> int:
            futures = [pool.submit(client.start_callback, line="reg1", to=NUMBER, text=TEXT) for _ in range(32)]
            return sum(1 for f in futures if f.result().call_id)

        assert benchmark(batch) == 32
    benchmark.extra_info["maxrss_kib"] = _rss_kib()
