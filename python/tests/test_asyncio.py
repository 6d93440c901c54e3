"""AsyncClient: awaitable calls that never block the event loop."""

from __future__ import annotations

import asyncio
import time
from typing import Any, List

import pytest

import bitrix24_callback as b
from conftest import FakePortal, fresh_number

TEXT = "A visitor asked for a call back"


async def _ticker(ticks: List[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        ticks.append(time.monotonic())
        await asyncio.sleep(0.01)


def test_the_loop_keeps_ticking_during_a_call(portal: FakePortal) -> None:
    portal.fault("delay", delay_ms=500)

    async def main() -> Any:
        ticks: List[float] = []
        stop = asyncio.Event()
        task = asyncio.ensure_future(_ticker(ticks, stop))
        async with b.AsyncClient.from_webhook(portal.webhook_url, number_cooldown=0) as client:
            t0 = time.monotonic()
            started = await client.start_callback(line="reg1", to=fresh_number(), text=TEXT)
            t1 = time.monotonic()
        stop.set()
        await task
        return started, [t for t in ticks if t0 < t < t1], t1 - t0

    started, during, took = asyncio.run(main())
    assert started.call_id
    assert took >= 0.45
    assert len(during) >= 20, f"the loop ticked only {len(during)} times in {took:.2f} s"


def test_concurrent_awaits(portal: FakePortal) -> None:
    async def main() -> Any:
        async with b.AsyncClient.from_webhook(portal.webhook_url, number_cooldown=0) as client:
            started = await asyncio.gather(
                *(client.start_callback(line="reg1", to=fresh_number(), text=TEXT) for _ in range(6))
            )
            lines, voices = await asyncio.gather(client.lines(), client.voices())
            record = await client.wait_for_outcome(started[0].call_id, timeout=15)
            again = await client.call_record(started[0].call_id)
            return started, lines, voices, record, again

    started, lines, voices, record, again = asyncio.run(main())
    assert len({s.call_id for s in started}) == 6
    assert lines and len(voices) == 42
    assert record is not None and record.outcome is b.CallOutcome.ANSWERED and again == record
    assert len(portal.ledger()) == 6


def test_errors_propagate_as_exceptions(portal: FakePortal) -> None:
    async def main() -> None:
        async with b.AsyncClient.from_webhook(portal.webhook_url) as client:
            await client.start_callback(line="no-such-line", to=fresh_number(), text=TEXT)

    with pytest.raises(b.LineNotFoundError):
        asyncio.run(main())


def test_cancelling_a_call_waiting_for_the_limiter_sends_nothing(portal: FakePortal) -> None:
    async def main() -> Any:
        client = b.AsyncClient.from_webhook(
            portal.webhook_url, number_cooldown=0, rate_limit=(1, 0.05), deadline=60
        )
        first = await client.start_callback(line="reg1", to=fresh_number(), text=TEXT)
        waiting = asyncio.ensure_future(client.start_callback(line="reg1", to=fresh_number(), text=TEXT))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.5)
        await client.aclose()
        return first

    first = asyncio.run(main())
    assert [c["call_id"] for c in portal.ledger()] == [first.call_id]


def test_async_client_wraps_an_existing_client(portal: FakePortal) -> None:
    sync = b.Client.from_webhook(portal.webhook_url)
    client = b.AsyncClient(sync)
    assert client.sync is sync and client.portal == sync.portal
    assert "AsyncClient" in repr(client)
    with pytest.raises(TypeError):
        b.AsyncClient("http://x")  # type: ignore[arg-type]
    asyncio.run(client.aclose())
    assert sync.closed and client.closed


# ----- wait_for_outcome on the event loop's timers

UNKNOWN_CALL = "callback.00000000000000000000000000000000.1"


def _polls(portal: FakePortal) -> int:
    return sum(1 for r in portal.requests() if r["rest_method"] == "voximplant.statistic.get")


def test_a_cancelled_wait_stops_polling_and_frees_its_thread(portal: FakePortal) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        client = b.AsyncClient.from_webhook(portal.webhook_url, executor=pool)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.wait_for_outcome(UNKNOWN_CALL, timeout=60), 1.2)
        t0 = time.monotonic()
        # the executor's only thread is free at once
        assert await loop.run_in_executor(pool, time.monotonic) - t0 < 0.5
        after_cancel = _polls(portal)
        await asyncio.sleep(2)
        return after_cancel

    after_cancel = asyncio.run(main())
    pool.shutdown(wait=True)
    assert after_cancel >= 2  # it did poll (at once, then after 0.5 s)
    assert _polls(portal) == after_cancel, "a poll followed the cancellation"


def test_four_waits_leave_the_default_executor_usable(portal: FakePortal) -> None:
    from concurrent.futures import ThreadPoolExecutor

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=4))
        client = b.AsyncClient.from_webhook(portal.webhook_url)
        waits = [asyncio.ensure_future(client.wait_for_outcome(UNKNOWN_CALL, timeout=30)) for _ in range(4)]
        await asyncio.sleep(0.8)
        t0 = time.monotonic()
        other = await asyncio.wait_for(loop.run_in_executor(None, lambda: 42), 2)
        took = time.monotonic() - t0
        for w in waits:
            w.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        stopped = _polls(portal)
        await asyncio.sleep(1.5)
        await client.aclose()
        return other, took, stopped

    other, took, stopped = asyncio.run(main())
    assert other == 42 and took < 0.5, f"the executor answered after {took:.2f} s"
    assert _polls(portal) == stopped


def test_wait_for_outcome_finds_the_record_and_forgives_a_transient_failure(portal: FakePortal) -> None:
    import datetime

    async def main() -> Any:
        async with b.AsyncClient.from_webhook(portal.webhook_url, number_cooldown=0) as client:
            started = await client.start_callback(line="reg1", to=fresh_number(), text=TEXT)
            portal.fault("query_limit", method="voximplant.statistic.get")
            record = await client.wait_for_outcome(started.call_id, timeout=datetime.timedelta(seconds=15))
            t0 = time.monotonic()
            missing = await client.wait_for_outcome(UNKNOWN_CALL, timeout=0.7)
            return started, record, missing, time.monotonic() - t0

    started, record, missing, took = asyncio.run(main())
    assert record is not None and record.call_id == started.call_id
    assert record.outcome is b.CallOutcome.ANSWERED
    assert missing is None and 0.6 < took < 3


def test_wait_for_outcome_checks_its_arguments_like_the_blocking_wait(portal: FakePortal) -> None:
    sync = b.Client.from_webhook(portal.webhook_url)
    client = b.AsyncClient(sync)
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(b.InvalidRequestError) as blocking:
            sync.wait_for_outcome(UNKNOWN_CALL, timeout=bad)
        with pytest.raises(b.InvalidRequestError) as waiting:
            asyncio.run(client.wait_for_outcome(UNKNOWN_CALL, timeout=bad))
        assert waiting.value.violations == blocking.value.violations
        assert [v.field for v in waiting.value.violations] == ["timeout"]
    with pytest.raises(TypeError):
        asyncio.run(client.wait_for_outcome(UNKNOWN_CALL, timeout="1"))  # type: ignore[arg-type]
    with pytest.raises(b.InvalidRequestError):
        asyncio.run(client.wait_for_outcome("", timeout=1))
    wrong = portal.webhook_url.replace(portal.info["webhook_secret"], "wrongwebhooksecret01")
    with pytest.raises(b.AuthFailedError):  # not transient: the wait ends
        asyncio.run(b.AsyncClient.from_webhook(wrong).wait_for_outcome(UNKNOWN_CALL, timeout=30))
    sync.close()
