"""Ctrl-C interrupts a blocking call on the main thread promptly (in a child process, so the
signal cannot hit pytest itself)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import FakePortal, fresh_number

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import bitrix24_callback as b

    url, number, first_number = sys.argv[1], sys.argv[2], sys.argv[3]
    client = b.Client.from_webhook(url, number_cooldown=0, rate_limit=(1, 0.02), deadline=120)
    client.start_callback(line="reg1", to=first_number, text="first")

    def interrupt_soon():
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()

    for name, call in [
        ("wait_for_outcome", lambda: client.wait_for_outcome("callback.00000000000000000000000000000000.1", timeout=60)),
        ("start_callback", lambda: client.start_callback(line="reg1", to=number, text="second")),
    ]:
        interrupt_soon()
        t0 = time.monotonic()
        try:
            call()
        except KeyboardInterrupt:
            print(name, "interrupted after", round(time.monotonic() - t0, 2), flush=True)
        else:
            print(name, "was not interrupted", flush=True)
    """
)


def test_ctrl_c_interrupts_blocking_calls(portal: FakePortal) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, portal.webhook_url, fresh_number(), fresh_number()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    for line in lines:
        name, _, _, seconds = line.split()
        assert float(seconds) < 3, line
    # the interrupted start_callback was still waiting for the limiter: nothing was sent
    assert len(portal.ledger()) == 1
