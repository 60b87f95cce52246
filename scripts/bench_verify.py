#!/usr/bin/env python3
"""The client half of scripts/bench-verify.sh: drives wrk against a running Gatehouse
and prints the gateway-path figures.

    bench_verify.py unknown KEYS_FILE OUT N     N well-formed (checksummed) keys that
                                                no database holds, same prefix
    bench_verify.py check PORT GW_TOKEN PRODUCT KEYS UNKNOWN
                                                a few requests of each figure answer
                                                as expected (VALID, NOT_FOUND, 204)
    bench_verify.py measure OUT.json PORT GW_TOKEN PRODUCT KEYS UNKNOWN
                                                wrk for each figure, interleaved
    bench_verify.py report OUT.json FACTS.json  the table, ratios and targets
    bench_verify.py lag PORT_A PORT_B GW_TOKEN ADMIN_TOKEN PRODUCT KEYS N
                                                cross-instance revocation lag

Every wrk figure uses one Lua script that picks a random line of a keys file and
builds its request from it, so the client does the same work per request for
/healthz as for verify: the ratios compare the server's work. BENCH_DURATION
(seconds per run, default 10), BENCH_CONNECTIONS (default 32), BENCH_THREADS
(default 2) and BENCH_ROUNDS (default 3) shape the runs. Only the Python standard
library besides wrk.
"""

import http.client
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

LUA = r"""
local mode = os.getenv("BENCH_MODE")
local token = os.getenv("BENCH_GATEWAY_TOKEN")
local product = os.getenv("BENCH_PRODUCT")
local keys = {}
for line in io.lines(os.getenv("BENCH_KEYS_FILE")) do keys[#keys + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
local n = #keys

request = function()
  local key = keys[math.random(n)]
  if mode == "verify" then
    return wrk.format("POST", "/api/v1/keys/verify",
      { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
      '{"key":"' .. key .. '","product":"' .. product .. '"}')
  elseif mode == "auth" then
    return wrk.format("GET", "/api/v1/auth-request",
      { ["X-Gatehouse-Token"] = token, ["X-API-Key"] = key, ["X-Gatehouse-Product"] = product })
  else
    -- The same client work (a random key, a string built) for a request the server
    -- answers without looking at it.
    return wrk.format("GET", "/healthz",
      { ["X-Bench-Key"] = key, ["X-Bench-Product"] = product })
  end
end
"""

# (name, wrk mode, keys file argument)
FIGURES = [
    ("/healthz", "healthz", "keys"),
    ("verify, valid key", "verify", "keys"),
    ("verify, unknown key", "verify", "unknown"),
    ("auth-request, valid key", "auth", "keys"),
]


def checksum(text):
    value = zlib.crc32(text.encode())
    out = []
    for _ in range(6):
        out.append(BASE62[value % 62])
        value //= 62
    return "".join(reversed(out))


def unknown(keys_file, out, n):
    with open(keys_file) as f:
        first = f.readline().strip()
    prefix = first[: first.rindex("_") + 1]
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for _ in range(n):
            body = "".join(secrets.choice(BASE62) for _ in range(28))
            signed = prefix + body
            f.write(signed + checksum(signed) + "\n")


def sample(path, n):
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip()]
    return random.sample(lines, min(n, len(lines)))


