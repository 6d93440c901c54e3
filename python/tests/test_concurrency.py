"""The GIL is released during network calls; many threads share one client."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Tuple

import bitrix24_callback as b
from conftest import FakePortal, PythonPortal, fresh_number, ok_callback_answer

TEXT = "A visitor asked for a call back"


def _python_portal_answers(path: str, body: bytes) -> Tuple[int, str]:
    if "voximplant.callback.start" in path:
        time.sleep(0.3)  # the portal "thinks"; other Python threads must keep running meanwhile
        return 200, ok_callback_answer()
    if "voximplant.line.get" in path:
        return 200, json.dumps({"result": {"reg1": "Sales &amp; support"}, "time": {}})
    return 404, json.dumps({"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"})


def test_a_python_server_in_this_process_serves_the_call(python_portal: Any) -> None:
    """If start_callback kept the GIL, this in-process server could never answer it."""
    portal: PythonPortal = python_portal(_python_portal_answers)
    ticks: List[float] = []
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, timeout=5, deadline=10) as client:
            t0 = time.monotonic()
            started = client.start_callback(line="reg1", to=fresh_number(), text=TEXT)
            t1 = time.monotonic()
            lines = client.lines()
    finally:
        stop.set()
        ticker.join()
    assert started.call_id == "callback.0123456789abcdef0123456789abcdef.1"
    assert [(x.id, x.name) for x in lines] == [("reg1", "Sales & support")]
    sent = json.loads(portal.hits[0][1])
    assert sent["FROM_LINE"] == "reg1" and sent["TEXT_TO_PRONOUNCE"] == TEXT
    during = [t for t in ticks if t0 < t < t1]
    assert len(during) >= 10, f"the ticking thread ran only {len(during)} times during the call"


def test_events_reach_a_python_handler_while_a_thread_waits_for_the_outcome(portal: FakePortal) -> None:
    """The fake portal POSTs telephony events to a handler in this process while the main
    thread is blocked in wait_for_outcome: only possible with the GIL released."""
    token = portal.info["application_token"]
    received: List[Tuple[float, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((time.monotonic(), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        portal.admin("POST", "events", {"handler_url": f"http://127.0.0.1:{server.server_address[1]}/b24"})
        portal.config(stage_ms=300)
        with b.Client.from_webhook(portal.webhook_url, number_cooldown=0) as client:
            started = client.start_callback(line="reg1", to="+12015550101", text=TEXT)
            assert started.call_id
            record = client.wait_for_outcome(started.call_id, timeout=20)
            returned = time.monotonic()
        # The portal stores the record just before it POSTs ONVOXIMPLANTCALLEND: give the
        # event a moment to arrive.
        until = time.monotonic() + 10
        while b"ONVOXIMPLANTCALLEND" not in b"".join(body for _, body in received) and time.monotonic() < until:
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    assert record is not None and record.outcome is b.CallOutcome.BUSY
    events = [(t, b.parse_event(body, token)) for t, body in received]
    names = [e.event for _, e in events]
    assert "ONVOXIMPLANTCALLINIT" in names
    init_time = next(t for t, e in events if e.event == "ONVOXIMPLANTCALLINIT")
    assert init_time < returned
    assert all(e.call_id == started.call_id for _, e in events)
    ends = [e for _, e in events if e.event == "ONVOXIMPLANTCALLEND"]
    assert len(ends) == 1, names
    assert ends[0].outcome is b.CallOutcome.BUSY
    assert ends[0].data.get("CALL_FAILED_CODE") == "486"
    assert "2015550101" not in repr(ends[0])
    delivered = portal.admin("GET", "events")["events"]
    assert all(d.get("error") in (None, "") for d in delivered), delivered


def test_parse_event_refuses_a_wrong_application_token(portal: FakePortal) -> None:
    body = urllib.parse.urlencode(
        {"event": "ONVOXIMPLANTCALLEND", "data[CALL_ID]": "x", "auth[application_token]": "wrong"}
    ).encode()
    try:
        b.parse_event(body, portal.info["application_token"])
    except b.AuthFailedError as e:
        assert portal.info["application_token"] not in str(e) + repr(e)
    else:
        raise AssertionError("a wrong application token was accepted")


def test_many_threads_share_one_client(portal: FakePortal) -> None:
    results: Dict[int, Any] = {}
    errors: List[BaseException] = []
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, deadline=30) as client:

        def work(i: int) -> None:
            try:
                got = []
                for j in range(5):
                    got.append(client.start_callback(line="reg1", to=fresh_number(), text=f"{TEXT} {i}/{j}"))
                    if j == 2:
                        client.lines()
                results[i] = got
            except BaseException as e:  # noqa: BLE001 (asserted below)
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    ids = [s.call_id for got in results.values() for s in got]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert sorted(c["call_id"] for c in portal.ledger()) == sorted(ids)


def test_threads_racing_on_one_idempotency_key_place_one_call(portal: FakePortal) -> None:
    results: List[Any] = []
    lock = threading.Lock()
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0) as client:
        number = fresh_number()
        barrier = threading.Barrier(6)

        def work() -> None:
            barrier.wait()
            r = client.start_callback(line="reg1", to=number, text=TEXT, idempotency_key="double-click")
            with lock:
                results.append(r)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(results) == 6
    assert len({r.call_id for r in results}) == 1
    assert sum(not r.deduplicated for r in results) == 1
    assert len(portal.ledger()) == 1
