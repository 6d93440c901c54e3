"""Main-thread calls run on a persistent helper thread while the main thread waits for them in
short slices: Ctrl-C interrupts such a call promptly, the helper is reused from call to call
(a second one only while an interrupted call still runs), and a forked child starts its own.
Each in a child process, so that the signal cannot hit pytest itself."""

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


HELPER = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import bitrix24_callback as b

    def helpers():
        # the helper threads of main-thread calls ("bitrix24-callback", cut to 15 characters)
        names = []
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/comm") as f:
                    names.append(f.read().strip())
            except FileNotFoundError:
                pass
        return names.count("bitrix24-callba")

    url = sys.argv[1]
    client = b.Client.from_webhook(url, number_cooldown=0, rate_limit="off")
    assert helpers() == 0, "no helper before the first call"
    for _ in range(20):
        client.voices()
    print("after 20 calls", helpers(), flush=True)

    # an interrupted call keeps its helper busy; the next call gets another one
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    try:
        client.wait_for_outcome("callback.00000000000000000000000000000000.1", timeout=2)
    except KeyboardInterrupt:
        pass
    client.voices()
    print("while one is abandoned", helpers(), flush=True)
    time.sleep(2.5)  # the abandoned wait ends
    for _ in range(5):
        client.voices()
    print("afterwards", helpers(), flush=True)

    # calls on other threads need no helper
    t = threading.Thread(target=lambda: [client.voices() for _ in range(5)])
    t.start(); t.join()

    # a forked child has no helper thread of its parent: it starts its own
    pid = os.fork()
    if pid == 0:
        try:
            child = b.Client.from_webhook(url)
            ok = len(child.voices()) == 42 and helpers() == 1
            os._exit(0 if ok else 3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    print("forked child", os.waitstatus_to_exitcode(status), flush=True)
    """
)


def test_main_thread_calls_reuse_one_helper_thread(portal: FakePortal) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HELPER, portal.webhook_url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "after 20 calls 1",
        "while one is abandoned 2",
        "afterwards 1",
        "forked child 0",
    ], done.stdout + done.stderr