def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def verify(conn, token, key, product):
    status, _, body = call(
        conn,
        "POST",
        "/api/v1/keys/verify",
        json.dumps({"key": key, "product": product}),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    if status != 200:
        sys.exit(f"bench: verify answered {status}: {body[:200]!r}")
    return json.loads(body)


def check(port, token, product, keys, unknown_file):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    valid = [verify(conn, token, k, product)["code"] for k in sample(keys, 200)]
    missing = [verify(conn, token, k, product)["code"] for k in sample(unknown_file, 50)]
    auth = []
    for k in sample(keys, 50):
        status, headers, _ = call(
            conn,
            "GET",
            "/api/v1/auth-request",
            headers={"X-Gatehouse-Token": token, "X-API-Key": k, "X-Gatehouse-Product": product},
        )
        auth.append(status)
    bad = (
        [c for c in valid if c != "VALID"]
        + [c for c in missing if c != "NOT_FOUND"]
        + [str(s) for s in auth if s != 204]
    )
    if bad:
        sys.exit(f"bench: unexpected answers before measuring: {sorted(set(bad))}")
    print(
        f"    checked: {len(valid)} sampled keys VALID, {len(missing)} unknown NOT_FOUND, "
        f"{len(auth)} auth-requests 204",
        file=sys.stderr,
    )


def seconds(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(2)]


def wrk(port, script, mode, keys, token, product, duration):
    env = dict(
        os.environ,
        BENCH_MODE=mode,
        BENCH_GATEWAY_TOKEN=token,
        BENCH_PRODUCT=product,
        BENCH_KEYS_FILE=keys,
    )
    args = [
        "wrk",
        "--latency",
        "-t",
        os.environ.get("BENCH_THREADS", "2"),
        "-c",
        os.environ.get("BENCH_CONNECTIONS", "32"),
        "-d",
        f"{duration}s",
        "-s",
        script,
        f"http://127.0.0.1:{port}",
    ]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    return {
        "rps": rps,
        "p50": seconds(pct.get("50", "")),
        "p99": seconds(pct.get("99", "")),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def measure(out, port, token, product, keys, unknown_file):
    duration = int(os.environ.get("BENCH_DURATION", "10"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    files = {"keys": keys, "unknown": unknown_file}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
        script = f.name
    try:
        # Warm-up: connections, the allocator, the CPU's caches and frequency.
        for _, mode, which in FIGURES:
            wrk(port, script, mode, files[which], token, product, 2)
        runs = {name: [] for name, _, _ in FIGURES}
        for r in range(rounds):
            # Interleaved, rotating the starting figure: drift in the machine's load
            # falls on every figure alike.
            order = FIGURES[r % len(FIGURES) :] + FIGURES[: r % len(FIGURES)]
            for name, mode, which in order:
                result = wrk(port, script, mode, files[which], token, product, duration)
                runs[name].append(result)
                print(
                    f"    round {r + 1}/{rounds} {name:<24} {result['rps']:>9.0f} req/s  "
                    f"p50 {result['p50'] * 1e3:6.2f} ms  p99 {result['p99'] * 1e3:6.2f} ms"
                    + (f"  non-2xx {result['non2xx']}" if result["non2xx"] else "")
                    + (f"  socket errors: {result['socket_errors']}" if result["socket_errors"] else ""),
                    file=sys.stderr,
                )
    finally:
        os.unlink(script)
    with open(out, "w") as f:
        json.dump(
            {
                "runs": runs,
                "duration": duration,
                "rounds": rounds,
                "threads": os.environ.get("BENCH_THREADS", "2"),
                "connections": os.environ.get("BENCH_CONNECTIONS", "32"),
            },
            f,
        )


def report(results_file, facts_file):
    results = json.load(open(results_file))
    facts = json.load(open(facts_file))
    runs = results["runs"]
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")} for name, rs in runs.items()}
    base = med["/healthz"]["rps"]
    print()
    print(
        f"Gateway path, {facts['keys']:,} keys in {facts['apps']:,} apps (SQLite), "
        f"wrk -t{results['threads']} -c{results['connections']}, "
        f"{results['rounds']} interleaved runs of {results['duration']} s per figure (medians)"
    )
    print()
    print(f"{'figure':<26}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}  target")
    ok = True
    for name, _, _ in FIGURES:
        m = med[name]
        ratio = m["rps"] / base if base else float("nan")
        target = ""
        if name != "/healthz":
            met = ratio >= 0.8
            ok &= met
            target = f"≥ 0.80 {'met' if met else 'MISSED'}"
        non2xx = sum(r["non2xx"] for r in runs[name])
        extra = f"  ({non2xx} non-2xx)" if non2xx and name.startswith("auth") else ""
        print(f"{name:<26}{m['rps']:>10.0f}{m['p50'] * 1e3:>9.2f}{m['p99'] * 1e3:>9.2f}{ratio:>8.2f}  {target}{extra}")
    print()
    empty, full = facts["rss_empty"], facts["rss_full"]
    million = facts["keys"] / 1e6

    def per_million(field):
        return (full[field] - empty[field]) / 1024 / million

    met = per_million("anon") <= 100
    ok &= met
    print("Resident memory at start (MB)    empty database   with the keys   extra per million keys")
    for label, field in (
        ("process's own (RssAnon)", "anon"),
        ("SQLite's mapped file (RssFile)", "file"),
        ("total (VmRSS)", "rss"),
    ):
        print(
            f"  {label:<31}{empty[field] / 1024:>10.1f}{full[field] / 1024:>16.1f}{per_million(field):>17.1f}"
            + (f"   target ≤ 100: {'met' if met else 'MISSED'}" if field == "anon" else "")
        )
    print(f"  peak under load (VmHWM) with the keys: {facts['hwm_full_kb'] / 1024:.1f} MB")
    load_s = facts["load_millis"] / 1000
    # The target is for a million keys; smaller runs scale it.
    scaled = load_s * 1e6 / facts["keys"]
    met = scaled <= 5
    ok &= met
    print(
        f"Cold load of the verify index: {facts['index_keys']:,} keys, {facts['index_apps']:,} apps "
        f"in {load_s:.2f} s ({scaled:.2f} s per million keys; target ≤ 5: {'met' if met else 'MISSED'})"
    )
    if facts.get("seed_seconds") is not None:
        print(
            f"Seeding: {facts['apps']:,} apps in {facts['seed_apps_seconds']:.1f} s, "
            f"{facts['keys']:,} keys in {facts['seed_seconds']:.1f} s"
        )
    print()
    print("All targets met." if ok else "Some targets MISSED.")


def lag(port_a, port_b, token, admin_token, product, keys, n):
    a = http.client.HTTPConnection("127.0.0.1", port_a, timeout=30)
    b = http.client.HTTPConnection("127.0.0.1", port_b, timeout=30)
    lags, codes = [], set()
    for key in sample(keys, 3 * n):
        if len(lags) == n:
            break
        v = verify(b, token, key, product)
        if v["code"] != "VALID":
            continue
        app_id, cred = v["app"]["id"], v["credential_id"]
        status, _, body = call(
            a,
            "POST",
            f"/api/v1/apps/{app_id}/credentials/{cred}/retire",
            body="{}",
            headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        )
        if status >= 300:
            sys.exit(f"bench: retire answered {status}: {body[:200]!r}")
        done = time.perf_counter()
        while True:
            code = verify(b, token, key, product)["code"]
            # RATE_LIMITED (polling one app fast) still means the key is live.
            if code not in ("VALID", "RATE_LIMITED"):
                lags.append(time.perf_counter() - done)
                codes.add(code)
                break
            if time.perf_counter() - done > 30:
                sys.exit("bench: the other instance still accepts a retired key after 30 s")
        time.sleep(random.uniform(0, 0.25))
    lags.sort()
    print(
        f"Revocation lag across instances (retire on one, verify on the other, {len(lags)} keys): "
        f"median {statistics.median(lags) * 1e3:.0f} ms, p90 {lags[int(len(lags) * 0.9) - 1] * 1e3:.0f} ms, "
        f"max {lags[-1] * 1e3:.0f} ms (answer then: {', '.join(sorted(codes))})"
    )


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "unknown":
        unknown(args[0], args[1], int(args[2]))
    elif cmd == "check":
        check(int(args[0]), *args[1:])
    elif cmd == "measure":
        measure(args[0], int(args[1]), *args[2:])
    elif cmd == "report":
        report(*args)
    elif cmd == "lag":
        lag(int(args[0]), int(args[1]), args[2], args[3], args[4], args[5], int(args[6]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
