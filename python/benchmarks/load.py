"""Steady load against the fake portal: calls, achieved rate, latency, memory and descriptors.

    python load.py --seconds 600 --rate 1000

Starts `bitrix24_callback.testing.FakePortal` in a child process (its limits lifted, its
records cleared every two seconds, so that only the client is measured here), then calls
`Client.start_callback` on a fixed schedule of `--rate` calls per second (open loop: a late
call does not delay the schedule) from `--threads` threads sharing one client with its rate
limiter off, for `--seconds` after a short warm-up. Reports the calls made, errors by code,
the achieved rate, latency percentiles, how late calls started, and this process's RSS and
open file descriptors at the start, middle and end of the run. Latencies go into a
logarithmic histogram of constant size, so the measurement itself does not grow.

`--check` exits 1 when a call failed, descriptors grew by more than 2 from start to end, or
RSS grew by more than 8 MiB over the second half. Needs Linux (/proc). Imports only the
installed package.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

import bitrix24_callback as b

PORTAL = """
import sys, threading, time
from bitrix24_callback.testing import FakePortal

with FakePortal(burst=4_000_000_000, drain_per_second=1e9, operating_limit_ms=1e15,
                callback_processing_ms=0, stage_ms=1) as portal:
    print(portal.webhook_url, flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    while not done.wait(2):
        portal.reset()
"""

NUMBER = "+12025550123"
TEXT = "Load test"
#: Histogram buckets: 1 % apart, from 1 µs.
STEP = math.log(1.01)


class Histogram:
    def __init__(self) -> None:
        self.counts: Dict[int, int] = {}
        self.lock = threading.Lock()
        self.largest = 0.0

    def add(self, seconds: float) -> None:
        bucket = int(math.log(max(seconds * 1e6, 1.0)) / STEP)
        with self.lock:
            self.counts[bucket] = self.counts.get(bucket, 0) + 1
            self.largest = max(self.largest, seconds)

    def total(self) -> int:
        return sum(self.counts.values())

    def quantile(self, q: float) -> float:
        """Seconds (the upper edge of the bucket holding the q-quantile)."""
        rank = q * self.total()
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return math.exp((bucket + 1) * STEP) / 1e6
        return 0.0


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def run(seconds: float, rate: float, threads: int) -> Dict[str, object]:
    portal = subprocess.Popen(
        [sys.executable, "-c", PORTAL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert portal.stdout is not None and portal.stdin is not None
    url = portal.stdout.readline().strip()
    if not url:
        raise SystemExit("the fake portal did not start")
    client = b.Client.from_webhook(
        url, rate_limit="off", number_cooldown=0, number_hourly_cap=0, timeout=10, deadline=20
    )
    warm_up = min(2.0, max(0.5, seconds / 5))
    latency = Histogram()
    lateness = Histogram()
    errors: Dict[str, int] = {}
    errors_lock = threading.Lock()
    samples: Dict[str, Tuple[int, int]] = {}
    slots = itertools.count()
    start = time.monotonic() + 0.1
    measured_from = start + warm_up
    end = measured_from + seconds
    made = [0] * threads

    def worker(n: int) -> None:
        while True:
            due = start + next(slots) / rate
            if due >= end:
                return
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.monotonic()
            try:
                client.start_callback(line="reg1", to=NUMBER, text=TEXT)
            except b.CallbackError as e:
                with errors_lock:
                    errors[e.code] = errors.get(e.code, 0) + 1
            t1 = time.monotonic()
            if due >= measured_from:
                made[n] += 1
                latency.add(t1 - t0)
                lateness.add(max(t0 - due, 0.0))

    def sampler() -> None:
        for name, at in (("start", measured_from), ("middle", measured_from + seconds / 2), ("end", end)):
            pause = at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            samples[name] = (rss_kib(), open_fds())

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    watch = threading.Thread(target=sampler, daemon=True)
    watch.start()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    finished = time.monotonic()
    watch.join()
    client.close()
    portal.stdin.close()
    portal.wait(timeout=30)
    calls = sum(made)
    return {
        "seconds": seconds,
        "target_rate": rate,
        "threads": threads,
        "calls": calls,
        "errors": errors,
        "achieved_rate": calls / max(finished - measured_from, 1e-9),
        "p50_ms": latency.quantile(0.50) * 1e3,
        "p99_ms": latency.quantile(0.99) * 1e3,
        "max_ms": latency.largest * 1e3,
        "late_p99_ms": lateness.quantile(0.99) * 1e3,
        "rss_kib": {k: v[0] for k, v in samples.items()},
        "open_fds": {k: v[1] for k, v in samples.items()},
    }


def report(r: Dict[str, object]) -> str:
    rss: Dict[str, int] = r["rss_kib"]  # type: ignore[assignment]
    fds: Dict[str, int] = r["open_fds"]  # type: ignore[assignment]
    errors: Dict[str, int] = r["errors"]  # type: ignore[assignment]
    lines = [
        f"load: {r['seconds']:g} s at {r['target_rate']:g} calls/s from {r['threads']} threads "
        f"(bitrix24_callback {b.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)",
        f"  calls {r['calls']}, errors {sum(errors.values())}"
        + (f" ({', '.join(f'{k} {v}' for k, v in sorted(errors.items()))})" if errors else ""),
        f"  achieved {r['achieved_rate']:.0f} calls/s",
        f"  latency p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.1f} ms"
        f" (start p99 {r['late_p99_ms']:.2f} ms behind schedule)",
        "  RSS " + " / ".join(f"{k} {rss.get(k, 0) / 1024:.1f} MiB" for k in ("start", "middle", "end")),
        "  open fds " + " / ".join(f"{k} {fds.get(k, 0)}" for k in ("start", "middle", "end")),
    ]
    return "\n".join(lines)


def problems(r: Dict[str, object]) -> List[str]:
    rss: Dict[str, int] = r["rss_kib"]  # type: ignore[assignment]
    fds: Dict[str, int] = r["open_fds"]  # type: ignore[assignment]
    errors: Dict[str, int] = r["errors"]  # type: ignore[assignment]
    found = []
    if errors:
        found.append(f"{sum(errors.values())} calls failed")
    if fds["end"] - fds["start"] > 2:
        found.append(f"open descriptors grew from {fds['start']} to {fds['end']}")
    if rss["end"] - rss["middle"] > 8 * 1024:
        found.append(f"RSS grew by {(rss['end'] - rss['middle']) / 1024:.1f} MiB over the second half")
    return found


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="how long to measure (default 10)")
    parser.add_argument("--rate", type=float, default=1000, help="calls per second (default 1000)")
    parser.add_argument("--threads", type=int, default=8, help="calling threads (default 8)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--check", action="store_true", help="exit 1 on failed calls or growth")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.rate, args.threads)
    print(json.dumps(result) if args.json else report(result), flush=True)
    found = problems(result) if args.check else []
    for p in found:
        print(f"load: {p}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
