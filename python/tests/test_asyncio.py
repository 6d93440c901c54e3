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
