"""The Python contenders of the benchmark (benches/run starts each as a fresh process).

    python_client.py seq --client NAME --url WEBHOOK --calls N [--warmup N] [--ca PEM_FILE]
    python_client.py conc --url WEBHOOK --threads T --calls N_PER_THREAD
    python_client.py paced --url WEBHOOK --calls N --burst B --drain D [--shared-state URL]
        [--prefix P] [--start-at UNIX_MS]
    python_client.py validate --vectors tests/vectors/numbers.json [--rounds R]
    python_client.py probe --port P [--host H] [--count N] [--wait S]   (TCP connect times)

NAME is one of:
  ours        bitrix24_callback.Client.start_callback, called from a worker thread
  ours-main   the same, called from the main thread
  requests    requests.Session().post(json=...)
  httpx       httpx.Client().post(json=...)
  urllib3     urllib3.PoolManager().request("POST", body=json.dumps(...))
  b24pysdk    the official SDK: Client(BitrixWebhook(...)).voximplant.callback.start(...)
              (it sends every request with requests.post, i.e. a new connection each time;
              on a plain-http server its hard-wired https:// is replaced by http://)

Prints one line of JSON: µs per call (wall / N), its spread, CPU µs per call (the whole
process, every thread) and resident memory. Only the standard library besides the contender.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import urlsplit

LINE = "reg1"
NUMBER = "+12015550123"
TEXT = "A visitor asked for a call back"
METHOD = "voximplant.callback.start"
BODY = {"FROM_LINE": LINE, "TO_NUMBER": NUMBER, "TEXT_TO_PRONOUNCE": TEXT}
# A few countries, as a business calling them sees (fewer calling codes than the core keeps
# compiled); the same list as benches/contenders and node_client.mjs.
WORKING_SET_REGIONS = {"US", "CA", "GB", "DE", "FR", "IT", "ES", "PL", "NL", "BR", "MX", "IN", "TR", "UA", "KZ", "AU"}


def args_of(argv: List[str]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    it = iter(argv)
    for key in it:
        if not key.startswith("--"):
            raise SystemExit(f"expected --NAME VALUE, got {key}")
        out[key[2:]] = next(it)
    return out


def rss_kib() -> Dict[str, int]:
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(rest.split()[0])
    return {"rss_kib": fields.get("VmRSS", 0), "hwm_kib": fields.get("VmHWM", 0)}


def summary(samples: List[float], wall: float, cpu: float, calls: int) -> Dict[str, Any]:
    s = sorted(samples)

    def pick(p: float) -> float:
        return s[min(len(s) - 1, int(p * len(s)))] * 1e6 if s else 0.0

    out: Dict[str, Any] = {
        "calls": calls,
        "wall_s": wall,
        "us_per_call": wall * 1e6 / max(calls, 1),
        "cpu_us_per_call": cpu * 1e6 / max(calls, 1),
        "min_us": s[0] * 1e6 if s else 0.0,
        "p50_us": pick(0.5),
        "p99_us": pick(0.99),
        "max_us": s[-1] * 1e6 if s else 0.0,
    }
    out.update(rss_kib())
    return out


def method_url(webhook: str) -> str:
    return webhook.rstrip("/") + "/" + METHOD


def read_ca(a: Dict[str, str]) -> Optional[str]:
    path = a.get("ca")
    if not path:
        return None
    with open(path) as f:
        return f.read()


def ours_client(a: Dict[str, str], **extra: Any) -> Any:
    import bitrix24_callback

    options: Dict[str, Any] = dict(rate_limit="off", number_cooldown=0, number_hourly_cap=0, timeout=30, deadline=120)
    ca = read_ca(a)
    if ca:
        options["root_certificates"] = ca
    options.update(extra)
    return bitrix24_callback.Client.from_webhook(a["url"], **options)


def make_call(name: str, a: Dict[str, str]) -> Callable[[], None]:
    """The contender's one call, set up (client, session, pool) once."""
    url = method_url(a["url"])
    ca = a.get("ca")
    if name in ("ours", "ours-main"):
        client = ours_client(a)

        def call() -> None:
            client.start_callback(line=LINE, to=NUMBER, text=TEXT)

        return call
    if name == "requests":
        import requests

        session = requests.Session()
        # Per request: a REQUESTS_CA_BUNDLE in the environment would override session.verify.
        verify: Any = ca or True

        def call() -> None:
            r = session.post(url, json=BODY, timeout=30, verify=verify)
            r.raise_for_status()
            assert "result" in r.json()

        return call
    if name == "httpx":
        import httpx

        client = httpx.Client(timeout=30, verify=ssl.create_default_context(cafile=ca) if ca else True)

        def call() -> None:
            r = client.post(url, json=BODY)
            r.raise_for_status()
            assert "result" in r.json()

        return call
    if name == "urllib3":
        import urllib3

        pool = urllib3.PoolManager(ca_certs=ca) if ca else urllib3.PoolManager()
        headers = {"Content-Type": "application/json"}

        def call() -> None:
            r = pool.request("POST", url, body=json.dumps(BODY).encode(), headers=headers, timeout=30)
            assert r.status == 200, r.status
            assert "result" in json.loads(r.data)

        return call
    if name == "b24pysdk":
        from b24pysdk import BitrixWebhook, Client

        parts = urlsplit(a["url"])
        path = parts.path.strip("/").split("/")  # rest, USER_ID, SECRET
        if parts.scheme == "http":
            # The SDK always builds https:// addresses; against a plain-http server only the
            # scheme is changed, everything else (requests.post per call, headers, parsing)
            # is the SDK's own.
            import importlib

            module = importlib.import_module("b24pysdk.api.callers.call_method")
            cls = next(
                c for c in vars(module).values()
                if isinstance(c, type) and isinstance(c.__dict__.get("_base_url"), property)
            )
            cls._base_url = property(lambda self: f"http://{self._domain}/rest")  # type: ignore[attr-defined]
        if ca:
            os.environ["REQUESTS_CA_BUNDLE"] = ca
        sdk = Client(BitrixWebhook(domain=parts.netloc, webhook_token=f"{path[1]}/{path[2]}"))

        def call() -> None:
            sdk.voximplant.callback.start(from_line=LINE, to_number=NUMBER, text_to_pronounce=TEXT).response

        return call
    raise SystemExit(f"unknown --client {name}")


