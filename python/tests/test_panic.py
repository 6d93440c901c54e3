"""A panic inside the core (forced by its test hook, compiled into the test wheel only) reaches
Python as `OutcomeUnknownError`, on every path a call takes, and the interpreter goes on
serving. The shipped wheel has no hook: tests/../smoke/test_installed.py checks that."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from typing import List

import pytest

import bitrix24_callback as b
from conftest import FakePortal, fresh_number

PANIC_LINE = "test-hook:panic"  # callback_core::TEST_PANIC_LINE
TEXT = "A visitor asked for a call back"


@pytest.fixture(autouse=True)
def _test_build() -> None:
    assert b._native._TEST_HOOKS, "build the test wheel with --features test-hooks (python/test.sh does)"


def _panics(client: b.Client) -> b.OutcomeUnknownError:
    with pytest.raises(b.OutcomeUnknownError) as raised:
        client.start_callback(line=PANIC_LINE, to=fresh_number(), text=TEXT)
    assert raised.value.retry_safe is False
    assert "internal error" in raised.value.description
    return raised.value


def test_a_panic_on_the_main_thread_is_an_outcome_unknown(portal: FakePortal, client: b.Client) -> None:
    assert threading.current_thread() is threading.main_thread()  # the helper-thread path
    _panics(client)
    assert client.start_callback(line="reg1", to=fresh_number(), text=TEXT).call_id
    assert client.lines()
    assert len(portal.ledger()) == 1  # the panic came before anything was sent


def test_a_panic_on_a_worker_thread_is_an_outcome_unknown(portal: FakePortal, client: b.Client) -> None:
    errors: List[BaseException] = []

    def work() -> None:
        try:
            _panics(client)
            client.start_callback(line="reg1", to=fresh_number(), text=TEXT)
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(portal.ledger()) == 4


def test_a_panic_under_asyncio_is_an_outcome_unknown(portal: FakePortal) -> None:
    async def main() -> str:
        async with b.AsyncClient.from_webhook(portal.webhook_url, number_cooldown=0) as client:
            with pytest.raises(b.OutcomeUnknownError):
                await client.start_callback(line=PANIC_LINE, to=fresh_number(), text=TEXT)
            started = await client.start_callback(line="reg1", to=fresh_number(), text=TEXT)
            return started.call_id or ""

    assert asyncio.run(main())


SCRIPT = textwrap.dedent(
    """
    import sys
    import bitrix24_callback as b

    url, number = sys.argv[1], sys.argv[2]
    client = b.Client.from_webhook(url, number_cooldown=0)
    for _ in range(3):
        try:
            client.start_callback(line="test-hook:panic", to=number, text="x")
        except b.OutcomeUnknownError as e:
            print(e.code, flush=True)
    print("serving", len(client.voices()), flush=True)
    """
)


def test_the_process_goes_on_and_the_panic_report_holds_no_secret(portal: FakePortal) -> None:
    number = "+12025550123"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, portal.webhook_url, number], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["outcome_unknown"] * 3 + ["serving 42"]
    for secret in (portal.info["webhook_secret"], number, number[1:], number[2:]):
        assert secret not in done.stdout + done.stderr
