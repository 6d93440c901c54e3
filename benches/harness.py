#!/usr/bin/env python3
"""The benchmark of bitrix24-callback: servers, contenders, rounds, and the report.

benches/run installs and builds everything, then runs this file with the benchmark's
virtualenv; run `benches/run --help` for the options. Only the standard library is used
here. Every contender is a fresh process that prints one line of JSON (benches/contenders for
Rust, benches/clients for Python and Node); this file starts the servers, runs the contenders
in interleaved rounds, takes medians and writes one markdown report.

Nothing here is a timed assertion: figures are reported, targets are marked met or missed,
and the exit status says only whether every part ran (a contender that crashed or got wrong
answers fails the run, a slow one never does).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ROOT / "benches" / "clients"
VECTORS = ROOT / "tests" / "vectors" / "numbers.json"
PARTS = ["loopback", "wan", "paced", "redis", "concurrency", "coldstart", "footprint", "validation"]
WEBHOOK_PATH = "/rest/1/benchsecret0001/"
NUMBER = "+12015550123"

# What nginx answers to voximplant.callback.start: the fake portal's success answer, with
# nginx's clock in `time` and an operating time of zero (so no SDK's own limiter slows down).
CANNED = (
    '{"result":{"CALL_ID":"callback.6cb46811a9f07fe9060860de3ad30fc5.1796119466","RESULT":true},'
    '"time":{"date_finish":"$time_iso8601","date_start":"$time_iso8601","duration":0.0001,'
    '"finish":$msec,"operating":0,"operating_reset_at":1796120066,"processing":0.0001,'
    '"start":$msec}}'
)


# The CPU the loopback part runs its servers and contenders on (see part_loopback).
LOOPBACK_CPU = 0


class PartFailed(Exception):
    pass


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def fmt(x: Optional[float], digits: int = 0) -> str:
    if x is None or x != x:
        return "–"
    if digits == 0:
        return f"{x:,.0f}".replace(",", " ")
    return f"{x:,.{digits}f}".replace(",", " ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: bool = True) -> str:
    aligns = ["---" if i == 0 or not numeric else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


class Bench:
    def __init__(self, opts: argparse.Namespace) -> None:
        self.o = opts
        self.quick: bool = opts.quick
        env = os.environ
        self.cli = env["B24_CALLBACK_BIN"]
        self.bench_bin = env["B24_BENCH_BIN"]
        self.py = env.get("B24_BENCH_PYTHON", sys.executable)
        self.node = env.get("B24_BENCH_NODE", "node")
        self.node_project = env["B24_BENCH_NODE_PROJECT"]
        self.profile = env.get("B24_BENCH_PROFILE", "release")
        self.netns = env.get("B24_BENCH_NETNS", f"b24bench-{os.getpid()}")
        self.out = Path(opts.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="b24-bench-"))
        self.raw = open(self.out / "raw.jsonl", "w")
        self.procs: List[subprocess.Popen] = []
        self.netns_made = False
        self.sections: List[str] = []
        self.targets: List[Tuple[str, str, str, Optional[bool]]] = []
        self.failures: List[str] = []
        self.notes: List[str] = []
        self.load_start = self.loadavg()
        self.started = time.time()

    # ----- plumbing -----

    def log(self, msg: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg} (load {self.loadavg()})", file=sys.stderr, flush=True)

    @staticmethod
    def loadavg() -> str:
        try:
            return " ".join(Path("/proc/loadavg").read_text().split()[:3])
        except OSError:
            return "?"

    def sandbox_env(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BITRIX24_")}
        env["B24_BENCH_NODE_PROJECT"] = self.node_project
        env.pop("RUST_LOG", None)
        if extra:
            env.update(extra)
        return env

    def in_ns(self, argv: List[str]) -> List[str]:
        return ["ip", "netns", "exec", self.netns] + argv

    def run_json(self, what: str, argv: List[str], env: Optional[Dict[str, str]] = None,
                 timeout: float = 600, cwd: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """Runs one contender process; its last stdout line is its JSON result."""
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                               env=self.sandbox_env(env), cwd=cwd)
        except subprocess.TimeoutExpired:
            self.failures.append(f"{what}: no answer within {timeout:.0f} s")
            return None
        lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
        if p.returncode != 0 or not lines:
            tail = (p.stderr.strip().splitlines() or ["(no stderr)"])[-3:]
            self.failures.append(f"{what}: exit {p.returncode}: " + " / ".join(tail))
            return None
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            self.failures.append(f"{what}: not JSON: {lines[-1][:200]}")
            return None
        result["_what"] = what
        self.raw.write(json.dumps(result) + "\n")
        self.raw.flush()
        errors = result.get("errors")
        if errors:
            self.failures.append(f"{what}: failed calls {errors}")
        return result

    def spawn(self, argv: List[str], name: str, stdin_pipe: bool = True,
              env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        log = open(self.work / f"{name}.log", "w")
        p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=log, text=True, env=self.sandbox_env(env))
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen) -> None:
        """Stops a server: by closing its stdin when it watches it (the fake portal, the packet
        delayer), else (nginx, redis-server) with SIGTERM."""
        if p.poll() is None and p.stdin:
            try:
                p.stdin.close()
                p.wait(timeout=3)
            except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
                pass
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def cleanup(self) -> None:
        for p in list(self.procs):
            self.stop(p)
        if self.netns_made:
            self.netns_down()
        shutil.rmtree(self.work, ignore_errors=True)

    # ----- servers -----

    def nginx_conf(self, d: Path, port: int, tls: Optional[Tuple[Path, Path]]) -> Path:
        listen = f"127.0.0.1:{port}" + (" ssl" if tls else "")
        ssl_lines = ""
        if tls:
            ssl_lines = (f"        ssl_certificate {tls[0]};\n        ssl_certificate_key {tls[1]};\n"
                         "        ssl_protocols TLSv1.2 TLSv1.3;\n")
        body = CANNED.replace("'", "\\'")
        conf = f"""worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    server {{
        listen {listen};
{ssl_lines}        location ~ /voximplant\\.callback\\.start(\\.json)?$ {{
            default_type application/json;
            return 200 '{body}';
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""
        path = d / "nginx.conf"
        path.write_text(conf)
        return path

    def start_nginx(self, name: str, tls: Optional[Tuple[Path, Path]] = None, in_ns: bool = False) -> Tuple[subprocess.Popen, int]:
        d = self.work / name
        d.mkdir(parents=True, exist_ok=True)
        port = 8443 if in_ns else free_port()
        conf = self.nginx_conf(d, port, tls)
        argv = ["nginx", "-p", str(d), "-c", str(conf), "-e", str(d / "error.log")]
        p = self.spawn(self.in_ns(argv) if in_ns else argv, name, stdin_pipe=False)
        probe = [self.py, str(CLIENTS / "python_client.py"), "probe", "--port", str(port), "--count", "1", "--wait", "5"]
        if self.run_json(f"{name} is up", self.in_ns(probe) if in_ns else probe) is None:
            raise PartFailed(f"{name} did not start: " + (d / "error.log").read_text()[-500:])
        return p, port

    def start_portal(self, burst: float, drain: float) -> Tuple[subprocess.Popen, Dict[str, Any]]:
        p = self.spawn([self.cli, "fake-portal", "--json", "--burst", str(int(burst)), "--drain", str(drain),
                        "--stage-ms", "3600000"], "fake-portal")
        assert p.stdout is not None
        line = p.stdout.readline()
        if not line:
            raise PartFailed("the fake portal did not start: " + (self.work / "fake-portal.log").read_text()[-500:])
        info = json.loads(line)
        # The simulated operating budget (480 s per 10 minutes, 1 s per callback) would answer
        # 429 after 480 callbacks: lifted, and the simulated handler time set to zero.
        self.admin(info, "POST", "config", {"operating_limit_seconds": 1_000_000_000, "callback_processing_ms": 0})
        return p, info

    @staticmethod
    def admin(info: Dict[str, Any], method: str, route: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(info["admin_url"].rstrip("/") + "/" + route, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
        return json.loads(text) if text else None

    @staticmethod
    def redis_command(url: str, *args: str) -> str:
        """One command to redis-server (RESP), its reply as text."""
        host, port = url.split("//")[1].strip("/").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(f"*{len(args)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in args))
            data = b""
            while True:
                chunk = s.recv(65536)
                data += chunk
                if not chunk or data.startswith((b"+", b"-", b":")) and data.endswith(b"\r\n"):
                    break
                if data.startswith(b"$"):
                    head, _, rest = data.partition(b"\r\n")
                    if len(rest) >= int(head[1:]) + 2:
                        break
        return data.decode(errors="replace")

    def redis_scripts(self, url: str) -> int:
        """How many scripts (EVALSHA/EVAL) Redis ran since its statistics were reset."""
        stats = self.redis_command(url, "INFO", "commandstats")
        return sum(int(m) for m in re.findall(r"cmdstat_eval(?:sha)?:calls=(\d+)", stats))

    def start_redis(self) -> Tuple[subprocess.Popen, str]:
        port = free_port()
        p = self.spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--protected-mode", "yes"], "redis", stdin_pipe=False)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return p, f"redis://127.0.0.1:{port}/"
            except OSError:
                time.sleep(0.05)
        raise PartFailed("redis-server did not start")

    # ----- contenders -----

    def rust(self, *args: str) -> List[str]:
        return [self.bench_bin, *args]

    def python(self, *args: str) -> List[str]:
        return [self.py, str(CLIENTS / "python_client.py"), *args]

    def nodejs(self, *args: str) -> List[str]:
        return [self.node, str(CLIENTS / "node_client.mjs"), *args]

    def contenders(self) -> List[Tuple[str, str, Callable[..., List[str]], str]]:
        """(id, label, runner, client name) of the sequential loopback table, in its order."""
        return [
            ("floor", "floor: raw socket (Rust)", self.rust, "floor"),
            ("ureq", "hand-rolled ureq 3 (Rust)", self.rust, "ureq"),
            ("ureq-timeout", "hand-rolled ureq 3 + timeout_global (Rust)", self.rust, "ureq-timeout"),
            ("core", "**callback-core** (Rust)", self.rust, "core"),
            ("py-ours", "**bitrix24_callback**, worker thread (Python)", self.python, "ours"),
            ("py-ours-main", "**bitrix24_callback**, main thread (Python)", self.python, "ours-main"),
            ("requests", "requests.Session (Python)", self.python, "requests"),
            ("httpx", "httpx.Client (Python)", self.python, "httpx"),
            ("urllib3", "urllib3.PoolManager (Python)", self.python, "urllib3"),
            ("b24pysdk", "b24pysdk, official (Python)", self.python, "b24pysdk"),
            ("node-ours", "**bitrix24-callback** (Node)", self.nodejs, "ours"),
            ("fetch", "fetch, built in (Node)", self.nodejs, "fetch"),
            ("undici", "undici.Pool (Node)", self.nodejs, "undici"),
            ("axios", "axios, keep-alive agent (Node)", self.nodejs, "axios"),
            ("b24jssdk", "@bitrix24/b24jssdk, official (Node)", self.nodejs, "b24jssdk"),
        ]

    def target(self, name: str, figure: str, met: Optional[bool]) -> None:
        self.targets.append((name, figure, "met" if met else ("missed" if met is False else "not measured"), met))

    # ----- parts -----

    def pin(self, pid: int) -> None:
        """Puts every thread of `pid` and of its child processes on LOOPBACK_CPU."""
        pids = [pid]
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(k) for k in kids]
        for p in pids:
            subprocess.run(["taskset", "-a", "-c", "-p", str(LOOPBACK_CPU), str(p)],
                           capture_output=True, check=True)

    def part_loopback(self) -> None:
        rounds, calls = self.o.rounds, self.o.calls
        warmup = max(1, calls // 10)
        nginx, nport = self.start_nginx("nginx-loopback")
        portal, info = self.start_portal(1_000_000, 1_000_000)
        # Servers and contenders share one CPU. Left to the scheduler, a client and its server
        # land on the same CPU in some runs and on two in others, and on this virtual machine a
        # wake-up across CPUs costs about 55 µs (the floor measures 17.6 µs on one CPU, 73 µs on
        # two): the medians would say where the scheduler put the processes, not what the
        # clients cost.
        self.pin(nginx.pid)
        self.pin(portal.pid)
        servers = [("nginx", f"http://127.0.0.1:{nport}{WEBHOOK_PATH}", None),
                   ("fake portal", info["webhook_url"], info)]
        cs = self.contenders()
        if self.o.contenders:
            keep = set(self.o.contenders.split(","))
            cs = [c for c in cs if c[0] in keep or c[0] == "floor"]
        res: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
        for r in range(rounds):
            for sname, url, pinfo in servers:
                if pinfo:
                    self.admin(pinfo, "POST", "reset")
                k = r % len(cs)
                for cid, _label, runner, client in cs[k:] + cs[:k]:
                    out = self.run_json(f"loopback {sname} {cid} round {r + 1}",
                                        ["taskset", "-c", str(LOOPBACK_CPU)]
                                        + runner("seq", "--client", client, "--url", url, "--calls", str(calls),
                                                 "--warmup", str(warmup)))
                    if out:
                        res.setdefault((sname, cid), []).append(out)
            self.log(f"loopback round {r + 1}/{rounds} done")
        self.stop(nginx)
        self.stop(portal)

        def stat(sname: str, cid: str, key: str) -> float:
            return median([x[key] for x in res.get((sname, cid), [])])

        floors = {s: stat(s, "floor", "p50_us") for s, _, _ in servers}
        rows = []
        for cid, label, _, _ in cs:
            row: List[Any] = [label]
            for sname, _, _ in servers:
                p50 = stat(sname, cid, "p50_us")
                mean = stat(sname, cid, "us_per_call")
                row += [fmt(p50, 1 if p50 < 100 else 0), fmt(p50 / floors[sname], 2) + "×",
                        fmt(mean, 1 if mean < 100 else 0), fmt(stat(sname, cid, "cpu_us_per_call"))]
            rows.append(row)
        text = [
            "## 1. Sequential calls on loopback\n",
            f"Each contender is a fresh process making {calls} sequential `voximplant.callback.start` "
            f"POSTs (JSON body, one keep-alive connection; b24pysdk opens one per call, as it always does) "
            f"after {warmup} untimed ones; {rounds} rounds, contenders interleaved (each round starts one "
            "further down the list). Per contender and server, the medians over the rounds of: the median "
            "call (µs), its ratio to the floor's on the same server, the mean (wall time / calls, which "
            "also holds every pause the scheduler imposed), and CPU time per call of the whole client "
            "process (user + system, every thread; the server's CPU is not counted). Servers and contenders "
            f"all run on CPU {LOOPBACK_CPU} (taskset), so every contender meets the same placement: a "
            "multi-threaded client hands work between its threads on that one CPU too.\n",
            table(["contender", "nginx: median µs", "× floor", "mean µs", "CPU µs",
                   "fake portal: median µs", "× floor", "mean µs", "CPU µs"], rows),
        ]
        self.sections.append("\n".join(text))
        n = "nginx"

        def ratio(cid: str) -> float:
            return stat(n, cid, "p50_us") / floors[n]

        self.target("callback-core within 1.3× of the floor (median call, nginx)", f"{ratio('core'):.2f}×", ratio("core") <= 1.3)
        self.target("Python within 2.5× of the floor, worker thread", f"{ratio('py-ours'):.2f}×", ratio("py-ours") <= 2.5)
        self.target("Python within 3× of the floor, main thread", f"{ratio('py-ours-main'):.2f}×", ratio("py-ours-main") <= 3)
        self.target("Node within 3× of the floor", f"{ratio('node-ours'):.2f}×", ratio("node-ours") <= 3)
        ours, und = stat(n, "node-ours", "p50_us"), stat(n, "undici", "p50_us")
        self.target("Node faster than undici", f"median call {fmt(ours, 1)} µs vs {fmt(und, 1)} µs", ours < und)

    # -- the wide-area link --

    def netns_up(self, delay_ms: float) -> str:
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.netns_made = True
        subprocess.run(self.in_ns(["ip", "link", "set", "lo", "up"]), check=True)
        netem = subprocess.run(self.in_ns(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", f"{delay_ms}ms"]),
                               capture_output=True, text=True)
        if netem.returncode == 0:
            return f"tc netem delay {delay_ms} ms on the namespace's loopback"
        iptables = shutil.which("iptables-legacy") or shutil.which("iptables")
        if not iptables:
            raise PartFailed("no sch_netem in this kernel and no iptables for the NFQUEUE fallback")
        delayer = self.spawn(self.in_ns([self.bench_bin, "delay", "--queue", "0", "--ms", str(delay_ms)]), "delayer")
        assert delayer.stdout is not None
        if delayer.stdout.readline().strip() != "ready":
            raise PartFailed("the packet delayer did not start: " + (self.work / "delayer.log").read_text()[-500:])
        subprocess.run(self.in_ns([iptables, "-A", "OUTPUT", "-o", "lo", "-j", "NFQUEUE", "--queue-num", "0",
                                   "--queue-bypass"]), check=True)
        return (f"this kernel has no sch_netem (`tc ... netem` refused: {netem.stderr.strip()}), so an "
                f"iptables NFQUEUE rule hands every packet on the namespace's loopback to `b24-bench delay`, "
                f"which holds it {delay_ms} ms")

    def netns_down(self) -> None:
        pids = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        self.netns_made = False

    def make_cert(self) -> Tuple[Path, Path, Path]:
        d = self.work / "tls"
        d.mkdir(exist_ok=True)

        def ossl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bitrix24-callback bench CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
        (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
        return d / "ca.pem", d / "server.pem", d / "server.key"

    def part_wan(self) -> None:
        if os.geteuid() != 0 or not shutil.which("ip"):
            self.sections.append("## 2. Over TLS on a simulated wide-area link\n\nSkipped: needs root and `ip` "
                                 "(a network namespace is made for it).")
            self.notes.append("the wide-area part was skipped (not root)")
            return
        delay = self.o.wan_delay_ms
        how = self.netns_up(delay)
        ca, cert, key = self.make_cert()
        nginx, port = self.start_nginx("nginx-tls", tls=(cert, key), in_ns=True)
        url = f"https://127.0.0.1:{port}{WEBHOOK_PATH}"
        probe = self.run_json("wan rtt", self.in_ns(self.python("probe", "--port", str(port), "--count", "9")))
        rtt_us = probe["connect_p50_us"] if probe else 2000 * delay
        calls, rounds = self.o.wan_calls, self.o.wan_rounds
        cs = [
            ("core", "**callback-core** (Rust)", self.rust, "core", "pooled keep-alive"),
            ("ureq", "hand-rolled ureq 3 (Rust)", self.rust, "ureq", "pooled keep-alive"),
            ("py-ours", "**bitrix24_callback**, worker thread (Python)", self.python, "ours", "pooled keep-alive"),
            ("requests", "requests.Session (Python)", self.python, "requests", "pooled keep-alive"),
            ("b24pysdk", "b24pysdk, official (Python)", self.python, "b24pysdk", "new connection + TLS handshake per call"),
            ("node-ours", "**bitrix24-callback** (Node)", self.nodejs, "ours", "pooled keep-alive"),
            ("undici", "undici.Pool (Node)", self.nodejs, "undici", "pooled keep-alive"),
            ("b24jssdk", "@bitrix24/b24jssdk, official (Node)", self.nodejs, "b24jssdk", "axios, Node's keep-alive agent"),
        ]
        env = {"NODE_EXTRA_CA_CERTS": str(ca)}
        res: Dict[str, List[Dict[str, Any]]] = {}
        try:
            for r in range(rounds):
                k = r % len(cs)
                for cid, _l, runner, client, _c in cs[k:] + cs[:k]:
                    out = self.run_json(f"wan {cid} round {r + 1}",
                                        self.in_ns(runner("seq", "--client", client, "--url", url, "--calls", str(calls),
                                                          "--warmup", "1", "--ca", str(ca))), env=env)
                    if out:
                        res.setdefault(cid, []).append(out)
                self.log(f"wan round {r + 1}/{rounds} done")
        finally:
            self.stop(nginx)
            self.netns_down()

        def stat(cid: str, key: str) -> float:
            return median([x[key] for x in res.get(cid, []) if key in x])

        rtt_ms = rtt_us / 1000
        rows = []
        for cid, label, _, _, conn in cs:
            p50, first = stat(cid, "p50_us") / 1000, stat(cid, "first_us") / 1000
            rows.append([label, conn, fmt(p50, 1), fmt(p50 / rtt_ms, 2), fmt(stat(cid, "cpu_us_per_call")),
                         fmt(first, 1), fmt(first / rtt_ms, 1)])
        self.sections.append("\n".join([
            "## 2. Over TLS on a simulated wide-area link\n",
            f"A network namespace made for the run, {how}: a round trip costs {2 * delay:g} ms "
            f"(measured: TCP connect takes {rtt_ms:.1f} ms, the median of 9). nginx serves HTTPS (TLS 1.3, "
            "a certificate from a CA generated for the run) inside it; the clients run inside it too and "
            "trust that CA. Only loopback addresses are used. Each contender makes one untimed call (the "
            f"first call: connection and handshake), then {calls} timed calls; {rounds} rounds, interleaved. "
            "Latency is the median call; round trips are that latency over the measured round-trip time.\n",
            table(["contender", "connection", "ms per call", "round trips", "CPU µs/call", "first call ms", "first call round trips"], rows),
        ]))
        for cid, name in (("core", "callback-core"), ("py-ours", "Python"), ("node-ours", "Node")):
            rts = stat(cid, "p50_us") / rtt_us
            self.target(f"WAN: one round trip per call with a warm pool ({name})", f"{rts:.2f} round trips", rts < 1.5)
        ours, sdk = stat("py-ours", "p50_us"), stat("b24pysdk", "p50_us")
        self.target("WAN: ≥2× lower latency than b24pysdk (Python)", f"{sdk / ours:.2f}× ({fmt(ours / 1000, 1)} ms vs {fmt(sdk / 1000, 1)} ms)", sdk / ours >= 2)

    # -- pacing --

    def part_paced(self) -> None:
        calls, burst, drain = self.o.paced_calls, 20, 10.0
        portal, info = self.start_portal(burst, drain)
        redis, redis_url = self.start_redis()
        url = info["webhook_url"]
        theory = max(calls - burst, 0) / drain

        def single(runner: Callable[..., List[str]], label: str) -> Callable[[], List[Optional[Dict[str, Any]]]]:
            return lambda: [self.run_json(f"paced {label}", runner("paced", "--url", url, "--calls", str(calls),
                                                                      "--burst", str(burst), "--drain", str(drain)))]

        def four(runner: Callable[..., List[str]], label: str) -> Callable[[], List[Optional[Dict[str, Any]]]]:
            def go() -> List[Optional[Dict[str, Any]]]:
                per = calls // 4
                start_at = time.time() * 1000 + (1000 if self.quick else 2500)
                prefix = f"b24bench:{os.getpid()}:{int(start_at)}:"
                ps = [subprocess.Popen(runner("paced", "--url", url, "--calls", str(per), "--burst", str(burst),
                                              "--drain", str(drain), "--shared-state", redis_url, "--prefix", prefix,
                                              "--start-at", str(start_at)),
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.sandbox_env())
                      for _ in range(4)]
                outs: List[Optional[Dict[str, Any]]] = []
                for i, p in enumerate(ps):
                    so, se = p.communicate(timeout=theory * 3 + 60)
                    if p.returncode != 0 or not so.strip():
                        self.failures.append(f"paced {label} process {i + 1}: exit {p.returncode}: {se.strip()[-300:]}")
                        outs.append(None)
                        continue
                    o = json.loads(so.strip().splitlines()[-1])
                    o["_what"] = f"paced {label} process {i + 1}"
                    self.raw.write(json.dumps(o) + "\n")
                    outs.append(o)
                return outs
            return go

        variants = [("callback-core, 1 process", single(self.rust, "core")),
                    ("callback-core, 4 processes sharing one Redis", four(self.rust, "core x4")),
                    ("bitrix24_callback (Python), 1 process", single(self.python, "python")),
                    ("bitrix24_callback (Python), 4 processes sharing one Redis", four(self.python, "python x4")),
                    ("bitrix24-callback (Node), 1 process", single(self.nodejs, "node")),
                    ("bitrix24-callback (Node), 4 processes sharing one Redis", four(self.nodejs, "node x4"))]
        rows = []
        for label, fn in variants:
            self.admin(info, "POST", "reset")
            outs = fn()
            stats = self.admin(info, "GET", "stats")
            good = [o for o in outs if o]
            if len(good) != len(outs):
                rows.append([label, "failed", "", "", "", ""])
                continue
            span = (max(o["end_ms"] for o in good) - min(o["start_ms"] for o in good)) / 1000
            ok = sum(o["ok"] for o in good)
            total = sum(o["calls"] for o in good)
            client_errors = sum(sum(o["errors"].values()) for o in good)
            rejected = stats.get("rate_limited", 0)
            t = max(total - burst, 0) / drain
            frac = t / span if span > 0 else float("nan")
            rows.append([label, f"{ok}/{total}", fmt(span, 2), fmt(t, 2), fmt(frac, 3), f"{rejected} (client errors {client_errors})"])
            self.target(f"paced: ≥0.97 of the theoretical rate, zero rejections ({label})",
                        f"{frac:.3f}, {rejected} rejected", frac >= 0.97 and rejected == 0 and client_errors == 0)
            self.log(f"paced {label}: {span:.2f} s for {total} calls")
        self.stop(portal)
        self.stop(redis)
        self.sections.append("\n".join([
            "## 3. Paced throughput\n",
            f"The fake portal with a leaky bucket of burst {burst}, drained {drain:g} per second (it answers "
            f"`QUERY_LIMIT_EXCEEDED` to a request that would overflow it), and clients configured with the "
            f"same bucket (`rate_limit=({burst}, {drain:g})`). {calls} sequential calls; the theoretical "
            f"minimum is the burst at once, then one call per 1/{drain:g} s: ({calls} − {burst}) / {drain:g} = "
            f"{theory:.1f} s. A 4-process run gives each process a quarter of the calls, all starting at "
            "one moment, sharing the bucket through one `redis-server` (`shared_state`, one key prefix). "
            "Time runs from the first call's start to the last call's end. Rejections are the "
            "portal's count of `QUERY_LIMIT_EXCEEDED` answers.\n",
            table(["run", "calls placed", "time s", "theoretical s", "fraction of the theoretical rate", "rejected"], rows),
        ]))

    def part_redis(self) -> None:
        rounds, calls = self.o.rounds, self.o.calls
        nginx, nport = self.start_nginx("nginx-redis")
        redis, redis_url = self.start_redis()
        url = f"http://127.0.0.1:{nport}{WEBHOOK_PATH}"
        big = "1000000,1000000"
        vs = [
            ("limiter", "in-process", ["--limiter", big]),
            ("limiter", "Redis", ["--limiter", big, "--shared-state", redis_url]),
            ("limiter + cooldown + hourly cap (a new number each call)", "in-process",
             ["--limiter", big, "--policy", "default", "--numbers", "distinct"]),
            ("limiter + cooldown + hourly cap (a new number each call)", "Redis",
             ["--limiter", big, "--policy", "default", "--numbers", "distinct", "--shared-state", redis_url]),
        ]
        res: Dict[int, List[Dict[str, Any]]] = {}
        scripts: Dict[int, float] = {}
        warmup = max(1, calls // 10)
        for r in range(rounds):
            for i, (what, where, extra) in enumerate(vs):
                self.redis_command(redis_url, "CONFIG", "RESETSTAT")
                out = self.run_json(f"redis {what} {where} round {r + 1}",
                                    self.rust("seq", "--client", "core", "--url", url, "--calls", str(calls),
                                              "--warmup", str(warmup), *extra))
                if out:
                    res.setdefault(i, []).append(out)
                    scripts[i] = self.redis_scripts(redis_url) / (calls + warmup)
        self.stop(nginx)
        self.stop(redis)
        p50 = [median([x["p50_us"] for x in res.get(i, [])]) for i in range(len(vs))]
        mean = [median([x["us_per_call"] for x in res.get(i, [])]) for i in range(len(vs))]
        cpu = [median([x["cpu_us_per_call"] for x in res.get(i, [])]) for i in range(len(vs))]
        rows = []
        for i, (what, where, _) in enumerate(vs):
            added = "" if i % 2 == 0 else f"+{fmt(p50[i] - p50[i - 1], 1)}"
            per_call = "" if i % 2 == 0 else fmt(scripts.get(i), 1)
            rows.append([what, where, fmt(p50[i], 1), added, per_call, fmt(mean[i], 1), fmt(cpu[i], 1)])
        self.sections.append("\n".join([
            "## 4. Shared state in Redis: the added latency per call\n",
            f"callback-core against nginx on loopback, {calls} sequential calls per process, {rounds} "
            "rounds; the limiter is on with a bucket too large to ever wait, so every call asks it for a "
            "slot (in Redis: one script, i.e. one round trip to `redis-server` on loopback, per decision; "
            "the scripts per call are counted from Redis's own command statistics).\n",
            table(["decisions", "state", "median call µs", "added by Redis", "Redis scripts per call", "mean µs",
                   "client CPU µs/call"], rows),
        ]))

    def part_concurrency(self) -> None:
        nginx, nport = self.start_nginx("nginx-concurrency")
        url = f"http://127.0.0.1:{nport}{WEBHOOK_PATH}"
        levels = [1, 4, 16, 64]
        total = self.o.conc_calls
        langs = [("core", "callback-core (threads)", self.rust),
                 ("py", "Python (threads)", self.python),
                 ("node", "Node (promises)", self.nodejs)]
        res: Dict[Tuple[str, int], List[Dict[str, Any]]] = {}
        for r in range(self.o.conc_rounds):
            for t in levels:
                for lid, _l, runner in langs:
                    per = max(5, total // t)
                    out = self.run_json(f"concurrency {lid} {t} round {r + 1}",
                                        runner("conc", "--url", url, "--threads", str(t), "--calls", str(per)))
                    if out:
                        res.setdefault((lid, t), []).append(out)
        self.stop(nginx)
        rows = []
        for t in levels:
            row: List[Any] = [t]
            for lid, _l, _ in langs:
                xs = res.get((lid, t), [])
                row += [fmt(median([x["calls_per_s"] for x in xs])), fmt(median([x["p50_us"] for x in xs])),
                        fmt(median([x["cpu_us_per_call"] for x in xs]))]
            rows.append(row)
        header = ["in flight"]
        for _lid, label, _ in langs:
            header += [f"{label} calls/s", "p50 µs", "CPU µs/call"]
        self.sections.append("\n".join([
            "## 5. Concurrency on one client\n",
            f"One client shared by 1, 4, 16 and 64 threads (Rust, Python) or promise chains (Node), each "
            f"making sequential calls, about {total} calls in all per run, against nginx on loopback; medians "
            f"of {self.o.conc_rounds} rounds. Node runs calls on libuv's pool (4 threads by default), so "
            "beyond 4 in flight calls queue there. The machine has "
            f"{os.cpu_count()} cores, shared by client and server.\n",
            table(header, rows),
        ]))

    def part_coldstart(self) -> None:
        if not shutil.which("hyperfine"):
            raise PartFailed("hyperfine is missing")
        runs = str(self.o.hyperfine_runs)
        py, node = self.py, self.node
        groups = [
            ("python", self.node_project, [
                ("python (bare)", [py, "-c", "pass"]),
                ("import bitrix24_callback", [py, "-c", "import bitrix24_callback"]),
                ("import requests", [py, "-c", "import requests"]),
                ("import httpx", [py, "-c", "import httpx"]),
                ("import urllib3", [py, "-c", "import urllib3"]),
                ("import b24pysdk", [py, "-c", "import b24pysdk"]),
            ]),
            ("node", self.node_project, [
                ("node (bare)", [node, "-e", "0"]),
                ("require('bitrix24-callback')", [node, "-e", 'require("bitrix24-callback")']),
                ("require('undici')", [node, "-e", 'require("undici")']),
                ("require('axios')", [node, "-e", 'require("axios")']),
                ("require('@bitrix24/b24jssdk')", [node, "-e", 'require("@bitrix24/b24jssdk")']),
            ]),
            ("cli", str(self.work), [
                ("b24-callback --version", [self.cli, "--version"]),
                ("b24-callback start --no-follow (sandbox)",
                 [self.cli, "start", "--no-follow", "--line", "reg1", "--to", NUMBER, "--text", "Hi"]),
            ]),
        ]
        results: Dict[str, Dict[str, Any]] = {}
        for gname, cwd, cmds in groups:
            export = self.work / f"hyperfine-{gname}.json"
            argv = ["hyperfine", "--shell=none", "--warmup", "0" if self.quick else "3", "--runs", runs,
                    "--export-json", str(export), "--style", "basic"]
            for label, cmd in cmds:
                argv += ["-n", label, shlex.join(cmd)]
            p = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=self.sandbox_env())
            if p.returncode != 0:
                raise PartFailed(f"hyperfine {gname}: {p.stderr.strip()[-400:]}")
            for r in json.loads(export.read_text())["results"]:
                results[r["command"]] = r
                self.raw.write(json.dumps({"_what": f"coldstart {r['command']}",
                                           **{k: r.get(k) for k in ("mean", "stddev", "median", "min", "max", "user", "system")}}) + "\n")
        ms = lambda label, key="median": results[label][key] * 1000  # noqa: E731
        rows = []
        for gname, _cwd, cmds in groups:
            base = cmds[0][0]
            for label, _cmd in cmds:
                r = results[label]
                cpu = (r.get("user", 0) + r.get("system", 0)) * 1000
                rows.append([f"`{label}`", f"{ms(label, 'mean'):.1f} ± {r['stddev'] * 1000:.1f}", f"{ms(label, 'min'):.1f}",
                             f"{ms(label):.1f}", "" if label == base else f"+{ms(label) - ms(base):.1f}", f"{cpu:.1f}"])
        self.sections.append("\n".join([
            "## 6. Cold start\n",
            f"hyperfine, {runs} runs after warm-ups, no shell; milliseconds. The CLI runs in its sandbox (no "
            "portal configured: it starts its embedded fake portal, validates, makes one call and exits). "
            "*Over bare* is what the import adds to the bare interpreter's median; *CPU* is the mean user + "
            "system time of the process, which other load on the machine inflates far less than wall time.\n",
            table(["command", "mean ± σ", "min", "median", "over bare", "CPU"], rows),
        ]))
        imp, req, cli = ms("import bitrix24_callback"), ms("require('bitrix24-callback')"), ms("b24-callback start --no-follow (sandbox)")
        self.target("`import bitrix24_callback` < 40 ms", f"{imp:.1f} ms (+{imp - ms('python (bare)'):.1f} over bare python)", imp < 40)
        self.target("`require('bitrix24-callback')` < 50 ms", f"{req:.1f} ms (+{req - ms('node (bare)'):.1f} over bare node)", req < 50)
        self.target("CLI `start` in the sandbox < 20 ms", f"{cli:.1f} ms", cli < 20)

    def part_footprint(self) -> None:
        def size(p: Optional[str]) -> str:
            return f"{os.path.getsize(p) / 1048576:.2f} MiB" if p and os.path.exists(p) else "–"

        def stripped(p: Optional[str]) -> str:
            if not p or not os.path.exists(p) or p.endswith(".whl") or not shutil.which("strip"):
                return ""
            copy = self.work / "stripped"
            if subprocess.run(["strip", "-o", str(copy), p], capture_output=True).returncode != 0:
                return ""
            return size(str(copy))

        site = subprocess.run([self.py, "-c", "import bitrix24_callback._native as m; print(m.__file__)"],
                              capture_output=True, text=True).stdout.strip()
        files = [
            ("wheel", os.environ.get("B24_BENCH_WHEEL")),
            ("Python extension `.so` (installed)", site or None),
            ("Node addon `.node`", os.environ.get("B24_BENCH_NODE_ADDON")),
            ("`b24-callback` (CLI with the embedded fake portal)", self.cli),
        ]
        uniffi = Path(self.cli).parent / "libcallback_uniffi.so"
        if uniffi.exists():
            files.append(("uniffi `.so` (Kotlin, Swift)", str(uniffi)))
        nginx, nport = self.start_nginx("nginx-footprint")
        url = f"http://127.0.0.1:{nport}{WEBHOOK_PATH}"
        n = self.o.rss_calls
        rows = []
        for label, runner, client in [("callback-core (Rust)", self.rust, "core"),
                                      ("bitrix24_callback (Python)", self.python, "ours"),
                                      ("bitrix24-callback (Node)", self.nodejs, "ours"),
                                      ("requests.Session (Python), for scale", self.python, "requests"),
                                      ("undici.Pool (Node), for scale", self.nodejs, "undici")]:
            one = self.run_json(f"footprint {label} 1 call", runner("seq", "--client", client, "--url", url, "--calls", "1"))
            many = self.run_json(f"footprint {label} {n} calls", runner("seq", "--client", client, "--url", url, "--calls", str(n)))
            mib = lambda o, k: f"{o[k] / 1024:.1f}" if o else "–"  # noqa: E731
            rows.append([label, mib(one, "rss_kib"), mib(many, "rss_kib"), mib(many, "hwm_kib")])
        self.stop(nginx)
        self.sections.append("\n".join([
            "## 7. Footprint\n",
            table(["file", "size as built", "stripped"], [[a, size(b), stripped(b)] for a, b in files]),
            "",
            "As built: `cargo build --release`, `maturin build --release`, `napi build --release --strip`; "
            "stripped: a copy through `strip`, for what a published package could weigh.",
            "",
            f"Resident memory (MiB) of a contender process after 1 call and after {n} sequential calls "
            "(`VmRSS`; the peak is `VmHWM`), against nginx on loopback:\n",
            table(["process", "RSS after 1 call", f"RSS after {n} calls", "peak"], rows),
        ]))

    def part_validation(self) -> None:
        rounds = "0" if self.quick else "5"  # the smoke run: first passes only
        rows: List[List[Any]] = []
        mem: List[List[Any]] = []
        numbers, ws = 0, 0
        for label, runner in [("callback-core (Rust)", self.rust), ("bitrix24_callback (Python)", self.python),
                              ("bitrix24-callback (Node)", self.nodejs)]:
            o = self.run_json(f"validation {label}", runner("validate", "--vectors", str(VECTORS), "--rounds", rounds))
            if not o:
                continue
            if o["refused"]:
                self.failures.append(f"validation {label}: {o['refused']} example numbers refused")
            rows.append([label, fmt(o["first_number_us"]), fmt(o["us_number_us"], 1), fmt(o["ws_first_pass_us"], 1),
                         fmt(o["ws_us"], 1), fmt(o["mixed_first_pass_us"], 1), fmt(o["mixed_us"], 1)])
            k = lambda key: f"{o[key] / 1024:.1f}"  # noqa: E731
            mem.append([label, k("rss_before_first_kib"), k("rss_after_us_kib"), k("rss_after_ws_kib"),
                        k("rss_after_all_kib"), k("hwm_kib")])
            numbers, ws = o["numbers"], o["working_set_numbers"]
        self.sections.append("\n".join([
            "## 8. Phone-number validation\n",
            "A whole request validation per number (line, text and the number: parsing, the region's "
            "patterns, the number type), through each package's public validation (`CallbackRequest::builder()"
            "...build()`, `build_request`, `validateRequest`), nothing sent. The first number is the "
            "process's first validation (libphonenumber's metadata loaded); the US number is "
            "`+1 201 555 0123` again and again; *a few regions* are the example numbers of 16 large "
            f"regions ({ws} numbers: US CA GB DE FR IT ES PL NL BR MX IN TR UA KZ AU, fewer calling codes "
            "than the core keeps compiled); *every region* is all example numbers of every region and "
            f"type ({numbers} numbers, tests/vectors/numbers.json), cycling through more calling codes than "
            "the core's compiled working set holds, so its patterns are compiled again and again. First "
            "pass and warm passes; µs per number:\n",
            table(["package", "first number (cold)", "US number", "a few regions, first pass", "a few regions, warm",
                   "every region, first pass", "every region, warm"], rows),
            "",
            "Resident memory (MiB) of the same process: loaded but nothing validated, after the first "
            "(US) number, after the few regions, after every region, and its peak:\n",
            table(["package", "before", "after one US number", "after a few regions", "after every region", "peak"], mem),
        ]))

    # ----- report -----

    def machine(self) -> List[List[str]]:
        def first(cmd: List[str]) -> str:
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
                return (p.stdout or p.stderr).strip().splitlines()[0]
            except (OSError, IndexError, subprocess.TimeoutExpired):
                return "–"

        cpu = "–"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = "–"
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1048576:.1f} GiB"
        os_name = "–"
        try:
            os_name = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text()).group(1)  # type: ignore[union-attr]
        except (OSError, AttributeError):
            pass
        commit = first(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return [
            ["date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.started))],
            ["commit", f"`{commit}`" + (" (with local changes)" if dirty else "")],
            ["CPU", f"{cpu}, `nproc` = {os.cpu_count()}"],
            ["memory", mem],
            ["OS, kernel", f"{os_name}, {platform.release()}"],
            ["load average (1, 5, 15 min)", f"{self.load_start} at the start, {self.loadavg()} at the end"],
            ["build", f"{self.profile} (Rust contenders, CLI, wheel, Node addon)"],
        ]

    def versions(self) -> List[List[str]]:
        def out(cmd: List[str]) -> str:
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
                return (p.stdout + p.stderr).strip()
            except OSError:
                return "–"

        pyv = out([self.py, "-c", "import sys, importlib.metadata as m\nfor n in ['bitrix24-callback','requests','httpx','urllib3','b24pysdk']:\n  print(n + (' (PyPI)' if n == 'bitrix24-callback' else ''), m.version(n))\nprint('python', sys.version.split()[0])"])
        nodev = out([self.node, "-e", "const r=require('module').createRequire(process.argv[1]+'/package.json');"
                     "for (const n of ['bitrix24-callback','undici','axios','@bitrix24/b24jssdk']) console.log(n + (n === 'bitrix24-callback' ? ' (npm)' : ''), r(n+'/package.json').version);"
                     "console.log('node', process.versions.node)", self.node_project])
        rows = [ln.rsplit(" ", 1) for ln in (pyv + "\n" + nodev).splitlines() if " " in ln]
        rows.append(["rustc", out(["rustc", "--version"]).replace("rustc ", "")])
        rows.append(["nginx", out(["nginx", "-v"]).split("/")[-1]])
        rows.append(["redis-server", (re.search(r"v=(\S+)", out(["redis-server", "--version"])) or [None, "–"])[1]])
        rows.append(["hyperfine", out(["hyperfine", "--version"]).replace("hyperfine ", "")])
        return [[f"`{a}`", b] for a, b in rows]

    def report(self, parts: List[str]) -> str:
        head = [
            "# bitrix24-callback benchmark report\n",
            f"`benches/run {' '.join(shown_args(self.o.argv))}`".replace(" `", "`") + f", parts: {', '.join(parts)}.",
            "" if not self.quick else "\n**Smoke run (`--quick`): tiny counts, the figures mean nothing.**",
            "",
            table(["machine", ""], self.machine(), numeric=False),
            "",
            table(["software", "version"], self.versions(), numeric=False),
            "",
            "## Targets\n",
            table(["target", "figure", ""], [[a, b, c] for a, b, c, _ in self.targets], numeric=False)
            if self.targets else "(none measured)",
            "",
        ]
        tail = []
        if self.failures:
            tail += ["## Failures\n"] + [f"- {f}" for f in self.failures] + [""]
        if self.notes:
            tail += ["## Notes\n"] + [f"- {n}" for n in self.notes] + [""]
        return "\n".join(head) + "\n" + "\n\n".join(self.sections) + "\n\n" + "\n".join(tail)


def shown_args(argv: List[str]) -> List[str]:
    """The command line as the report shows it: without the output folder (a local path)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            out.append(a)
    return out


def options(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benches/run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: tiny counts (the figures mean nothing)")
    p.add_argument("--only", default="", help=f"comma-separated parts: {','.join(PARTS)} (default: all)")
    p.add_argument("--contenders", default="", help="loopback: only these contender ids (the floor always runs)")
    p.add_argument("--rounds", type=int, help="rounds of the loopback and Redis parts (default 5)")
    p.add_argument("--calls", type=int, help="calls per process on loopback (default 2000)")
    p.add_argument("--wan-calls", type=int, help="timed calls per process over the WAN (default 20)")
    p.add_argument("--wan-rounds", type=int, help="rounds over the WAN (default 3)")
    p.add_argument("--wan-delay-ms", type=float, default=20.0, help="one-way delay of the WAN (default 20)")
    p.add_argument("--paced-calls", type=int, help="calls of the paced run (default 300)")
    p.add_argument("--conc-calls", type=int, help="calls per concurrency run (default 4000)")
    p.add_argument("--conc-rounds", type=int, help="rounds of the concurrency part (default 3)")
    p.add_argument("--rss-calls", type=int, help="calls of the memory run (default 10000)")
    p.add_argument("--hyperfine-runs", type=int, help="hyperfine runs per command (default 30)")
    p.add_argument("--out", default=os.environ.get("B24_BENCH_OUT", "bench-results"), help="where report.md and raw.jsonl go")
    o = p.parse_args(argv)
    o.argv = argv
    q = o.quick
    defaults = dict(rounds=(1, 5), calls=(20, 2000), wan_calls=(3, 20), wan_rounds=(1, 3), paced_calls=(24, 300),
                    conc_calls=(64, 4000), conc_rounds=(1, 3), rss_calls=(200, 10000), hyperfine_runs=(2, 30))
    for k, (quick, full) in defaults.items():
        if getattr(o, k) is None:
            setattr(o, k, quick if q else full)
    return o


def main() -> int:
    o = options(sys.argv[1:])
    parts = [s for s in o.only.split(",") if s] or PARTS
    unknown = [s for s in parts if s not in PARTS]
    if unknown:
        print(f"benches/run: unknown part(s) {', '.join(unknown)}; parts are {', '.join(PARTS)}", file=sys.stderr)
        return 2
    b = Bench(o)

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    ran, failed = [], []
    try:
        for part in parts:
            b.log(f"part {part}")
            t0 = time.time()
            before = len(b.failures)
            try:
                getattr(b, f"part_{part}")()
            except PartFailed as e:
                b.failures.append(f"{part}: {e}")
            except (OSError, subprocess.SubprocessError, KeyError, ValueError, TypeError, ZeroDivisionError) as e:
                b.failures.append(f"{part}: {type(e).__name__}: {e}")
            (failed if len(b.failures) > before else ran).append(part)
            b.log(f"part {part}: {time.time() - t0:.1f} s")
    finally:
        b.cleanup()
    text = b.report(parts)
    (b.out / "report.md").write_text(text)
    print(text)
    print(f"report: {b.out / 'report.md'}, raw results: {b.out / 'raw.jsonl'}", file=sys.stderr)
    print(f"benchmark parts: {len(ran)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