def seq(a: Dict[str, str]) -> Dict[str, Any]:
    name = a["client"]
    calls = int(a.get("calls", "1000"))
    warmup = int(a.get("warmup", "1"))
    call = make_call(name, a)
    result: Dict[str, Any] = {}

    def body() -> None:
        for i in range(warmup):
            c0 = time.perf_counter()
            call()
            if i == 0:
                result["first_us"] = (time.perf_counter() - c0) * 1e6
        samples: List[float] = []
        errors: Dict[str, int] = {}
        clock = time.perf_counter
        cpu0, t0 = time.process_time(), clock()
        for _ in range(calls):
            c0 = clock()
            try:
                call()
            except Exception as e:  # counted, the run goes on
                key = getattr(e, "code", None) or type(e).__name__
                errors[str(key)] = errors.get(str(key), 0) + 1
            samples.append(clock() - c0)
        wall, cpu = clock() - t0, time.process_time() - cpu0
        result.update(summary(samples, wall, cpu, calls))
        result["errors"] = errors

    if name == "ours-main":
        body()
    else:
        failure: List[BaseException] = []

        def guarded() -> None:
            try:
                body()
            except BaseException as e:  # re-raised on the main thread
                failure.append(e)

        worker = threading.Thread(target=guarded)
        worker.start()
        worker.join()
        if failure:
            raise failure[0]
    result["client"] = name
    return result


