"""`bitrix24_callback.testing`: the fake portal in this process, its records and faults, and
the `fake_portal` pytest fixture that installing the package registers."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

import bitrix24_callback as b
from bitrix24_callback import testing
from bitrix24_callback.testing import FakePortal

TEXT = "A visitor asked for a call back"


def test_a_call_through_the_context_manager() -> None:
    with FakePortal(stage_ms=20) as portal:
        assert portal.webhook_url.startswith("http://127.0.0.1:") and portal.ca_pem is None
        assert portal.base_url in repr(portal) and "fakewebhooksecret" not in repr(portal)
        with b.Client.from_webhook(portal.webhook_url) as client:
            started = client.start_callback(line="reg1", to="+12025550123", text=TEXT)
            assert started.call_id
            record = client.wait_for_outcome(started.call_id, timeout=10)
        assert record is not None and record.outcome is b.CallOutcome.ANSWERED
        [entry] = portal.ledger()
        assert entry == testing.LedgerEntry(
            call_id=started.call_id,
            line="reg1",
            number="+12025550123",
            text=TEXT,
            voice=None,
            placed_at=entry.placed_at,
            request_number=entry.request_number,
        )
        assert "2025550123" not in repr(entry)
        [call] = portal.calls()
        assert (call.call_id, call.stage, call.outcome) == (started.call_id, "ended", "answered")
        stats = portal.stats()
        assert stats.calls_placed == 1 and stats.callback_requests == 1 and stats.rest_requests >= 2
        first = portal.requests()[0]
        assert first.rest_method == "voximplant.callback.start" and first.status == 200
        assert first.user_agent and first.user_agent.startswith("bitrix24-callback/")
        secret = portal.info()["webhook_secret"]
        assert secret in first.path and secret not in repr(first)
        portal.reset()
        assert portal.ledger() == [] and portal.stats().requests == 0
    assert portal.closed and repr(portal) == "<FakePortal stopped>"
    portal.close()  # twice is harmless
    with pytest.raises(RuntimeError, match="stopped"):
        portal.ledger()


def test_options_reach_the_portal() -> None:
    with FakePortal(
        burst=2, drain_per_second=0, lines={"main": "Main & line"}, webhook_secret="mysecretmysecret01"
    ) as portal:
        assert "mysecretmysecret01" in portal.webhook_url
        with b.Client.from_webhook(portal.webhook_url, rate_limit="off", deadline=1) as client:
            assert [(x.id, x.name) for x in client.lines()] == [("main", "Main & line")]
            client.voices()
            with pytest.raises(b.RateLimitedError):
                client.voices()
        assert portal.stats().rate_limited >= 1
    with pytest.raises(ValueError, match="stage_ms"):
        FakePortal(stage_ms=-1)
    with pytest.raises(ValueError, match="drain_per_second"):
        FakePortal(drain_per_second=float("nan"))


def test_faults() -> None:
    with FakePortal() as portal:
        with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, deadline=2) as client:
            portal.add_fault("close_after_execute", method="voximplant.callback.start")
            with pytest.raises(b.OutcomeUnknownError):
                client.start_callback(line="reg1", to="+12025550123", text=TEXT)
            assert len(portal.ledger()) == 1  # executed, then the connection closed
            portal.add_fault("overload", times=0)
            with pytest.raises(b.PortalError):
                client.lines()
            portal.clear_faults()
            portal.add_fault(
                "respond", method="voximplant.line.get", status=200, body={"result": {"x": "Canned"}}
            )
            assert [(x.id, x.name) for x in client.lines()] == [("x", "Canned")]
            portal.add_fault("html_502", method="voximplant.callback.start")
            with pytest.raises(b.OutcomeUnknownError):  # a proxy's page proves nothing
                client.start_callback(line="reg1", to="+12025550124", text=TEXT)
            assert len(portal.ledger()) == 1  # the portal itself never saw it
            portal.add_fault("operation_time_limit", times=0)
            with pytest.raises(b.OperationTimeLimitError):
                client.voices()
            portal.clear_faults()
            assert client.voices()
        assert portal.stats().faults_applied >= 4
        for bad, match in (
            (dict(kind="nope"), "unknown fault kind"),
            (dict(kind="respond"), "needs status"),
            (dict(kind="respond", status=700), "200..=599"),
            (dict(kind="redirect", status=302), "needs location"),
            (dict(kind="delay", delay_ms=-5), "delay_ms"),
        ):
            with pytest.raises(ValueError, match=match):
                portal.add_fault(**bad)  # type: ignore[arg-type]


def test_oauth_tokens_and_their_expiry() -> None:
    with FakePortal() as portal:
        tokens = portal.issue_tokens()
        assert tokens.access_token not in repr(tokens) and tokens.client_secret not in repr(tokens)
        pairs = []
        with b.Client.from_oauth(
            client_id=tokens.client_id,
            client_secret=tokens.client_secret,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            client_endpoint=tokens.client_endpoint,
            server_endpoint=tokens.server_endpoint,
            on_tokens=pairs.append,
        ) as client:
            assert client.lines()
            portal.expire_access_tokens()
            assert client.lines()
        assert len(pairs) == 1 and portal.stats().refreshes == 1


def test_https_and_its_ca() -> None:
    with FakePortal(tls=True) as portal:
        assert portal.base_url.startswith("https://") and portal.ca_pem
        assert "BEGIN CERTIFICATE" in portal.ca_pem
        with b.Client.from_webhook(portal.webhook_url, root_certificates=portal.ca_pem) as client:
            assert client.voices()
        with b.Client.from_webhook(portal.webhook_url, deadline=3) as untrusting:
            with pytest.raises(b.TransportError):
                untrusting.voices()


def test_events_reach_a_handler_and_parse() -> None:
    import http.server
    import threading

    bodies = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/events"
        with FakePortal(stage_ms=10, event_handler=url) as portal:
            with b.Client.from_webhook(portal.webhook_url) as client:
                started = client.start_callback(line="reg1", to="+12025550123", text=TEXT)
                assert client.wait_for_outcome(started.call_id or "", timeout=10)
            for _ in range(100):
                if len(portal.events()) >= 3:
                    break
                import time

                time.sleep(0.05)
            names = [e.event for e in portal.events()]
            assert names[0] == "ONVOXIMPLANTCALLINIT" and names[-1] == "ONVOXIMPLANTCALLEND"
            end = b.parse_event(bodies[-1], portal.application_token)
            assert end.call_id == started.call_id and end.outcome is b.CallOutcome.ANSWERED
    finally:
        server.shutdown()
        server.server_close()


PLUGIN_TEST = textwrap.dedent(
    """
    import pytest
    from bitrix24_callback import Client

    def test_fixture(fake_portal):
        with Client.from_webhook(fake_portal.webhook_url) as client:
            client.start_callback(line="reg1", to="+12025550123", text="Hi")
        assert len(fake_portal.ledger()) == 1

    @pytest.mark.fake_portal(tls=True, stage_ms=20)
    def test_marker(fake_portal):
        assert fake_portal.base_url.startswith("https://")
        with Client.from_webhook(fake_portal.webhook_url, root_certificates=fake_portal.ca_pem) as client:
            started = client.start_callback(line="reg1", to="+12025550123", text="Hi")
            assert client.wait_for_outcome(started.call_id, timeout=5)

    def test_a_fresh_portal_per_test(fake_portal):
        assert fake_portal.ledger() == []
    """
)


def test_the_pytest_fixture_comes_with_the_package(tmp_path: pathlib.Path) -> None:
    (tmp_path / "test_users.py").write_text(PLUGIN_TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "test_users.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_testing_module_does_not_import_pytest() -> None:
    code = "import sys, bitrix24_callback.testing; print('pytest' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
