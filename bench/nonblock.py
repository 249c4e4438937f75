#!/usr/bin/env python3
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
"""The bursts' driver.

Sends N callbacks at once (one connection each, all opened together, fresh
states from a record file) to a location whose token endpoint answers after
1 s, and meanwhile probes a plain location of the same server every PERIOD
ms on its own keep-alive connection.  Probe latency is measured from the
moment the probe was due, not from when it was sent, so a stalled worker
cannot hide behind a late probe (no coordinated omission).  The probe
stops when the last callback has its answer.  Prints one JSON object.

The records are the module's (bench/states.py, fixed length) or, with
--peer, the peer's (bench/openidc.py: CODE STATE COOKIE lines); with
--expect-location a 302 counts as "302" only when it goes there (the
peer's success), as "302-elsewhere" otherwise.
"""

import argparse
import asyncio
import json
import signal
import sys
import time

RECLEN = 99


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    location = None
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif line.lower().startswith(b"location:"):
            location = line.split(b":", 1)[1].strip()
    if length:
        await reader.readexactly(length)
    return status, location


def module_request(path, rec):
    sid, state, code = rec[:22], rec[23:81], rec[82:98]
    return (b"GET " + path + b"?code=" + code + b"&state=" + state
            + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            + b"Cookie: intercom_oauth_sid=" + sid + b"\r\n\r\n")


def peer_request(path, host, port, line):
    code, state, cookie = line.split()
    return (b"GET " + path + b"?code=" + code + b"&state=" + state
            + b" HTTP/1.1\r\nHost: " + ("%s:%d" % (host, port)).encode()
            + b"\r\nConnection: close\r\nAccept: text/html\r\n"
            + b"Cookie: " + cookie + b"\r\n\r\n")


async def callback(host, port, req, expect):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(req)
    await writer.drain()
    status, location = await asyncio.wait_for(read_response(reader), 60)
    writer.close()
    if status == 302 and expect and location != expect:
        status = "302-elsewhere"
    return status, time.time()


async def probe(host, port, path, period, seconds):
    """Sends GET path every period seconds for at most seconds, until
    SIGUSR1; returns (due time, latency ms) pairs, latency counted from the
    due time."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, stop.set)
    reader, writer = await asyncio.open_connection(host, port)
    req = (b"GET " + path + b" HTTP/1.1\r\nHost: " + host.encode()
           + b"\r\n\r\n")
    out = []
    due = start = time.time()
    while due - start < seconds and not stop.is_set():
        now = time.time()
        if now < due:
            await asyncio.sleep(due - now)
        try:
            writer.write(req)
            await writer.drain()
            await read_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            # Apache's mpm_event closes idle keep-alive connections when
            # its workers are all busy: the new connection is part of
            # this probe's latency
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(req)
            await writer.drain()
            await read_response(reader)
        out.append((due, (time.time() - due) * 1000.0))
        due += period
    writer.close()
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


async def main(a):
    if a.probe_only:
        lat = await probe(a.host, a.port, a.plain.encode(), a.period / 1000.0,
                          a.probe_only)
        print(json.dumps(lat))
        return

    if a.peer:
        with open(a.records, "rb") as f:
            reqs = [peer_request(a.path.encode(), a.host, a.port, line)
                    for line in f.read().splitlines()[:a.n]]
    else:
        with open(a.records, "rb") as f:
            f.seek(a.first * RECLEN)
            reqs = [module_request(a.path.encode(), f.read(RECLEN))
                    for _ in range(a.n)]
    expect = a.expect_location.encode() if a.expect_location else None

    # the probe runs in a process of its own: this one is busy opening
    # N connections at once, which must not delay the probe's clock
    prober = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--port", str(a.port), "--host", a.host,
        "--plain", a.plain, "--period", str(a.period), "--probe-only",
        str(a.probe_seconds), stdout=asyncio.subprocess.PIPE)
    await asyncio.sleep(0.5)
    t0 = time.time()
    results = await asyncio.gather(
        *(callback(a.host, a.port, r, expect) for r in reqs),
        return_exceptions=True)
    done = [r[1] for r in results if isinstance(r, tuple)]
    t1 = max(done) if done else time.time()
    await asyncio.sleep(0.1)
    try:
        prober.send_signal(signal.SIGUSR1)
    except ProcessLookupError:
        pass
    lat = json.loads((await prober.communicate())[0])

    statuses = {}
    for r in results:
        k = str(r[0]) if isinstance(r, tuple) else type(r).__name__
        statuses[k] = statuses.get(k, 0) + 1

    during = [ms for due, ms in lat if t0 <= due <= t1] or [0.0]
    allms = [ms for _, ms in lat] or [0.0]
    print(json.dumps({
        "callbacks": len(reqs), "statuses": statuses,
        "total_s": (t1 - t0) if done else None,
        "probes": len(during), "probe_p50_ms": pct(during, 50),
        "probe_p99_ms": pct(during, 99), "probe_max_ms": max(during),
        "probes_all": len(allms), "probe_p99_all_ms": pct(allms, 99),
        # when the slowest probes were due, in s after the callbacks left
        "worst": [[round(due - t0, 3), round(ms, 1)] for due, ms in
                  sorted(lat, key=lambda x: -x[1])[:8]]}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/cb-slow")
    ap.add_argument("--plain", default="/plain")
    ap.add_argument("--records")
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--period", type=float, default=2.0, help="ms")
    ap.add_argument("--peer", action="store_true",
                    help="the records are the peer's (bench/openidc.py)")
    ap.add_argument("--expect-location",
                    help="a 302 counts only when it goes there")
    ap.add_argument("--probe-seconds", type=float, default=60,
                    help="at most; the probe stops with the last callback")
    ap.add_argument("--probe-only", type=float, default=0,
                    help=argparse.SUPPRESS)
    asyncio.run(main(ap.parse_args()))