def conc(a: Dict[str, str]) -> Dict[str, Any]:
    threads = int(a.get("threads", "4"))
    per_thread = int(a.get("calls", "200"))
    client = ours_client(a)
    client.start_callback(line=LINE, to=NUMBER, text=TEXT)
    barrier = threading.Barrier(threads + 1)
    samples: List[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        mine: List[float] = []
        failed = 0
        barrier.wait()
        for _ in range(per_thread):
            c0 = time.perf_counter()
            try:
                client.start_callback(line=LINE, to=NUMBER, text=TEXT)
            except Exception:
                failed += 1
            mine.append(time.perf_counter() - c0)
        with lock:
            samples.extend(mine)
            errors[0] += failed

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    barrier.wait()
    for t in pool:
        t.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    total = threads * per_thread
    out = summary(samples, wall, cpu, total)
    out.update({"client": "ours", "threads": threads, "calls_per_s": total / wall, "errors": errors[0]})
    return out


def paced(a: Dict[str, str]) -> Dict[str, Any]:
    import bitrix24_callback

    calls = int(a.get("calls", "300"))
    extra: Dict[str, Any] = {"rate_limit": (int(a.get("burst", "20")), float(a.get("drain", "10")))}
    if a.get("shared-state"):
        extra.update(shared_state=a["shared-state"], shared_state_prefix=a.get("prefix"))
    client = ours_client(a, **extra)
    bitrix24_callback.build_request(line=LINE, to=NUMBER, text=TEXT)  # metadata loaded first
    if a.get("start-at"):
        time.sleep(max(0.0, float(a["start-at"]) / 1000 - time.time()))
    errors: Dict[str, int] = {}
    ok = 0
    start_ms = time.time() * 1000
    t0 = time.perf_counter()
    for _ in range(calls):
        try:
            client.start_callback(line=LINE, to=NUMBER, text=TEXT)
            ok += 1
        except bitrix24_callback.CallbackError as e:
            errors[e.code] = errors.get(e.code, 0) + 1
    wall = time.perf_counter() - t0
    return {"client": "ours", "calls": calls, "ok": ok, "errors": errors, "wall_s": wall,
            "start_ms": start_ms, "end_ms": time.time() * 1000}


def probe(a: Dict[str, str]) -> Dict[str, Any]:
    """TCP connect times to a server (one round trip each); waits up to --wait s for it."""
    import socket

    port, count = int(a["port"]), int(a.get("count", "5"))
    deadline = time.time() + float(a.get("wait", "0"))
    samples: List[float] = []
    while len(samples) < count:
        t0 = time.perf_counter()
        try:
            conn = socket.create_connection((a.get("host", "127.0.0.1"), port), timeout=10)
        except OSError:
            if time.time() < deadline:
                time.sleep(0.05)
                continue
            raise
        samples.append(time.perf_counter() - t0)
        conn.close()
    samples.sort()
    return {"connect_p50_us": samples[len(samples) // 2] * 1e6, "connect_min_us": samples[0] * 1e6, "count": count}


def validate(a: Dict[str, str]) -> Dict[str, Any]:
    rss_start = rss_kib()["rss_kib"]
    import bitrix24_callback

    rss_import = rss_kib()["rss_kib"]
    with open(a["vectors"]) as f:
        all_examples = json.load(f)["examples"]
    examples = [e["input"] for e in all_examples]
    working_set = [e["input"] for e in all_examples if e["region"] in WORKING_SET_REGIONS]
    rounds = int(a.get("rounds", "5"))
    build = bitrix24_callback.build_request
    t0 = time.perf_counter()
    build(line=LINE, to=NUMBER, text=TEXT)
    first = time.perf_counter() - t0
    rss_after_us = rss_kib()["rss_kib"]
    n = 2000 * max(rounds, 1)
    t0 = time.perf_counter()
    for _ in range(n):
        build(line=LINE, to=NUMBER, text=TEXT)
    us_number = (time.perf_counter() - t0) * 1e6 / n
    refused = [0]

    def passes(numbers: List[str]) -> Any:
        t0 = time.perf_counter()
        for number in numbers:
            try:
                build(line=LINE, to=number, text=TEXT)
            except bitrix24_callback.CallbackError:
                refused[0] += 1
        first_pass = (time.perf_counter() - t0) * 1e6 / len(numbers)
        rss = rss_kib()["rss_kib"]
        t0 = time.perf_counter()
        for _ in range(rounds):
            for number in numbers:
                try:
                    build(line=LINE, to=number, text=TEXT)
                except bitrix24_callback.CallbackError:
                    pass
        warm = (time.perf_counter() - t0) * 1e6 / (rounds * len(numbers)) if rounds else None
        return first_pass, warm, rss

    ws_first, ws_warm, rss_after_ws = passes(working_set)
    mixed_first, mixed_warm, rss_after_all = passes(examples)
    end = rss_kib()
    return {
        "client": "ours", "numbers": len(examples), "working_set_numbers": len(working_set),
        "refused": refused[0], "first_number_us": first * 1e6, "us_number_us": us_number,
        "ws_first_pass_us": ws_first, "ws_us": ws_warm, "rss_after_ws_kib": rss_after_ws,
        "mixed_first_pass_us": mixed_first, "mixed_us": mixed_warm,
        "rss_start_kib": rss_start, "rss_before_first_kib": rss_import,
        "rss_after_us_kib": rss_after_us, "rss_after_all_kib": rss_after_all,
        "rss_end_kib": end["rss_kib"], "hwm_kib": end["hwm_kib"],
    }


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    command, a = sys.argv[1], args_of(sys.argv[2:])
    runs = {"seq": seq, "conc": conc, "paced": paced, "validate": validate, "probe": probe}
    if command not in runs:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(runs[command](a)), flush=True)


if __name__ == "__main__":
    main()
