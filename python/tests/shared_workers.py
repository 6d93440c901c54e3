"""Worker processes for test_shared_state.py (started with multiprocessing's spawn context).

A spawned process imports its target by module name before anything else runs, and pytest
imports test files under names a new process cannot import; so the workers live here, in a
module of their own that is not collected as tests. `run_in_processes` starts one process per
spec, lets each build its client and warm up, runs `between()` in the parent, then releases
every process's threads at once and collects what each call returned.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

TEXT = "A visitor asked for a call back"


def _calls(client: Any, calls: List[Tuple[str, Optional[str]]]) -> List[Any]:
    import bitrix24_callback as b

    outcomes: List[Any] = [None] * len(calls)
    at_once = threading.Barrier(len(calls))

    def run(i: int) -> None:
        to, key = calls[i]
        at_once.wait(timeout=60)
        began = time.time()
        try:
            s = client.start_callback(line="reg1", to=to, text=TEXT, idempotency_key=key)
            outcomes[i] = ("ok", s.deduplicated, s.call_id, s.timing.attempts, began, time.time())
        except b.CallbackError as e:
            outcomes[i] = ("error", e.code, [v.code for v in e.violations], began, time.time())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def worker(index: int, spec: Dict[str, Any], go: Any, results: Any) -> None:
    """One process: a client from `spec`, its warm-up calls, then its `calls` on as many
    threads, all started together once the parent sets `go`."""
    try:
        import bitrix24_callback as b

        rotated: List[Any] = []
        if "oauth" in spec:
            client = b.Client.from_oauth(**spec["oauth"], on_tokens=rotated.append, **spec["options"])
        else:
            client = b.Client.from_webhook(spec["webhook_url"], **spec["options"])
        with client:
            for number in spec.get("warm_up", ()):
                client.start_callback(line="reg1", to=number, text=TEXT)
            results.put(("ready", index, None))
            if not go.wait(60):
                raise TimeoutError("the parent never said go")
            outcomes = _calls(client, spec["calls"])
        results.put(("done", index, {"outcomes": outcomes, "rotated": len(rotated)}))
    except BaseException:  # noqa: BLE001 (reported to the parent, which fails the test)
        results.put(("failed", index, traceback.format_exc()))


def run_in_processes(specs: List[Dict[str, Any]], between: Optional[Callable[[], Any]] = None,
                     timeout: float = 60.0) -> List[Dict[str, Any]]:
    """Runs `worker` for each spec in its own spawned process; returns their reports in order.
    Raises AssertionError with the workers' tracebacks if one fails, dies or hangs."""
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(i, spec, go, results), daemon=True)
             for i, spec in enumerate(specs)]
    for p in procs:
        p.start()
    reports: Dict[int, Dict[str, Any]] = {}
    ready: set = set()
    failures: List[str] = []

    def collect(until_done: bool) -> None:
        deadline = time.monotonic() + timeout
        while not failures:
            if len(reports if until_done else ready) == len(procs):
                return
            if time.monotonic() > deadline:
                failures.append("the workers did not finish in time")
                return
            try:
                kind, index, payload = results.get(timeout=0.2)
            except queue.Empty:
                for i, p in enumerate(procs):
                    if p.exitcode is not None and i not in reports:
                        # A last message may still be in the pipe.
                        time.sleep(0.2)
                        if results.empty():
                            failures.append(f"worker {i} exited with status {p.exitcode} before reporting")
                            return
                continue
            if kind == "ready":
                ready.add(index)
            elif kind == "done":
                reports[index] = payload
            else:
                failures.append(f"worker {index}:\n{payload}")

    try:
        collect(until_done=False)
        if not failures:
            if between is not None:
                between()
            go.set()
            collect(until_done=True)
    finally:
        go.set()
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
    assert failures == [], "\n".join(failures)
    return [reports[i] for i in range(len(specs))]
