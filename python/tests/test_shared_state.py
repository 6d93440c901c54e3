"""Many workers, one portal: `shared_state` keeps the limiter, idempotency keys, number
cooldowns and the OAuth pair in a real `redis-server`, shared by processes started with
`multiprocessing` (spawn), 4 processes of 8 threads each, against the fake portal."""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import traceback
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import bitrix24_callback as b
from conftest import FakePortal, fresh_number

TEXT = "A visitor asked for a call back"
PROCESSES = 4
THREADS = 8
PASSWORD = "s3cretRedisPw"


# ----- a real redis-server -----


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_binary() -> str:
    explicit = os.environ.get("REDIS_SERVER")
    found = explicit or shutil.which("redis-server")
    if not found:
        pytest.fail(
            "redis-server is not installed: these tests need a real Redis "
            "(Debian: apt-get install redis-server; or set $REDIS_SERVER to its path)",
            pytrace=False,
        )
    return found


class RedisServer:
    """A `redis-server` on a free loopback port whose data (an append-only file) survives
    `stop()` (a kill, as a crash) and `resume()` on the same port."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.binary = _redis_binary()
        self.port = _free_port()
        self.dir = directory
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.resume()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def resume(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        until = time.monotonic() + 10
        while not self._answers_ping():
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited with status {self.process.returncode}", pytrace=False)
            if time.monotonic() > until:
                pytest.fail("redis-server did not answer PING within 10 s", pytrace=False)
            time.sleep(0.02)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis(tmp_path: pathlib.Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.stop()


# ----- many processes -----


def _in_processes(specs: List[Dict[str, Any]], between: Any = None) -> List[Dict[str, Any]]:
    # A spawned process imports its target by name: make this directory importable to it.
    here = str(pathlib.Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import shared_workers

    return shared_workers.run_in_processes(specs, between)


def _outcomes(reports: List[Dict[str, Any]]) -> List[Any]:
    out = [o for r in reports for o in r["outcomes"]]
    assert len(out) == PROCESSES * THREADS and None not in out, out
    return out


def _webhook_specs(portal: FakePortal, redis: RedisServer, calls: List[List[Tuple[str, Optional[str]]]],
                   **options: Any) -> List[Dict[str, Any]]:
    options = {"shared_state": redis.url, "timeout": 10, "deadline": 30, **options}
    return [{"webhook_url": portal.webhook_url, "options": options, "calls": c} for c in calls]


# ----- across processes -----


def test_one_key_from_every_process_places_one_call(portal: FakePortal, redis: RedisServer) -> None:
    number = fresh_number()
    calls = [[(number, "form-shared")] * THREADS for _ in range(PROCESSES)]
    outcomes = _outcomes(_in_processes(_webhook_specs(portal, redis, calls)))
    assert all(o[0] == "ok" for o in outcomes), outcomes
    assert sum(1 for o in outcomes if not o[1]) == 1, "exactly one start was new"
    assert sum(1 for o in outcomes if o[1]) == PROCESSES * THREADS - 1
    assert len({o[2] for o in outcomes}) == 1, "every replay carries the first call's id"
    assert len(portal.ledger()) == 1


def test_one_number_under_many_keys_places_one_call(portal: FakePortal, redis: RedisServer) -> None:
    number = fresh_number()
    calls = [[(number, f"form-{p}-{t}") for t in range(THREADS)] for p in range(PROCESSES)]
    outcomes = _outcomes(_in_processes(_webhook_specs(portal, redis, calls)))
    ok = [o for o in outcomes if o[0] == "ok"]
    refused = [o for o in outcomes if o[0] == "error"]
    assert len(ok) == 1 and not ok[0][1], outcomes
    assert [(o[1], o[2]) for o in refused] == [("destination_blocked", ["cooldown"])] * (PROCESSES * THREADS - 1)
    assert len(portal.ledger()) == 1


def test_one_bucket_paces_every_process(portal: FakePortal, redis: RedisServer) -> None:
    portal.config(burst=10, drain_per_second=10.0)
    numbers = [fresh_number() for _ in range(PROCESSES * THREADS)]
    calls = [[(n, None) for n in numbers[p * THREADS:(p + 1) * THREADS]] for p in range(PROCESSES)]
    outcomes = _outcomes(_in_processes(_webhook_specs(portal, redis, calls, rate_limit=(10, 10.0))))
    unpaced = [o for o in outcomes if o[0] != "ok" or o[3] != 1]
    assert unpaced == [], "every call paced, none refused or retried"
    assert portal.admin("GET", "stats")["rate_limited"] == 0, "the portal's bucket never overflowed"
    assert len(portal.ledger()) == PROCESSES * THREADS
    elapsed = max(o[5] for o in outcomes) - min(o[4] for o in outcomes)
    # The client keeps one slot of 10 free: 9 go at once, the other 23 one per 1/(10 * 0.98) s
    # (the 10 ms are the schedule's microsecond rounding).
    floor = 23 / (10 * 0.98)
    assert elapsed >= floor - 0.01, f"{elapsed:.3f} s < {floor:.3f} s: the processes did not share one bucket"
    assert elapsed < floor + 5, f"{elapsed:.3f} s: far slower than the bucket allows"


def test_one_oauth_pair_is_refreshed_once_for_every_process(portal: FakePortal, redis: RedisServer) -> None:
    # 36 calls and the resends after the expiry: a bucket wide enough not to pace them.
    portal.config(burst=200, drain_per_second=100.0)
    tokens = portal.oauth_tokens()
    oauth = {k: tokens[k] for k in ("client_id", "client_secret", "access_token", "refresh_token",
                                    "client_endpoint", "server_endpoint")}
    options = {"shared_state": redis.url, "rate_limit": (200, 100.0), "number_cooldown": 0,
               "timeout": 10, "deadline": 30}
    specs = [
        {
            "oauth": oauth,
            "options": options,
            # Every process uses (and so shares) the pair before it expires.
            "warm_up": [fresh_number()],
            "calls": [(fresh_number(), None) for _ in range(THREADS)],
        }
        for _ in range(PROCESSES)
    ]
    reports = _in_processes(specs, between=lambda: portal.admin("POST", "oauth/expire", {}))
    outcomes = _outcomes(reports)
    assert all(o[0] == "ok" for o in outcomes), outcomes
    assert portal.admin("GET", "stats")["refreshes"] == 1, "exactly one refresh at the portal"
    assert sum(r["rotated"] for r in reports) == 1, "on_tokens ran once, in the process that refreshed"
    assert len(portal.ledger()) == PROCESSES + PROCESSES * THREADS


# ----- one process -----


def _start(client: b.Client, number: str, key: Optional[str] = None) -> b.CallbackStarted:
    return client.start_callback(line="reg1", to=number, text=TEXT, idempotency_key=key)


def test_redis_down_refuses_before_sending_then_service_resumes(portal: FakePortal, redis: RedisServer) -> None:
    first, second, third = fresh_number(), fresh_number(), fresh_number()
    with b.Client.from_webhook(portal.webhook_url, shared_state=redis.url, timeout=10, deadline=20) as client:
        placed = _start(client, first, "form-a")
        redis.stop()
        sent_before = len(portal.requests())
        for number, key in ((second, "form-b"), (third, None), (first, "form-a")):
            with pytest.raises(b.SharedStateUnavailableError) as info:
                _start(client, number, key)
            err = info.value
            assert err.code == "shared_state_unavailable" and err.retry_safe is True, repr(err)
            assert "nothing was sent" in err.description, repr(err)
        with pytest.raises(b.SharedStateUnavailableError):
            client.check_callback(line="reg1", to=second, text=TEXT, idempotency_key="form-b")
        assert len(portal.requests()) == sent_before, "nothing reached the portal"
        redis.resume()
        again = _start(client, first, "form-a")
        assert again.deduplicated and again.call_id == placed.call_id, "the key outlived the restart"
        assert not _start(client, second, "form-b").deduplicated
    assert len(portal.ledger()) == 2


def test_separate_clients_share_keys_through_redis_and_prefixes_separate_them(
    portal: FakePortal, redis: RedisServer
) -> None:
    number = fresh_number()
    with b.Client.from_webhook(portal.webhook_url, shared_state=redis.url) as one, \
            b.Client.from_webhook(portal.webhook_url, shared_state=redis.url) as two, \
            b.Client.from_webhook(portal.webhook_url, shared_state=redis.url,
                                  shared_state_prefix="elsewhere:") as other:
        assert not _start(one, number, "form-1").deduplicated
        assert _start(two, number, "form-1").deduplicated
        assert not _start(other, number, "form-1").deduplicated, "another prefix, other state"
    assert len(portal.ledger()) == 2


def test_the_async_client_takes_the_shared_state(portal: FakePortal, redis: RedisServer) -> None:
    number = fresh_number()

    async def main() -> Tuple[bool, bool]:
        async with b.AsyncClient.from_webhook(portal.webhook_url, shared_state=redis.url) as one, \
                b.AsyncClient.from_webhook(portal.webhook_url, shared_state=redis.url) as two:
            s1 = await one.start_callback(line="reg1", to=number, text=TEXT, idempotency_key="form-x")
            s2 = await two.start_callback(line="reg1", to=number, text=TEXT, idempotency_key="form-x")
            return s1.deduplicated, s2.deduplicated

    assert asyncio.run(main()) == (False, True)
    assert len(portal.ledger()) == 1


# ----- the options themselves -----


@pytest.mark.parametrize("url", ["http://x", f"redis://:{PASSWORD}@[bad", PASSWORD, ""])
def test_a_bad_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_webhook("http://127.0.0.1:9/rest/1/abcdefghijklmnop/", shared_state=url)
    err = info.value
    assert [(v.field, v.code) for v in err.violations] == [("shared_state", "invalid_url")]
    for text in (str(err), repr(err), *(v.message for v in err.violations)):
        assert PASSWORD not in text, text


def test_a_password_never_shows(portal: FakePortal, redis: RedisServer, caplog: Any) -> None:
    closed = _free_port()
    urls = [
        f"redis://:{PASSWORD}@127.0.0.1:{closed}/0",  # nobody listens
        f"redis://:{PASSWORD}@127.0.0.1:{redis.port}/0",  # Redis has no password: AUTH fails
    ]
    with caplog.at_level(logging.DEBUG, logger="bitrix24_callback"):
        for url in urls:
            with b.Client.from_webhook(portal.webhook_url, shared_state=url, timeout=5, deadline=5) as client:
                assert PASSWORD not in repr(client)
                with pytest.raises(b.SharedStateUnavailableError) as info:
                    _start(client, fresh_number(), "form-p")
                err = info.value
                shown = "".join(traceback.format_exception(type(err), err, err.__traceback__))
                for text in (str(err), repr(err), shown):
                    assert PASSWORD not in text, text
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert PASSWORD not in logged
    assert portal.requests() == [], "refused before anything was sent"


@pytest.mark.parametrize("option", ["shared_state", "shared_state_prefix"])
@pytest.mark.parametrize("value", [6379, b"redis://127.0.0.1", ["redis://127.0.0.1"]])
def test_wrong_option_types_raise_type_error(option: str, value: object) -> None:
    with pytest.raises(TypeError):
        b.Client.from_webhook("http://127.0.0.1:9/rest/1/abcdefghijklmnop/", **{option: value})


def test_a_bad_prefix_is_the_cores_violation() -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_webhook("http://127.0.0.1:9/rest/1/abcdefghijklmnop/",
                              shared_state="redis://127.0.0.1:1/0", shared_state_prefix="bad\nprefix")
    assert [(v.field, v.code) for v in info.value.violations] == [("shared_state_prefix", "invalid_character")]
