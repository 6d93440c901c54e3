#!/usr/bin/env python3
"""Builds each fuzz target's seed corpus from the shared vectors (tests/vectors/*.json).

    fuzz/seed.py CORPUS_DIR

writes CORPUS_DIR/<target>/seed-<n> files in each target's input format (see the target's
header comment) and adds the committed regression inputs (fuzz/regressions/<target>/*).
Files already there (a corpus grown by an earlier run) are kept. Nothing here is committed.
"""

import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "tests", "vectors")
TARGETS = [
    "number_policy",
    "classify",
    "events",
    "webhook_url",
    "redirect",
    "token_answer",
    "sanitize",
]


def load(name):
    with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
        return json.load(f)


def status_body(status, body):
    return int(status).to_bytes(2, "big") + body.encode("utf-8")


def number_policy_seeds():
    numbers = load("numbers.json")
    seeds = []
    # A sample of the oracle's inputs: every hand-picked case, every 8th example, every 40th
    # random input (the full 5,000 would only slow the first pass down).
    picked = (
        numbers["cases_of_interest"]
        + numbers["examples"][::8]
        + numbers["random"][::40]
    )
    for case in picked:
        seeds.append(f"{case['input']}\n{case.get('region_given') or ''}")
    for case in load("requests.json")["cases"]:
        i = case["input"]
        lines = [i.get("to_number", ""), i.get("default_region", "")]
        for key, name in [("from_line", "from_line"), ("text", "text"), ("voice", "voice")]:
            if key in i:
                lines.append(f"{name}={i[key]}".replace("\n", " "))
        seeds.append("\n".join(lines))
    for case in load("policy.json")["cases"]:
        lines = [case["number"], ""]
        for name, value in case["policy"].items():
            if isinstance(value, list):
                lines.append(f"{name}={','.join(value)}")
            else:
                lines.append(f"{name}={'true' if value else 'false'}")
        seeds.append("\n".join(lines))
    return [s.encode("utf-8") for s in seeds]


def classify_seeds():
    return [status_body(c["http_status"], c["body"]) for c in load("responses.json")["cases"]]


def events_seeds():
    return [c["body"].encode("utf-8") for c in load("events.json")["cases"]]


def webhook_seeds():
    seeds = [
        "https://example.bitrix24.com/rest/1/abcsecret123/",
        "https://example.bitrix24.com/rest/1/abcsecret123/voximplant.callback.start",
        "http://127.0.0.1:8080/rest/1/abcsecret123",
        "http://[::1]:9/rest/17/s3cr3t/",
        "http://localhost/rest/1/x/profile.json",
        "https://u:p@example.com/rest/1/abcsecret123/",
        "https://example.com/rest/1/abcsecret123/?a=1#f",
    ]
    # Portal addresses that appear in the vectors.
    for case in load("events.json")["cases"]:
        for part in case["body"].split("&"):
            if part.startswith("auth%5Bdomain%5D="):
                seeds.append(f"https://{part.split('=', 1)[1]}/rest/1/fromvectors01/")
    return [s.encode("utf-8") for s in seeds]


def redirect_seeds():
    locations = [
        "https://renamed.bitrix24.com/rest/1/abcsecret123/voximplant.callback.start.json",
        "/rest/1/abcsecret123/voximplant.callback.start.json",
        "//other.example.com/rest/",
        "http://127.0.0.1:10/rest/1/s/",
        "https://user:pass@evil.example/rest/",
        "https://portal.bitrix24.com/rest/x",
        "../rest/1/x/",
        "https://[::1]:9/rest/",
    ]
    seeds = []
    for base in range(6):
        for loc in locations:
            seeds.append(bytes([base]) + loc.encode("utf-8"))
    return seeds


def token_seeds():
    seeds = [
        status_body(200, json.dumps({
            "access_token": "newaccesstoken0001", "refresh_token": "newrefreshtoken0001",
            "expires_in": 3600, "expires": 1773739677, "scope": "telephony,call",
            "client_endpoint": "https://portal.bitrix24.com/rest/",
            "server_endpoint": "https://oauth.bitrix.info/rest/", "status": "L",
        })),
        status_body(200, '{"access_token":"a","refresh_token":"","expires_in":"3600"}'),
        status_body(400, '{"error":"invalid_grant","error_description":"refresh_token=abc12345 is used"}'),
        status_body(401, '{"error":"expired_token","access_token":"leakme0001leak"}'),
        status_body(503, '{"error":"QUERY_LIMIT_EXCEEDED"}'),
        status_body(200, '{"error":"wrong_client"}'),
        status_body(200, '<html>'),
    ]
    # The portal's error answers are the token server's too.
    for case in load("responses.json")["cases"]:
        seeds.append(status_body(case["http_status"], case["body"]))
    return seeds


def sanitize_seeds():
    texts = [
        "Not found: /rest/1/s3cr3tw3bh00k/voximplant.callback.start",
        "bad request auth=tok3n.value&x=1",
        '{"access_token": "abc123def456"}',
        "number +44 7911 123456 refused",
        "a\nb\u0000c",
    ]
    for case in load("responses.json")["cases"]:
        try:
            value = json.loads(case["body"])
        except ValueError:
            texts.append(case["body"])
            continue
        if isinstance(value, dict):
            for key in ("error", "error_description"):
                if isinstance(value.get(key), str):
                    texts.append(value[key])
    for case in load("events.json")["cases"]:
        texts.append(case["body"])
    seeds = [t.encode("utf-8") for t in texts]
    # Amplified forms (see the target): repeated fragments of a large answer.
    seeds += [b"*\x10auth/", b"*\x0c/rest/1/x", b"*\x08+1 201 555 0123 "]
    return seeds


SEEDS = {
    "number_policy": number_policy_seeds,
    "classify": classify_seeds,
    "events": events_seeds,
    "webhook_url": webhook_seeds,
    "redirect": redirect_seeds,
    "token_answer": token_seeds,
    "sanitize": sanitize_seeds,
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    corpus = sys.argv[1]
    for target in TARGETS:
        out = os.path.join(corpus, target)
        os.makedirs(out, exist_ok=True)
        count = 0
        for data in SEEDS[target]():
            name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
            count += 1
        regressions = os.path.join(HERE, "regressions", target)
        if os.path.isdir(regressions):
            for name in sorted(os.listdir(regressions)):
                shutil.copyfile(os.path.join(regressions, name), os.path.join(out, "regression-" + name))
                count += 1
        print(f"{target}: {count} seeds")


if __name__ == "__main__":
    main()
