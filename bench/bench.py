#!/usr/bin/env python3
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
"""make bench: the module against nginx's own paths and the app-server way.

Starts, on loopback only (ports BASE..BASE+40, BASE=7500 by default):

  BASE+10/+11  a second nginx: the token endpoint (HTTP and HTTPS) and an
               API backend, answering at nginx speed
  BASE+12      a token endpoint that answers after 1 s (non-blocking test)
  BASE+20      the nginx under test: one worker, the module, and the
               baselines (return 200, proxy_pass) as locations beside it
  BASE+21/+22  the same nginx for the scale test (1,000 and 1,000,000
               tokens), BASE+23 with a 10 MB zone (capacity)
  BASE+30      a Sinatra app under Thin doing the same flow (bench/peers)
  BASE+31      the peer: Apache with mod_auth_openidc (bench/openidc.py),
               against the token endpoint's OpenID Provider stand-in
  BASE+24      the nginx under test over TLS (the hot path's rows)
  BASE+50..60  the store rows: Redis plain, TLS and Sentinel, an nginx for
               each (bench/store_rows.py; --no-store skips them)

then runs wrk (-t1 -c32) on each measurement in rounds (every measurement
once per round, so that a change of load on the machine hits all alike),
takes the median of the rounds, and prints one table of ratios.  Every
process it started is stopped at the end, also on error or Ctrl-C.

The callback needs a fresh, valid, single-use state and its session cookie
on every request: bench/states.py mints them as the module does (the
benchmark's nginx has intercom_oauth_state_secret set) into record files
that bench/lua/callback.lua reads, one slice per run.  Each run is checked
against the module's own counters: a callback that did not end in a stored
token and a 302 is counted as an error in the table.

Options: see --help.  The benchmark is not a test: nothing here fails on a
slow number; it exits non-zero only when something could not be measured.
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import http.client
import pwd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import states  # noqa: E402
import store_rows  # noqa: E402   store rows (bench/store_rows.py)
import openidc  # noqa: E402
import nonblock  # noqa: E402

CLIENT_ID = "bench-client"
PEER = {}           # the peer's client secret, passphrase and issuer
PIN = {}
PORT_NAMES = {}     # port -> name of the process serving it


def taskset(role):
    return ["taskset", "-c", PIN[role][0]] if role in PIN else []


# --pin-callback: the rows of issue 13's item 5 (the callback against
# nginx's proxy_pass of the same POST) and their neighbours that share a
# baseline with them, measured with the nginx under test's worker alone on
# the last CPU and wrk and the token endpoint on the others, the rest of
# the rows as usual.  Meant to let the baseline saturate the worker; on a
# machine of two CPUs it does not (wrk and the token endpoint then fill
# theirs first, 0.98-0.99 busy, and the worker's reads 0.82-0.86), and the
# spread of item 5's ratio between runs stayed what it was unpinned
# (bench/RESULTS.md, "Item 5 pinned, and glibc's trim found"): not the
# default.
PIN_ROWS = ("proxy", "cb", "cb_sr", "proxy_tls", "cb_tls", "cb_sr_tls",
            "proxy_new", "cb_identity", "ret302")


class pinned:
    """with pinned(name): the row measured with the server under test's
    workers on the last CPU, the token endpoint's workers and the driver
    (taskset) on the others; every CPU given back afterwards."""

    def __init__(self, name):
        # the CPUs this process may use, not the machine's count: in a
        # container limited to some, pinning to another fails
        self.all = os.sched_getaffinity(0)
        self.on = (name in PIN_ROWS and ARGS.pin_callback and not ARGS.pin
                   and len(self.all) > 1)
        self.last = max(self.all)
        self.pids = []

    def set(self, names, cpus):
        n = 0
        for name in names:
            for p in PROCS.procs:
                if p.bench_name != name:
                    continue
                for pid in children(p.pid):
                    os.sched_setaffinity(pid, cpus)
                    self.pids.append(pid)
                    n += 1
        return n

    def __enter__(self):
        if self.on:
            rest = self.all - {self.last}
            # a row says "pinned" only if its worker was
            if self.set(("target",), {self.last}) == 0:
                raise SystemExit("--pin-callback: no worker of the server "
                                 "under test found to pin")
            self.set(("endpoint",), rest)
            PIN["driver"] = [",".join(str(c) for c in sorted(rest))]
        return self

    def __exit__(self, *exc):
        if self.on:
            PIN.pop("driver", None)
            for pid in self.pids:
                try:
                    os.sched_setaffinity(pid, self.all)
                except OSError:
                    pass
        return False
LONG_TOKEN = "dG9rOjAxMjM0NTY3Xzg5YWJfY2RlZl8wMTIzXzQ1Njc4OWFiY2RlZjoxOjA="
VAR_SID = "VARSESSION000000000000"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------

class Procs:
    """Everything this run started, stopped in reverse order at the end."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, **kw):
        logf = open(os.path.join(OUT, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL,
                             start_new_session=True, **kw)
        p.bench_name = name
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p)


PROCS = Procs()


def wait_port(port, proc, what, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit("%s exited (see bench/out/%s.log)"
                             % (what, proc.bench_name))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("%s does not listen on %d" % (what, port))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def render(src, dst, values):
    with open(os.path.join(HERE, "conf", src)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise SystemExit("%s: unfilled %s" % (src, left))
    with open(dst, "w") as f:
        f.write(text)


def port_free(port, tries=50):
    """True when nothing listens on port (waits up to 5 s for a previous
    nginx of this run to let go of it)."""
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
        except OSError:
            return True
        time.sleep(0.1)
    return False


def start_nginx(name, template, values, port, binary=None):
    if not port_free(port):
        raise SystemExit("port %d is in use: another benchmark running? "
                         "(--port-base moves all ports)" % port)
    prefix = os.path.join(OUT, name)
    shutil.rmtree(prefix, ignore_errors=True)
    os.makedirs(os.path.join(prefix, "logs"))
    os.makedirs(os.path.join(prefix, "conf"))
    conf = os.path.join(prefix, "conf", "nginx.conf")
    render(template, conf, values)
    p = PROCS.start(name, [binary or NGINX, "-p", prefix + "/", "-c", conf])
    wait_port(port, p, "nginx " + name)
    PORT_NAMES[port] = name
    p.prefix = prefix
    return p


# --- HTTP helpers ------------------------------------------------------------

def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    hdrs = r.getheaders()
    c.close()
    return r.status, hdrs, body


def status(port):
    st, _, body = get(port, "/status")
    if st != 200:
        raise SystemExit("status on %d answered %d" % (port, st))
    return json.loads(body)


def callback_counts(port):
    s = status(port)
    refused = sum(v for k, v in s["callbacks"].items()
                  if k not in ("total", "ok"))
    return {"total": s["callbacks"]["total"], "ok": s["callbacks"]["ok"],
            "failed": refused + s["exchanges"]["failed"]
            + s["exchanges"]["timeout"],
            "tokens": s["zone"]["tokens"],
            "bytes_used": s["zone"]["bytes_used"],
            "bytes_free": s["zone"]["bytes_free"],
            "evicted": s["tokens"]["evicted"]}


# --- load accounting ---------------------------------------------------------

def cpu_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle


def cpus_busy():
    """per CPU: ticks not idle (user, system, irq, softirq, steal...)"""
    busy = []
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3] != " ":
                v = [int(x) for x in line.split()[1:9]]
                busy.append((sum(v) - v[3] - v[4], sum(v)))
    return busy


def proc_cpu(pids):
    t = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                parts = f.read().rsplit(")", 1)[1].split()
            t += int(parts[11]) + int(parts[12])
        except OSError:
            pass
    return t


def our_pids():
    """name -> pids of every process this run started (nginx masters and
    their workers)."""
    pids = {}
    for p in PROCS.procs:
        pids[p.bench_name] = [p.pid] + children(p.pid)
    return pids


# --- wrk -----------------------------------------------------------------------

WRK_RE = {
    "requests": re.compile(r"^\s*(\d+) requests in ([\d.]+)(\w+)", re.M),
    "rps": re.compile(r"^Requests/sec:\s*([\d.]+)", re.M),
    "non2xx": re.compile(r"Non-2xx or 3xx responses:\s*(\d+)"),
    "sock": re.compile(r"Socket errors: connect (\d+), read (\d+), "
                       r"write (\d+), timeout (\d+)"),
}


def wrk(port, path, duration, script=None, script_args=(), headers=(),
        conns=None, until=None, scheme="http"):
    """Runs wrk; returns a dict with rps, requests, errors and the share of
    the machine that other processes used meanwhile (cores).  With until,
    a function polled every 0.2 s, wrk is stopped (SIGINT: it still
    prints its summary) as soon as until() is true."""
    argv = taskset("driver") + [WRK, "-t1",
                                 "-c%d" % (conns or ARGS.connections),
            "-d%ds" % duration, "--timeout", "10s"]
    for h in headers:
        argv += ["-H", h]
    if script:
        argv += ["-s", os.path.join(HERE, "lua", script)]
    argv.append("%s://127.0.0.1:%d%s" % (scheme, port, path))
    if script_args:
        argv += ["--"] + [str(a) for a in script_args]

    pids = our_pids()
    allpids = [x for v in pids.values() for x in v]
    busy0, ours0 = cpu_busy(), proc_cpu(allpids)
    each_cpu0 = cpus_busy()
    each0 = {k: proc_cpu(v) for k, v in pids.items()}
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        if until:
            while p.poll() is None:
                time.sleep(0.2)
                if until():
                    p.send_signal(signal.SIGINT)
                    break
        out = p.communicate()[0].decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    elapsed = time.time() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, ours1 = cpu_busy(), proc_cpu(allpids)
    each_cpu1 = cpus_busy()
    each1 = {k: proc_cpu(v) for k, v in pids.items()}

    m = WRK_RE["rps"].search(out)
    if not m:
        raise SystemExit("wrk did not report (%s):\n%s" % (" ".join(argv), out))
    r = {"rps": float(m.group(1)), "requests": 0, "non2xx": 0, "sockerr": 0}
    m = WRK_RE["requests"].search(out)
    if m:
        r["requests"] = int(m.group(1))
    m = WRK_RE["non2xx"].search(out)
    if m:
        r["non2xx"] = int(m.group(1))
    m = WRK_RE["sock"].search(out)
    if m:
        r["sockerr"] = sum(int(x) for x in m.groups())

    hz = os.sysconf("SC_CLK_TCK")
    wrk_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    ours = (ours1 - ours0) / hz + wrk_cpu
    busy = (busy1 - busy0) / hz
    r["other_cores"] = max(0.0, (busy - ours) / elapsed)
    r["wrk_cores"] = wrk_cpu / elapsed
    r["cores"] = {k: (each1[k] - each0[k]) / hz / elapsed for k in each0}
    r["cores"]["wrk"] = r["wrk_cores"]
    r["server_cores"] = r["cores"].get(PORT_NAMES.get(port), 0.0)
    # each CPU's busy share, softirq included: a pinned worker's CPU near
    # 1.00 is saturated even when the worker's own time reads lower (the
    # loopback's softirq work on that CPU is not charged to the process)
    r["cpus"] = [(b1 - b0) / float(t1 - t0) if t1 > t0 else 0.0
                 for (b0, t0), (b1, t1) in zip(each_cpu0, each_cpu1)]
    r["raw"] = out
    return r


# --- state records -------------------------------------------------------------

class Pool:
    """Fresh states for one session-id prefix, handed out in disjoint
    slices; minted in batches just before they are needed."""

    def __init__(self, name, prefix, one_sid=None):
        self.path = os.path.join(OUT, name + ".rec")
        self.prefix = prefix
        self.one_sid = one_sid
        self.size = 0
        self.next = 0
        open(self.path, "wb").close()

    def ensure(self, n):
        if self.size >= n:
            return
        tmp = self.path + ".new"
        states.write_records(tmp, STATE_SECRET, CLIENT_ID, n - self.size,
                             self.prefix, self.one_sid, start=self.size)
        with open(self.path, "ab") as out, open(tmp, "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)
        os.unlink(tmp)
        self.size = n

    def take(self, n):
        first = self.next
        self.ensure(first + n)
        self.next = first + n
        return first, n

    def give_back(self, first, n, used):
        """The records after the used ones (plus the ones in flight) may go
        to the next run."""
        if self.next == first + n:
            self.next = min(first + n, first + used + 4 * ARGS.connections)


# --- the peer: Apache with mod_auth_openidc ------------------------------------

def start_apache(name, mpm, metadata_url):
    """The peer on BASE+31 with one of openidc.MPM's process models, its
    own ServerRoot under bench/out/NAME."""
    port = ARGS.port_base + 31
    if not port_free(port):
        raise SystemExit("port %d is in use: another benchmark running? "
                         "(--port-base moves all ports)" % port)
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    for sub in ("run", "logs", "htdocs"):
        os.makedirs(os.path.join(d, sub))
    # the children run as www-data (Apache will not serve as root)
    www = pwd.getpwnam("www-data")
    os.chown(os.path.join(d, "run"), www.pw_uid, www.pw_gid)
    with open(os.path.join(d, "htdocs", "plain"), "w") as f:
        f.write("plain\n")
    conf = os.path.join(d, "httpd.conf")
    render("apache.conf.in", conf, openidc.conf_values(
        d, port, mpm, metadata_url, CLIENT_ID, PEER["secret"],
        PEER["passphrase"]))
    p = PROCS.start(name, ["apache2", "-f", conf, "-DFOREGROUND"])
    wait_port(port, p, "apache " + name)
    PORT_NAMES[port] = name
    return p


class PeerPool:
    """The peer's states, minted against it (bench/lua/openidc_mint.lua)
    and signed (bench/openidc.py) just before a run needs them; a run
    takes the first n, a file of its own."""

    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.recs = []
        self.runs = 0

    def mint(self, n):
        tmp = os.path.join(OUT, self.name + ".minted")
        open(tmp, "wb").close()

        def lines():
            with open(tmp, "rb") as f:
                return f.read().count(b"\n")
        r = wrk(self.port, openidc.PROTECTED, 600, "openidc_mint.lua",
                (tmp, n), conns=16, until=lambda: lines() >= n)
        with open(tmp) as f:
            minted = f.read().splitlines()
        if len(minted) < n:
            raise SystemExit("the peer minted %d states of %d (%d req/s)"
                             % (len(minted), n, r["rps"]))
        self.recs += openidc.sign(minted, PEER["secret"].encode(),
                                  PEER["issuer"], CLIENT_ID)

    def take(self, n):
        self.recs = openidc.fresh(self.recs)
        if len(self.recs) < n:
            self.mint(n - len(self.recs))
        self.runs += 1
        path = os.path.join(OUT, "%s-%d.rec" % (self.name, self.runs))
        openidc.write(path, self.recs[:n])
        return path

    def used(self, n, sent):
        """Drops the records a run sent (sent at most: the ones in flight
        at its end may have reached the peer)."""
        self.recs = self.recs[min(n, sent):]


def peer_url(path):
    return "http://127.0.0.1:%d%s" % (ARGS.port_base + 31, path)


OIDC_RE = re.compile(r"^openidc: ok (\d+) bad (\d+)", re.M)


def run_peer_callback(pool, duration):
    """wrk on the peer's redirect URI with states it minted; a success is
    a 302 to the protected URL, counted by the script."""
    port = ARGS.port_base + 31
    guess = int(max(1500, 1.6 * RATE_GUESS.get("peer", 0)) * duration) + 200
    path = pool.take(guess)
    r = wrk(port, openidc.REDIRECT, duration, "openidc_callback.lua",
            (path, openidc.REDIRECT, peer_url(openidc.PROTECTED)))
    RATE_GUESS["peer"] = max(r["rps"], RATE_GUESS.get("peer", 0))
    m = OIDC_RE.search(r["raw"])
    if not m:
        raise SystemExit("openidc_callback.lua did not report:\n" + r["raw"])
    ok, bad = int(m.group(1)), int(m.group(2))
    pool.used(guess, ok + bad + ARGS.connections + 1)
    r["errors"] = bad + r["sockerr"]
    r["callbacks"] = ok
    if ok + bad >= guess - ARGS.connections:
        r["errors"] += 1
        r["note"] = "ran out of states"
    return r


# --- the measurements ----------------------------------------------------------

def run_callback(port, path, pool, duration, check_port=None, expect=302):
    """wrk on a callback location with fresh states; checks the module's
    counters (check_port) or the peer's answers."""
    # enough states for the fastest run seen so far, with room to spare:
    # a run that runs out is flagged, never silently short
    floor = 4000 if port == ARGS.port_base + 30 else 60000
    guess = int(max(floor, 1.6 * RATE_GUESS.get((port, path), 0))
                * duration) + 2000
    first, n = pool.take(guess)
    before = callback_counts(check_port) if check_port else None
    r = wrk(port, path, duration, "callback.lua", (pool.path, first, n, path))
    RATE_GUESS[(port, path)] = max(r["rps"], RATE_GUESS.get((port, path), 0))
    pool.give_back(first, n, r["requests"])
    r["errors"] = r["non2xx"] + r["sockerr"]
    if r["requests"] >= n - ARGS.connections:
        r["errors"] += 1
        r["note"] = "ran out of states"
    if check_port:
        time.sleep(0.05)
        after = callback_counts(check_port)
        total = after["total"] - before["total"]
        ok = after["ok"] - before["ok"]
        failed = after["failed"] - before["failed"]
        # a callback still waiting for the token endpoint when wrk closes
        # its connection at the end is abandoned: neither ok nor failed
        r["errors"] += failed
        r["abandoned"] = total - ok - failed
        r["callbacks"] = total
        if ok < r["requests"]:
            r["errors"] += r["requests"] - ok
    return r


def measurements(ctx):
    """name -> (label, function returning a wrk result)."""
    T, S, TT = ctx["target"], ctx["sinatra"], ctx.get("target_tls")
    D = ARGS.duration
    cookie = ["Cookie: intercom_oauth_sid=" + ctx["var_sid"]]

    def plain(port, path, headers=(), scheme="http"):
        def f():
            r = wrk(port, path, D, headers=headers, scheme=scheme)
            r["errors"] = r["non2xx"] + r["sockerr"]
            return r
        return f

    def flow(port, check_port):
        """connect then callback with the state the server minted; one
        flow is two requests, counted as one"""
        def f():
            before = callback_counts(check_port) if check_port else None
            r = wrk(port, "/connect", D, "flow.lua", ("/cb",))
            r["errors"] = r["non2xx"] + r["sockerr"]
            if check_port:
                after = callback_counts(check_port)
                r["errors"] += after["failed"] - before["failed"]
            r["rps"] /= 2.0
            return r
        return f

    def baseline(path):
        def f():
            first, n = 0, ctx["base"].size
            r = wrk(T, path, D, "callback.lua",
                    (ctx["base"].path, first, n, path))
            r["errors"] = r["non2xx"] + r["sockerr"]
            if r["requests"] >= n - ARGS.connections:
                r["errors"] += 1
                r["note"] = "ran out of requests"
            return r
        return f

    m = {
        "static": ("nginx return 200, %d-byte page" % ctx["page_len"],
                   plain(T, "/static")),
        "connect": ("connect page, new session", plain(T, "/connect")),
        "connect_cookie": ("connect page, returning session",
                           plain(T, "/connect", cookie)),
        "proxy": ("nginx proxy_pass POST, keep-alive (HTTP)",
                  baseline("/proxy")),
        "cb": ("callback, full (HTTP)",
               lambda: run_callback(T, "/cb", ctx["pool"], D, T)),
        "cb_sr": ("callback, full, subrequest engine (HTTP)",
                  lambda: run_callback(T, "/cb-sr", ctx["pool"], D, T)),
        "proxy_tls": ("nginx proxy_pass POST, keep-alive (HTTPS)",
                      baseline("/proxy-tls")),
        "cb_tls": ("callback, full (HTTPS)",
                   lambda: run_callback(T, "/cb-tls", ctx["pool"], D, T)),
        "cb_sr_tls": ("callback, full, subrequest engine (HTTPS)",
                      lambda: run_callback(T, "/cb-sr-tls", ctx["pool"], D,
                                           T)),
        "proxy_new": ("nginx proxy_pass POST, new connection (HTTP)",
                      baseline("/proxy-new")),
        "cb_identity": ("callback + /me identity (HTTP, 2 requests)",
                        lambda: run_callback(T, "/cb-identity", ctx["pool"],
                                             D, T)),
        "ret302": ("driver ceiling: callback driver on return 302",
                   baseline("/ret302")),
        "sinatra_connect": ("Sinatra/Thin connect page",
                            plain(S, "/connect")),
        "sinatra_cb": ("Sinatra/Thin callback (HTTP)",
                       lambda: run_callback(S, "/cb", ctx["spool"], D)),
        "sinatra_cb_tls": ("Sinatra/Thin callback (HTTPS)",
                           lambda: run_callback(S, "/cb-tls", ctx["spool"],
                                                D)),
        "flow": ("whole flow: connect page + callback (HTTP), per flow",
                 flow(T, T)),
        "sinatra_flow": ("Sinatra/Thin whole flow (HTTP), per flow",
                         flow(S, None)),
        "api_fixed": ("proxied location, fixed Authorization",
                      plain(T, "/api-fixed/x", cookie)),
        "api_var": ("proxied location, $intercom_access_token",
                    plain(T, "/api-var/x", cookie)),
        # the peer, and the module against the same token endpoint (the
        # OpenID Provider stand-in, bench/openidc.py)
        "cb_op": ("callback, OpenID stand-in, libcurl",
                  lambda: run_callback(T, "/cb-op", ctx["pool"], D, T)),
        "cb_sr_op_new": ("callback, OpenID stand-in, subrequest, new conn.",
                         lambda: run_callback(T, "/cb-sr-op-new", ctx["pool"],
                                              D, T)),
        "cb_sr_op": ("callback, OpenID stand-in, subrequest, keep-alive",
                     lambda: run_callback(T, "/cb-sr-op", ctx["pool"], D, T)),
        "peer_cb": ("peer: mod_auth_openidc callback, one child",
                    lambda: run_peer_callback(ctx["ppool"], D)),
        # the hot path over TLS: each numerator right after its baseline
        "page_tls": ("static file page (HTTPS)",
                     plain(TT, "/page-plain", cookie, "https")),
        "page_guard_tls": ("the same behind intercom_oauth_require (HTTPS)",
                           plain(TT, "/page-guard", cookie, "https")),
        "api_fixed_tls": ("proxied location, fixed Authorization (HTTPS)",
                          plain(TT, "/api-fixed/x", cookie, "https")),
        "api_var_tls": ("proxied location, $intercom_access_token (HTTPS)",
                        plain(TT, "/api-var/x", cookie, "https")),
    }
    if not S:
        for k in [k for k in m if k.startswith("sinatra")]:
            del m[k]
    if not ctx.get("ppool"):
        del m["peer_cb"]
    if not ARGS.no_store:                       # store rows
        m.update(store_rows.measurements(ctx))
    return m


RATIOS = [
    # label, numerator, denominator, goal, kind
    ("connect page / return 200 of the same size", "connect", "static",
     0.8, ">="),
    ("connect page (returning session) / return 200", "connect_cookie",
     "static", None, None),
    ("callback / proxy_pass keep-alive, HTTP", "cb", "proxy", 0.9, ">="),
    ("callback / proxy_pass keep-alive, HTTPS", "cb_tls", "proxy_tls",
     0.9, ">="),
    ("callback / proxy_pass new connection, HTTP", "cb", "proxy_new",
     None, None),
    ("subrequest engine: callback / proxy_pass, HTTP", "cb_sr", "proxy",
     0.8, ">="),
    ("subrequest engine: callback / proxy_pass, HTTPS", "cb_sr_tls",
     "proxy_tls", 0.8, ">="),
    ("subrequest engine / libcurl engine callback, HTTP", "cb_sr", "cb",
     None, None),
    ("subrequest engine / libcurl engine callback, HTTPS", "cb_sr_tls",
     "cb_tls", None, None),
    ("callback / Sinatra+Thin callback, HTTP", "cb", "sinatra_cb", 40, ">="),
    ("callback / Sinatra+Thin callback, HTTPS", "cb_tls", "sinatra_cb_tls",
     40, ">="),
    ("subrequest engine: callback / Sinatra+Thin, HTTP", "cb_sr",
     "sinatra_cb", 40, ">="),
    ("subrequest engine: callback / Sinatra+Thin, HTTPS", "cb_sr_tls",
     "sinatra_cb_tls", 40, ">="),
    ("connect page / Sinatra+Thin page", "connect", "sinatra_connect",
     None, None),
    ("whole flow / Sinatra+Thin whole flow, HTTP", "flow", "sinatra_flow",
     None, None),
    ("$intercom_access_token / fixed header", "api_var", "api_fixed",
     0.95, ">="),
    ("callback driver ceiling / callback", "ret302", "cb", None, None),
    ("peer: libcurl callback / mod_auth_openidc", "cb_op", "peer_cb",
     None, None),
    ("peer: subrequest, new conn. / mod_auth_openidc", "cb_sr_op_new",
     "peer_cb", None, None),
    ("peer: subrequest, keep-alive / mod_auth_openidc", "cb_sr_op",
     "peer_cb", None, None),
    ("intercom_oauth_require / the same page, HTTPS", "page_guard_tls",
     "page_tls", 0.97, ">="),
    ("$intercom_access_token / fixed header, HTTPS", "api_var_tls",
     "api_fixed_tls", 0.97, ">="),
] + store_rows.RATIOS                           # store rows


# Ratio rows whose two sides are measured in alternating slices within
# each round (numerator: baseline), A B B A, each slice half a
# measurement's duration (at least 1 s), instead of one window each in
# turn: a drift of the machine (another process, the CPU's clock) within
# the round then weighs on both sides alike.  The guard's cost is 3 % of
# a static page, below what one window's drift moves (see RESULTS.md,
# "The guard over TLS: the measurement").
ALTERNATE = {"page_guard_tls": "page_tls"}


def alternate(fa, fb):
    """fa and fb (a baseline and its numerator) in the slices A B B A;
    returns each side's slices merged as one result: req/s and cores the
    mean of its slices (of equal length), counts summed, each slice's
    req/s under "slices"."""
    saved = ARGS.duration
    ARGS.duration = max(1, (saved + 1) // 2)
    got = {0: [], 1: []}
    try:
        for side in (0, 1, 1, 0):
            got[side].append((fa, fb)[side]())
    finally:
        ARGS.duration = saved

    def merged(rs):
        m = dict(rs[0])
        k = float(len(rs))
        for key in ("rps", "other_cores", "wrk_cores", "server_cores"):
            m[key] = sum(r[key] for r in rs) / k
        for key in ("requests", "non2xx", "sockerr", "errors"):
            m[key] = sum(r.get(key, 0) for r in rs)
        m["cores"] = {c: sum(r["cores"].get(c, 0.0) for r in rs) / k
                      for c in rs[0]["cores"]}
        m["slices"] = [r["rps"] for r in rs]
        m.pop("raw", None)
        return m

    return merged(got[0]), merged(got[1])


def cpu_us(r):
    """CPU microseconds of the server under test per request."""
    return r["server_cores"] * 1e6 / r["rps"] if r["rps"] else 0.0


def fmt_n(x):
    return "{:,.0f}".format(x)


# --- bursts --------------------------------------------------------------------

# name -> (label, what): the module's two engines and nginx's own proxy_pass
# (the floor) by location of the nginx under test, the peer by process model
BURSTS = {
    "cb": ("module, libcurl engine", "/cb-slow"),
    "cb_sr": ("module, subrequest engine", "/cb-sr-slow"),
    "proxy": ("nginx proxy_pass of the same POST (floor)", "/proxy-slow"),
    "peer": ("peer, Debian's mpm_event defaults", "defaults"),
    "peer1000": ("peer, one child of 1,000 threads", "threads1000"),
}


def vm_rss_kb(pids):
    """VmRSS summed over pids, and its parts RssAnon, RssFile and RssShmem
    (kB): a worker's RSS counts the pages of shared memory zones it
    touched, and the pages of code (files) it ran."""
    t = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "RssShmem": 0}
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    k = line.split(":", 1)[0]
                    if k in t:
                        t[k] += int(line.split()[1])
        except OSError:
            pass
    return t


def warm_up(port, path, records, i):
    """One callback (or floor request) with the i-th record of a pool, as
    bench/nonblock.py sends it; its status."""
    with open(records, "rb") as f:
        f.seek(i * nonblock.RECLEN)
        rec = f.read(nonblock.RECLEN).decode()
    sid, state, code = rec[:22], rec[23:81], rec[82:98]
    st, _, _ = get(port, "%s?code=%s&state=%s" % (path, code, state),
                   {"Cookie": "intercom_oauth_sid=" + sid})
    return st


def burst(ctx, kind, n):
    """n callbacks at once against the token endpoint that answers after
    1 s (bench/nonblock.py), on a fresh server: the nginx under test
    restarted (and given one request of the same kind), or the peer
    started anew.  Adds the server's resident memory while the callbacks
    wait: its worker's (nginx) or its children's (Apache) VmRSS when the
    slow endpoint holds the most of them, minus the same before the
    burst."""
    label, what = BURSTS[kind]
    slow = ARGS.port_base + 12
    if kind.startswith("peer"):
        meta = "http://127.0.0.1:%d/op-slow/.well-known/openid-configuration" \
            % (ARGS.port_base + 10)
        p = start_apache("peer-burst", what, meta)
        path = PeerPool("peer-burst", ARGS.port_base + 31).take(n)
        # minting ran in these children: a fresh peer for the burst
        PROCS.stop(p)
        p = start_apache("peer-burst", what, meta)
        port = ARGS.port_base + 31
        # the provider's metadata is fetched on the first request for a
        # protected URL, as a running site has it in its cache
        get(port, openidc.PROTECTED, {"Accept": "text/html"})
        argv = ["--peer", "--records", path, "--path", openidc.REDIRECT,
                "--expect-location", peer_url(openidc.PROTECTED)]
        ok = "302"
    else:
        port = ctx["target"]
        PROCS.stop(ctx["target_proc"])
        p = ctx["target_proc"] = start_nginx("target", "target.conf.in",
                                             ctx["values"], port)
        get(port, "/plain")
        ok = "200" if kind == "proxy" else "302"
        # one request of the same kind, answered, before the idle sample:
        # what a worker maps once (the code of the paths it runs: the
        # module's, OpenSSL's, yajl's, ~1 MB of file pages) is not held
        # per waiting callback; only what the burst adds is counted
        first, cnt = ctx["pool"].take(1)
        st = warm_up(port, what, ctx["pool"].path, first)
        if str(st) != ok:
            raise SystemExit("the warm-up request to %s answered %s"
                             % (what, st))
        first, cnt = ctx["pool"].take(n)
        argv = ["--records", ctx["pool"].path, "--first", str(first),
                "--path", what]
        stored0 = callback_counts(port)["ok"] if kind.startswith("cb") \
            else 0
    time.sleep(0.3)
    idle = vm_rss_kb(children(p.pid))
    drv = subprocess.Popen(
        taskset("driver") + [sys.executable,
                             os.path.join(HERE, "nonblock.py"),
                             "--port", str(port), "-n", str(n),
                             "--plain", "/plain"] + argv,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    c = http.client.HTTPConnection("127.0.0.1", slow, timeout=10)
    most, rss = 0, idle
    try:
        end = time.time() + 120
        while drv.poll() is None and time.time() < end:
            c.request("GET", "/waiting")
            w = int(c.getresponse().read())
            if w and w >= most:
                most, rss = w, vm_rss_kb(children(p.pid))
            time.sleep(0.01)
        out, err = drv.communicate(timeout=120)
    finally:
        c.close()
        if drv.poll() is None:
            drv.kill()
            drv.wait()
    if drv.returncode != 0:
        raise SystemExit("nonblock.py failed:\n" + out + err)
    r = json.loads(out)
    r.update({"label": label, "ok_status": ok,
              "errors": n - r["statuses"].get(ok, 0),
              "waiting_max": most, "rss_idle_kb": idle, "rss_wait_kb": rss,
              "kb_per_waiting": (rss["VmRSS"] - idle["VmRSS"]) / most
              if most else None,
              "anon_kb_per_waiting": (rss["RssAnon"] - idle["RssAnon"])
              / most if most else None})
    if kind.startswith("cb"):
        # the module's own count of callbacks that stored a token (the
        # worker is fresh: its counters count the warm-up's only)
        time.sleep(0.1)
        stored = callback_counts(port)["ok"] - stored0  # not the warm-up
        r["module_ok"] = stored
        r["errors"] = max(r["errors"], n - stored)
    if kind.startswith("peer"):
        PROCS.stop(p)
    return r


def bursts(ctx):
    res = {}
    kinds = ["cb", "cb_sr", "proxy"]
    if ctx.get("ppool"):
        kinds += ["peer", "peer1000"]
    for n in ARGS.bursts:
        res[str(n)] = {}
        for kind in kinds:
            log("burst: %d callbacks, %s ..." % (n, BURSTS[kind][0]))
            r = res[str(n)][kind] = burst(ctx, kind, n)
            log("  %.2f s, errors %d, p99 %.1f ms (max %.0f), %s KB per "
                "waiting callback (%d waiting)"
                % (r["total_s"] or -1, r["errors"], r["probe_p99_ms"],
                   r["probe_max_ms"], "%.1f" % r["kb_per_waiting"]
                   if r["kb_per_waiting"] is not None else "?",
                   r["waiting_max"]))
    return res


# --- scale ---------------------------------------------------------------------

def fill(port, pool, n, path="/cb"):
    """Stores n tokens under n distinct sessions (or one, for a pool with
    one session) through n callbacks, in wrk runs of at most 200,000."""
    before = callback_counts(port)
    t0 = time.time()
    left = n
    while left > 0:
        chunk = min(left, 200000)
        start = callback_counts(port)["total"]
        # wrk asks the script for one request it never sends (to check
        # it): one record more than the callbacks wanted
        first, cnt = pool.take(chunk + 1)
        goal = start + chunk
        wrk(port, path, 3600, "callback.lua", (pool.path, first, cnt, path),
            until=lambda: callback_counts(port)["total"] >= goal)
        left -= chunk
    dt = time.time() - t0
    time.sleep(0.2)
    after = callback_counts(port)
    return {"seconds": dt, "rate": n / dt,
            "ok": after["ok"] - before["ok"],
            "failed": after["failed"] - before["failed"],
            "abandoned": (after["total"] - before["total"])
                         - (after["ok"] - before["ok"])
                         - (after["failed"] - before["failed"]),
            "tokens": after["tokens"], "bytes_used": after["bytes_used"],
            "evicted": after["evicted"]}


def scale(ctx, values):
    res = {}
    base = ARGS.port_base

    # zone bytes per token, and how many a 10 MB zone holds
    cap_port = base + 23
    # tokens under the cookie's session id (a site's own key), so that one
    # session's callbacks replace one token (no rotation at the callback)
    values = dict(values, KEY="intercom_oauth_key $cookie_intercom_oauth_sid;")
    v = dict(values, PORT=cap_port, ZONE_SIZE="10m", STATE_TTL="10m")
    p = start_nginx("capacity", "target.conf.in", v, cap_port)
    empty = callback_counts(cap_port)
    k = ARGS.capacity_probe
    # k callbacks of one session: k used states and one token
    a = fill(cap_port, Pool("cap-same", "X",
                            one_sid="SAMESESSION00000000000"), k, "/cb-long")
    # k callbacks of k sessions: k used states and k tokens
    b = fill(cap_port, Pool("cap-distinct", "C"), k, "/cb-long")
    per_state = (a["bytes_used"] - empty["bytes_used"]) / k
    per_token = (b["bytes_used"] - a["bytes_used"] - k * per_state) / k
    PROCS.stop(p)

    # filled past capacity at full speed: the used states of the last
    # seconds (ttl 2 s) share the zone with the tokens
    v = dict(values, PORT=cap_port, ZONE_SIZE="10m", STATE_TTL="2s")
    p = start_nginx("capacity", "target.conf.in", v, cap_port)
    pool = Pool("cap-fill", "F")
    done = 0
    while done < ARGS.capacity_fill:
        c = fill(cap_port, pool, 2000, "/cb-long")   # states minted fresh
        done += 2000
    last = status(cap_port)
    PROCS.stop(p)

    res["capacity"] = {
        "zone": "10m", "token_len": len(LONG_TOKEN),
        "key_len": len(CLIENT_ID) + 1 + 22,
        "bytes_per_token": per_token, "bytes_per_used_state": per_state,
        "bytes_free_empty": empty["bytes_free"] if "bytes_free" in empty
        else None,
        "tokens_only_capacity": int(empty["bytes_free"] // per_token),
        "fill_callbacks": done, "fill_rate": c["rate"],
        "tokens_held_filling": last["zone"]["tokens"],
        "evicted": last["tokens"]["evicted"],
        "fill_failed": a["failed"] + b["failed"]
        + sum(v for k, v in last["callbacks"].items()
              if k not in ("total", "ok"))
        + last["exchanges"]["failed"] + last["exchanges"]["timeout"]}

    # lookups with few and with many tokens, the same zone size
    if ARGS.scale_tokens:
        small_port, big_port = base + 21, base + 22
        zone = "%dm" % max(64, (ARGS.scale_tokens * 384) // (1 << 20) + 64)
        ps = start_nginx("scale-small", "target.conf.in",
                         dict(values, PORT=small_port, ZONE_SIZE=zone,
                              STATE_TTL="10m"), small_port)
        pb = start_nginx("scale-big", "target.conf.in",
                         dict(values, PORT=big_port, ZONE_SIZE=zone,
                              STATE_TTL="10m"), big_port)
        small_n = ARGS.scale_small
        fs = fill(small_port, Pool("scale-small", "S"), small_n)
        log("  filling %s tokens ..." % fmt_n(ARGS.scale_tokens))
        bigpool = Pool("scale-big", "L")
        bigpool.ensure(ARGS.scale_tokens)
        fb = fill(big_port, bigpool, ARGS.scale_tokens)
        os.unlink(bigpool.path)
        runs = {"small": [], "big": []}
        for _ in range(ARGS.rounds + 2):
            for name, port, prefix, n in (("small", small_port, "S", small_n),
                                          ("big", big_port, "L",
                                           ARGS.scale_tokens)):
                r = wrk(port, "/lookup", 2, "lookup.lua",
                        (prefix, n, "/lookup"))
                runs[name].append(r)
        # every lookup found its token: /lookup answers "tok", never ""
        check = [get(small_port, "/lookup",
                     {"Cookie": "intercom_oauth_sid=" + states.sid("S", 7)}),
                 get(big_port, "/lookup",
                     {"Cookie": "intercom_oauth_sid="
                      + states.sid("L", ARGS.scale_tokens - 1)})]
        med = {k: statistics.median(x["rps"] for x in v)
               for k, v in runs.items()}
        res["lookup"] = {
            "small_tokens": fs["tokens"], "big_tokens": fb["tokens"],
            "fill_rate": fb["rate"], "fill_failed": fs["failed"]
            + fb["failed"], "zone": zone,
            "small_rps": med["small"], "big_rps": med["big"],
            "ratios": [b["rps"] / a["rps"] for a, b in
                       zip(runs["small"], runs["big"])],
            "cpu_ratios": [cpu_us(a) / cpu_us(b) for a, b in
                           zip(runs["small"], runs["big"]) if cpu_us(b)],
            "found": all(c[2] == b"tok" for c in check),
            "other_cores": statistics.mean(
                x["other_cores"] for v in runs.values() for x in v)}
        PROCS.stop(pb)
        PROCS.stop(ps)
    return res


# --- profile -------------------------------------------------------------------

def profile(ctx, target, ms):
    """Runs each named measurement with perf sampling the nginx worker
    (call graphs from DWARF), and writes perf's report beside the data."""
    worker = children(target.pid)
    if not worker:
        raise SystemExit("no nginx worker")
    for name in ARGS.profile.split(","):
        label, f = ms[name]
        ms[name][1]()   # warm up
        data = os.path.join(OUT, "perf-%s.data" % name)
        # cycles sampled, or every event of --profile-event (a tracepoint
        # such as syscalls:sys_enter_brk: who calls it, and how often)
        what = (["-e", ARGS.profile_event, "-c", "1"]
                if ARGS.profile_event else ["-F", "2000"])
        perf = subprocess.Popen(
            ["perf", "record"] + what + ["-g", "--call-graph",
                                         "dwarf,32768", "-o", data, "-p",
                                         str(worker[0])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        with pinned(name):
            r = f()
        perf.send_signal(signal.SIGINT)
        perf.wait()
        log("%s: %.0f req/s under perf (errors %d)"
            % (name, r["rps"], r["errors"]))
        if ARGS.profile_event:
            head = subprocess.run(["perf", "report", "-i", data, "--stdio",
                                   "-g", "none", "--sort", "comm"],
                                  capture_output=True, text=True).stdout
            # one section per event of the list, each with its own count
            found = re.findall(r"of event '([^']+)'\n# Event count "
                               r"\(approx\.\): (\d+)", head)
            for ev, n in found or [(ARGS.profile_event, "0")]:
                n = int(n)
                log("  %s: %d in %d requests, %.1f per 10,000"
                    % (ev, n, r["requests"],
                       n * 1e4 / max(1, r["requests"])))
            lost = re.search(r"Total Lost Samples: (\d+)", head)
            if lost and int(lost.group(1)):
                log("  perf lost %s samples: the counts above are too low"
                    % lost.group(1))
        for view, extra in (("self", ["--no-children"]),
                            ("children", ["--children"])):
            txt = os.path.join(OUT, "profile-%s-%s.txt" % (name, view))
            with open(txt, "w") as out:
                subprocess.run(["perf", "report", "-i", data, "--stdio",
                                "-g", "none", "--percent-limit", "0.5",
                                "--sort", "symbol,dso"] + extra,
                               stdout=out, stderr=subprocess.DEVNULL)
            log("  " + txt)
    return 0


# What a callback's instructions are spent on, by concern: the inclusive
# count of the module's functions that do each thing (prefix
# ngx_http_intercom_oauth_), less what they call of one another.  A name
# that no longer appears in a profile is printed as missing, not skipped:
# renamed or inlined, this list wants updating.  Whatever is left is
# nginx's own work (the browser's request, the subrequest through its
# proxy_pass, the 302), set against nginx's proxy_pass of the same POST.
CALLGRIND_CONCERNS = [
    ("request line: code and state withheld",
     ["withhold_handler", "withhold_log_handler", "withhold_line"]),
    ("arguments parsed", ["args_parse"]),
    ("session cookie read", ["session_get", "session_prev"]),
    ("state verified: base64, HMAC-SHA256", ["state_verify"]),
    ("zone: used state recorded", ["zone_state_claim"]),
    ("token request: the form", ["token_form"]),
    ("call started (subrequest or libcurl transfer)", ["call_start"]),
    ("token response parsed (yajl)", ["token_parse"]),
    ("session id rotated (random bytes)", ["session_rotate"]),
    ("zone: token stored, replaced session's deleted",
     ["zone_token_put", "zone_token_delete"]),
    ("Set-Cookie and <name>_prev (its HMAC)", ["session_commit"]),
    ("counters", ["zone_count", "zone_count_n", "zone_latency"]),
    ("Cache-Control, Location", ["nocache", "redirect"]),
]
CALLGRIND_PREFIX = "ngx_http_intercom_oauth_"


def callgrind_graph(path, counts=False):
    """Self cost, inclusive cost and call costs per function name, from a
    callgrind profile (event Ir only).  GCC's clones (.part.0, .isra.0,
    .constprop.0) count as the function they were made from.  With
    counts, the third is how many times each function was called."""
    names = {}                      # "(id)" -> name, for fn and cfn
    selfc, calls, ncalls = {}, {}, {}
    fn = callee = None
    in_call = False
    npos = 1

    def name_of(v):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", v)
        if not m:
            n = v
        elif m.group(2) is not None:
            n = names[m.group(1)] = m.group(2)
        else:
            n = names.get(m.group(1), v)
        return re.sub(r"\.(part|isra|constprop|cold)\.\d+.*$", "", n)

    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                if len(parts) <= npos:
                    continue
                ir = int(parts[npos])
                if in_call:
                    if callee != fn:
                        e = calls.setdefault(fn, {})
                        e[callee] = e.get(callee, 0) + ir
                    in_call = False
                else:
                    selfc[fn] = selfc.get(fn, 0) + ir
            elif line.startswith("fn="):
                fn = name_of(line[3:].strip())
            elif line.startswith("cfn="):
                callee = name_of(line[4:].strip())
            elif line.startswith("calls="):
                in_call = True
                ncalls[callee] = (ncalls.get(callee, 0)
                                  + int(line[6:].split()[0]))
            elif line.startswith("positions:"):
                npos = len(line.split()) - 1
    incl = {}
    for f_ in set(selfc) | set(calls):
        incl[f_] = selfc.get(f_, 0) + sum(calls.get(f_, {}).values())
    return selfc, incl, (ncalls if counts else calls)


def callgrind_breakdown(path, n, base=None):
    """Lines of the per-concern table of one callback profile."""
    selfc, incl, calls = callgrind_graph(path)
    listed = {}
    for label, fns in CALLGRIND_CONCERNS:
        for f_ in fns:
            listed[CALLGRIND_PREFIX + f_] = label
    total = sum(selfc.values())
    out, rows, missing, acc = [], [], [], 0
    for label, fns in CALLGRIND_CONCERNS:
        c, seen = 0, False
        for f_ in fns:
            name = CALLGRIND_PREFIX + f_
            if name not in incl:
                continue
            seen = True
            c += incl[name]
            # what it calls of the other listed functions counts there
            for callee, ir in calls.get(name, {}).items():
                if callee in listed and callee != name:
                    c -= ir
        if not seen:
            missing.extend(fns)
        acc += c
        rows.append((label, c))
    own = sum(v for k, v in selfc.items() if k.startswith(CALLGRIND_PREFIX))
    out.append("  %-52s %9s" % ("where a callback's instructions go", "per cb"))
    for label, c in rows:
        out.append("  %-52s %9.0f" % (label, c / n))
    out.append("  %-52s %9.0f" % ("the module's concerns above, together",
                                  acc / n))
    out.append("  %-52s %9.0f" % ("nginx and the rest (request, exchange, "
                                  "302)", (total - acc) / n))
    if base:
        out.append("  %-52s %9.0f" % ("  nginx's proxy_pass of the same "
                                      "POST, whole", base))
    out.append("  %-52s %9.0f" % ("(of all, in the module's own code)",
                                  own / n))
    if missing:
        out.append("  not in the profile (renamed or inlined? see "
                   "CALLGRIND_CONCERNS): " + ", ".join(missing))
    return out


def store_var_token(ctx, port):
    """The token the proxied location reads and the guard lets through,
    stored by a callback in the zone of the nginx on port; ctx["var_sid"]
    becomes the session id the callback gave."""
    rec = states.make_state(STATE_SECRET, VAR_SID, CLIENT_ID)
    st, hdrs, _ = get(port, "/cb?code=varcode&state=" + rec,
                      {"Cookie": "intercom_oauth_sid=" + VAR_SID})
    # the module may give the session a new id at the callback
    for k, v in hdrs:
        m = re.match(r"intercom_oauth_sid=([A-Za-z0-9_-]{22})", v)
        if k.lower() == "set-cookie" and m:
            ctx["var_sid"] = m.group(1)
    st2, _, tok = get(port, "/lookup", {"Cookie": "intercom_oauth_sid="
                                        + ctx["var_sid"]})
    if st != 302 or tok != b"tok":
        raise SystemExit("could not store the token for the proxied "
                         "location (callback %d, lookup %r)" % (st, tok))


def callgrind_window(f, pid, duration):
    """Runs f (one measurement's wrk) with callgrind counting only in the
    middle of it: from once wrk's connections are open (their TCP and TLS
    set-up, a TLS handshake some 2,000,000 instructions, would otherwise
    be spread over the requests of the run, more per request the fewer
    the requests) to a second before wrk stops.  Returns f's result; the
    requests of the window are counted from the profile."""
    import threading

    out = {}
    ARGS.duration = duration + 4
    t = threading.Thread(target=lambda: out.update(r=f()))
    t.start()

    # wrk opens its connections first: wait until they all are, then
    # for their handshakes (a few hundred ms under callgrind)
    deadline = time.time() + 20
    while time.time() < deadline:
        ss = subprocess.run(["ss", "-Htn", "state", "established"],
                            capture_output=True, text=True).stdout
        ports = {ARGS.port_base + 20, ARGS.port_base + 24}
        n = sum(1 for line in ss.splitlines()
                if int(line.split()[2].rsplit(":", 1)[1]) in ports)
        if n >= ARGS.connections:
            break
        time.sleep(0.1)
    time.sleep(1.5)

    subprocess.run(["callgrind_control", "-i", "on", str(pid)],
                   check=True, stdout=subprocess.DEVNULL)
    time.sleep(duration)
    subprocess.run(["callgrind_control", "-i", "off", str(pid)],
                   check=True, stdout=subprocess.DEVNULL)
    t.join()
    return out["r"]


def callgrind(ctx, target, values):
    """Instructions per request (user space: nginx, the module, libcurl,
    libc, OpenSSL), counted by callgrind with the counters on only while
    wrk runs.  Independent of the machine's load, unlike req/s: this is
    how a code change is judged here."""
    PROCS.stop(target)
    T = ctx["target"]
    v = dict(values, MASTER="off")
    prefix = os.path.join(OUT, "target-cg")
    shutil.rmtree(prefix, ignore_errors=True)
    os.makedirs(os.path.join(prefix, "logs"))
    os.makedirs(os.path.join(prefix, "conf"))
    conf = os.path.join(prefix, "conf", "nginx.conf")
    render("target.conf.in", conf, v)
    res = {}
    for name in ARGS.callgrind.split(","):
        cg = os.path.join(OUT, "callgrind-%s.out" % name)
        p = PROCS.start("target-cg", [
            "valgrind", "--tool=callgrind", "--instr-atstart=no",
            "--callgrind-out-file=" + cg, NGINX, "-p", prefix + "/",
            "-c", conf])
        wait_port(T, p, "nginx under callgrind", timeout=60)
        PORT_NAMES[T] = "target-cg"
        ctx["target"] = T
        # a fresh zone: the guard and the variable need their token again
        store_var_token(ctx, T)
        f = measurements(ctx)[name][1]
        saved = ARGS.duration
        ARGS.duration = 2
        f()                                            # warm up
        r = callgrind_window(f, p.pid, saved)
        ARGS.duration = saved
        # dump now (to CG.1): the dump at exit is not always written
        subprocess.run(["callgrind_control", "-d", str(p.pid)],
                       check=True, stdout=subprocess.DEVNULL)
        PROCS.stop(p, timeout=120)
        dumps = [f for f in (cg + ".1", cg) if os.path.exists(f)
                 and os.path.getsize(f) > 0]
        if not dumps:
            raise SystemExit("callgrind wrote no profile for " + name)
        cg = dumps[0]
        ann = os.path.join(OUT, "callgrind-%s.txt" % name)
        with open(ann, "w") as out:
            subprocess.run(["callgrind_annotate", "--inclusive=yes",
                            "--threshold=99", cg], stdout=out,
                           stderr=subprocess.DEVNULL)
        total = 0
        with open(ann) as f_:
            for line in f_:
                m = re.match(r"^\s*([\d,]+).*PROGRAM TOTALS", line)
                if m:
                    total = int(m.group(1).replace(",", ""))
        # the requests of the window, not of the whole run of wrk
        selfc, incl, ncalls = callgrind_graph(cg, counts=True)
        n = ncalls.get("ngx_http_process_request", 0)
        setup = incl.get("ngx_ssl_handshake", 0)
        res[name] = {"requests": n, "ir_per_request": total / max(n, 1),
                     "handshake_ir": setup, "wrk_requests": r["requests"],
                     "errors": r["errors"], "profile": cg}
        log("%-16s %8d requests  %10.0f instructions/request  (%s)"
            % (name, n, total / max(n, 1), ann))
        if r["errors"]:
            log("  %s: %d errors (answers other than 2xx/3xx): the "
                "count is not of the request meant" % (name, r["errors"]))
        if setup > total / 100:
            log("  %s: TLS handshakes inside the window (%.0f per request):"
                " wrk connected late" % (name, setup / max(n, 1)))
    with open(os.path.join(OUT, "callgrind.json"), "w") as f_:
        json.dump(res, f_, indent=1)
    for name in [k for k in res if k.startswith("cb")]:
        base = res.get("proxy_tls" if name.endswith("_tls") else "proxy")
        log("\n%s: %.0f instructions per callback" %
            (name, res[name]["ir_per_request"]))
        for line in callgrind_breakdown(res[name]["profile"],
                                        max(res[name]["requests"], 1),
                                        base and base["ir_per_request"]):
            log(line)
    return 0


# --- machine -------------------------------------------------------------------

def machine():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=10).stdout.splitlines()[0].strip()
        except Exception:
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nginx_v = subprocess.run([NGINX, "-v"], capture_output=True,
                             text=True).stderr.strip().split("/")[-1]
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    return {
        "cpu": "%s, %d cores" % (cpu, os.cpu_count()),
        "kernel": platform.release(),
        "nginx": nginx_v,
        "libcurl": first(["curl-config", "--version"]) if shutil.which(
            "curl-config") else first(["curl", "--version"]),
        "openssl": first(["openssl", "version"]),
        "wrk": first([WRK, "-v"]).split(" [")[0],
        "ruby": first(["ruby", "-v"]).split(" (")[0],
        "thin": first(["thin", "--version"]),
        "apache": first(["apache2", "-v"]).split(": ")[-1],
        "mod_auth_openidc": first(["dpkg-query", "-W", "-f",
                                   "${Version}\\n",
                                   "libapache2-mod-auth-openidc"]),
        "loadavg_start": load,
    }


# --- main ----------------------------------------------------------------------

def main():
    global OUT, NGINX, WRK, ARGS, STATE_SECRET, RATE_GUESS

    ap = argparse.ArgumentParser(
        description="make bench: see bench/RESULTS.md")
    ap.add_argument("--module")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--wrk", default="wrk")
    ap.add_argument("--port-base", type=int, default=7500)
    ap.add_argument("--duration", type=int, default=3,
                    help="seconds per wrk run (default 3)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of every measurement (default 3)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--only", default="",
                    help="comma-separated measurement names")
    ap.add_argument("--no-sinatra", action="store_true")
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--no-nonblock", action="store_true",
                    help="no bursts at all")
    ap.add_argument("--no-peer", action="store_true",
                    help="without Apache and mod_auth_openidc (its rows "
                    "and bursts)")
    ap.add_argument("--bursts", default="200,1000",
                    help="sizes of the bursts against the 1 s endpoint "
                    "(default 200,1000)")
    ap.add_argument("--no-burst-1000", action="store_true",
                    help="the bursts of 200 only")
    store_rows.add_args(ap)                     # store rows
    ap.add_argument("--scale-tokens", type=int, default=1000000)
    ap.add_argument("--scale-small", type=int, default=1000)
    ap.add_argument("--capacity-probe", type=int, default=10000)
    ap.add_argument("--capacity-fill", type=int, default=60000)
    ap.add_argument("--profile", default="",
                    help="comma-separated measurement names to run under "
                    "perf on the nginx worker instead of the benchmark")
    ap.add_argument("--profile-event", default="",
                    help="with --profile: record every event of this kind "
                    "(e.g. syscalls:sys_enter_brk) with its call graph "
                    "instead of sampling cycles, and print its count per "
                    "10,000 requests")
    ap.add_argument("--callgrind", default="",
                    help="comma-separated measurement names to count "
                    "instructions per request for, nginx under callgrind")
    ap.add_argument("--no-alternate", action="store_true",
                    help="the rows of ALTERNATE one window each in turn, "
                    "as every other row, not in slices A B B A")
    ap.add_argument("--pin", action="store_true",
                    help="pin the server under test to the last CPU and the "
                    "rest (wrk, token endpoint) to the others: steadier on "
                    "a quiet machine, worse on a shared one")
    ap.add_argument("--pin-callback", action="store_true",
                    help="the callback rows and their proxy_pass baselines "
                    "(PIN_ROWS) with the server's worker alone on the last "
                    "CPU, wrk and the token endpoint on the others; the "
                    "other rows as usual")
    ap.add_argument("--keep", action="store_true",
                    help="leave everything running until Ctrl-C")
    ap.add_argument("--report", metavar="RESULTS_JSON",
                    help="print the table of a saved run again")
    ARGS = ap.parse_args()
    store_rows.B = sys.modules[__name__]        # store rows

    if ARGS.report:
        return report_again(ARGS.report)

    ARGS.bursts = [int(x) for x in ARGS.bursts.split(",") if x]
    if ARGS.no_burst_1000:
        ARGS.bursts = [x for x in ARGS.bursts if x != 1000]
    if not ARGS.module:
        ap.error("--module is required")
    # a burst of 1,000 holds 2,000 connections in the nginx under test,
    # the peer, the slow endpoint and the driver, which inherit this
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > 65536:
        hard = 65536
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    OUT = os.path.abspath(ARGS.out)
    NGINX, WRK = ARGS.nginx, shutil.which(ARGS.wrk) or ARGS.wrk
    RATE_GUESS = {}
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)

    # a copy of the module: a rebuild during the run must not swap it
    module = os.path.join(OUT, "module.so")
    shutil.copy(ARGS.module, module)

    certs = os.path.join(ROOT, "build", "certs")
    subprocess.run(["sh", os.path.join(ROOT, "t", "standin", "mkcerts.sh"),
                    certs], check=True, stdout=subprocess.DEVNULL)

    STATE_SECRET = os.urandom(24).hex().encode()
    client_secret = "bench-secret-" + os.urandom(8).hex()
    for name, data in (("state.secret", STATE_SECRET),
                       ("client.secret", client_secret.encode())):
        path = os.path.join(OUT, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, data)
        os.close(fd)

    base = ARGS.port_base
    ports = {"EP_HTTP": base + 10, "EP_TLS": base + 11, "SLOW": base + 12,
             "PORT": base + 20}
    values = dict(ports, MODULE=module, OUT=OUT, CERTS=certs,
                  CLIENT_SECRET=client_secret, LONG_TOKEN=LONG_TOKEN,
                  ZONE_SIZE="512m", STATE_TTL="10m", STATIC_PAGE="",
                  MASTER="on", AFFINITY="", EP_AFFINITY="", KEY="",
                  TLS_LISTEN="", STORE="")
    # the nginx under test also listens over TLS (the hot path's rows);
    # the scale test's copies of it do not
    target_values = dict(values, TLS_LISTEN=(
        "listen 127.0.0.1:%d ssl backlog=4096;\n"
        "        ssl_certificate      %s/server.crt;\n"
        "        ssl_certificate_key  %s/server.key;")
        % (base + 24, certs, certs))
    PEER.update(secret=client_secret, passphrase=os.urandom(16).hex(),
                issuer="http://127.0.0.1:%d/op" % ports["EP_HTTP"])
    if ARGS.pin:
        # the server under test alone on the last CPU, the rest (wrk, the
        # token endpoint) on the others
        ncpu = os.cpu_count()
        last = ncpu - 1
        values["AFFINITY"] = "worker_cpu_affinity %s;" % (
            "1" + "0" * last)
        values["EP_AFFINITY"] = "worker_cpu_affinity %s;" % (
            "0" + "1" * last if ncpu > 1 else "1")
        PIN["server"] = [str(last)]
        PIN["driver"] = [",".join(str(c) for c in range(max(1, last)))] \
            if ncpu > 1 else ["0"]

    def stop(signum, frame):
        log("signal %d" % signum)
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    info = machine()
    results = {"machine": info, "args": vars(ARGS)}
    t_start = time.time()

    try:
        log("starting the token endpoint, the slow endpoint, nginx ...")
        # Debian's nginx whatever --nginx says: the OpenID Provider
        # stand-in loads Debian's echo module (libnginx-mod-http-echo)
        start_nginx("endpoint", "endpoint.conf.in", values, ports["EP_HTTP"],
                    "/usr/sbin/nginx")
        for port in (ports["SLOW"], base + 30):
            if not port_free(port, 1):
                raise SystemExit("port %d is in use: another benchmark "
                                 "running? (--port-base moves all ports)"
                                 % port)
        slow = PROCS.start("slow-token", taskset("driver") + [
            sys.executable, os.path.join(HERE, "peers", "slow_token.py"),
            "--listen", "127.0.0.1:%d" % ports["SLOW"], "--delay", "1.0"])
        wait_port(ports["SLOW"], slow, "slow token endpoint")

        # first start: learn the connect page's size, then the real config
        target = start_nginx("target", "target.conf.in", values,
                             ports["PORT"])
        st, hdrs, page = get(ports["PORT"], "/connect")
        if st != 200:
            raise SystemExit("/connect answered %d" % st)
        PROCS.stop(target)
        page_text = page.decode()
        static = page_text.replace("\\", "\\\\").replace('"', '\\"')
        if "$" in static:
            raise SystemExit("the connect page has a '$': cannot be a "
                             "return 200 text")
        values["STATIC_PAGE"] = static
        target_values["STATIC_PAGE"] = static
        with open(os.path.join(OUT, "page.html"), "w") as f:
            f.write(page_text)
        target = start_nginx("target", "target.conf.in", target_values,
                             ports["PORT"])
        T = ports["PORT"]
        PORT_NAMES[base + 24] = "target"        # its TLS listener
        st, _, spage = get(T, "/static")
        assert st == 200 and len(spage) == len(page), (st, len(spage))

        # the Sinatra peer gets the same page, with the placeholder back
        m = re.search(r'href="([^"]*)"', page_text)
        tpl = page_text.replace(m.group(1), "{{authorize_url}}")
        tpl_path = os.path.join(OUT, "page.tpl")
        with open(tpl_path, "w") as f:
            f.write(tpl)

        S = None
        if not ARGS.no_sinatra:
            S = base + 30
            env = dict(os.environ,
                       BENCH_CLIENT_ID=CLIENT_ID,
                       BENCH_CLIENT_SECRET_FILE=os.path.join(
                           OUT, "client.secret"),
                       BENCH_STATE_SECRET_FILE=os.path.join(
                           OUT, "state.secret"),
                       BENCH_TOKEN_URL="http://127.0.0.1:%d/auth/eagle/token"
                       % ports["EP_HTTP"],
                       BENCH_TOKEN_URL_TLS="https://localhost:%d/auth/eagle/"
                       "token" % ports["EP_TLS"],
                       BENCH_CA_FILE=os.path.join(certs, "ca.crt"),
                       BENCH_PAGE_TEMPLATE=tpl_path)
            thin = PROCS.start("sinatra", taskset("server") + [
                "thin", "start", "-R", "config.ru", "-a", "127.0.0.1",
                "-p", str(S), "-e", "production"],
                cwd=os.path.join(HERE, "peers", "sinatra"), env=env)
            wait_port(S, thin, "Thin", timeout=30)
            PORT_NAMES[S] = "sinatra"

        ppool = peer = None
        if not ARGS.no_peer:
            peer = start_apache("peer", "one",
                         "http://127.0.0.1:%d/op/.well-known/"
                         "openid-configuration" % ports["EP_HTTP"])
            ppool = PeerPool("peer", base + 31)

        ctx = {"target": T, "sinatra": S, "page_len": len(page),
               "target_tls": base + 24, "target_proc": target,
               "values": target_values, "ppool": ppool,
               "var_sid": VAR_SID,
               "pool": Pool("callbacks", "P"),
               "spool": Pool("sinatra", "Q"),
               "base": Pool("baseline", "Z")}
        ctx["base"].ensure(int(80000 * ARGS.duration) + 10000)

        store_var_token(ctx, T)

        # sanity: each location answers as expected once
        if S:
            st, _, _ = get(S, "/connect")
            assert st == 200, "Sinatra /connect %d" % st

        if store_rows.wanted(ARGS):             # store rows
            store_rows.start(ctx, values)
        else:
            ARGS.no_store = True

        ms = measurements(ctx)
        if ARGS.profile:
            return profile(ctx, target, ms)
        if ARGS.callgrind:
            return callgrind(ctx, target, target_values)
        if ARGS.only:
            keep = set(ARGS.only.split(","))
            ms = {k: v for k, v in ms.items() if k in keep}

        log("warming up ...")
        for name, (label, f) in ms.items():
            saved = ARGS.duration
            ARGS.duration = 1
            try:
                with pinned(name):
                    measurements(ctx)[name][1]()
            finally:
                ARGS.duration = saved

        runs = {k: [] for k in ms}
        for rnd in range(ARGS.rounds):
            log("round %d/%d" % (rnd + 1, ARGS.rounds))
            for name, (label, f) in ms.items():
                alt = {} if ARGS.no_alternate else ALTERNATE
                if alt.get(name) in ms:
                    continue                    # measured with its baseline
                num = [k for k, v in alt.items() if v == name and k in ms]
                if num:
                    got = alternate(f, ms[num[0]][1])
                    pairs = [(name, got[0]), (num[0], got[1])]
                else:
                    with pinned(name):
                        r = f()
                    r["pinned"] = pinned(name).on
                    pairs = [(name, r)]
                for n_, r in pairs:
                    r.pop("raw", None)
                    runs[n_].append(r)
                    log("  %-16s %10.0f req/s  errors %d  other load %.2f "
                        "cores%s" % (n_, r["rps"], r["errors"],
                                     r["other_cores"],
                                     "  slices " + " ".join(
                                         "%.0f" % x for x in r["slices"])
                                     if "slices" in r else ""))
        results["runs"] = runs
        if not ARGS.no_store:                   # store rows
            results["store"] = store_rows.finish(ctx)

        if peer:
            PROCS.stop(peer)        # the bursts' peers take its port

        if not ARGS.no_nonblock:
            results["bursts"] = bursts(ctx)

        if ARGS.keep:
            log("--keep: everything runs until Ctrl-C")
            signal.pause()

        PROCS.stop(ctx["target_proc"])
        if not ARGS.no_scale:
            log("scale: zone capacity and lookups ...")
            results["scale"] = scale(ctx, values)
            log("  " + json.dumps(results["scale"]))

    except KeyboardInterrupt:
        import traceback
        traceback.print_exc()
        log("interrupted")
        PROCS.stop_all()
        return 130
    finally:
        PROCS.stop_all()

    results["seconds"] = time.time() - t_start
    results["page_len"] = len(page)
    with open("/proc/loadavg") as f:
        results["machine"]["loadavg_end"] = f.read().split()[0]
    text = report(results, ms)
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(OUT, "results-%s.json" % stamp), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(OUT, "results.txt"), "w") as f:
        f.write(text)
    return 0


def report_again(path):
    """--report: the table of a saved results JSON, with today's layout."""
    global OUT
    with open(path) as f:
        res = json.load(f)
    for k, v in res["args"].items():
        if k not in ("report",):
            setattr(ARGS, k, v)
    OUT = os.path.dirname(os.path.abspath(path))
    ctx = {"target": 0, "sinatra": 1, "ppool": True, "var_sid": VAR_SID,
           "page_len": res.get("page_len", 1544)}
    ms = measurements(ctx)
    print(report(res, ms))
    return 0


def report(res, ms):
    runs = res.get("runs", {})
    mi = res["machine"]
    L = []
    L.append("make bench: %d round(s) x %d s per measurement, wrk -t1 -c%d, "
             "one nginx worker, loopback"
             % (ARGS.rounds, ARGS.duration, ARGS.connections))
    L.append("machine: %s; %s; nginx %s; %s; %s; %s; %s; thin %s"
             % (mi["cpu"], mi["kernel"], mi["nginx"], mi["libcurl"],
                mi["openssl"], mi["wrk"], mi["ruby"],
                mi["thin"].replace("thin ", "").split(" codename")[0]))
    if "apache" in mi:
        L.append("peer: %s, mod_auth_openidc %s (Debian's packages)"
                 % (mi["apache"], mi["mod_auth_openidc"]))
    other = [r["other_cores"] for v in runs.values() for r in v]
    L.append("load: 1-min loadavg %s at start, %s at end; other processes "
             "used %.2f cores on average during the runs (max %.2f)"
             % (mi["loadavg_start"], mi.get("loadavg_end", "?"),
                statistics.mean(other) if other else 0,
                max(other) if other else 0))
    L.append("server: CPU cores the server under test used (the nginx "
             "worker, Thin, or all of Apache's processes); near 1.00 means "
             "it was the bottleneck;")
    L.append("* below 0.85: something else (the driver, the token endpoint, "
             "other processes) held it back, and ratios against it are "
             "flattered or muted")
    L.append("us/req: CPU time of the server under test per request; the "
             "'by CPU' ratio is the inverse ratio of these (what the req/s "
             "ratio would be with the server saturated)")
    L.append("met*: req/s and 'by CPU' disagree on the goal (the machine was "
             "busy): run again, or trust 'make bench-callgrind'")
    if any(r.get("pinned") for v in runs.values() for r in v):
        L.append("pinned: the worker alone on the last CPU, wrk and the "
                 "token endpoint on the others (--pin-callback: the "
                 "callback rows and their baselines); 'its CPU': "
                 "that CPU's busy share, softirq included, which 'server' "
                 "does not count")
    L.append("")

    med = {}
    L.append("%-50s %10s %17s %6s %7s %6s" % ("measurement", "req/s",
                                               "range", "server", "us/req",
                                               "errors"))
    for name, (label, _) in ms.items():
        v = runs.get(name)
        if not v:
            continue
        rps = [r["rps"] for r in v]
        med[name] = statistics.median(rps)
        cores = statistics.median(r["server_cores"] for r in v)
        us = statistics.median(cpu_us(r) for r in v)
        L.append("%-50s %10s %17s %5s%s %7.1f %6d%s" % (
            label, fmt_n(med[name]),
            "%s-%s" % (fmt_n(min(rps)), fmt_n(max(rps))),
            "%.2f" % cores, "*" if cores < 0.85 else " ", us,
            sum(r["errors"] for r in v),
            "  pinned, its CPU %.2f busy" % statistics.median(
                r["cpus"][-1] for r in v)
            if all(r.get("pinned") and r.get("cpus") for r in v) else ""))
    L.append("")

    L.append("%-50s %10s %13s %8s %8s %4s" % (
        "ratio (median of the rounds' ratios)", "req/s", "range", "by CPU",
        "goal", "met"))

    def show(x):
        return ("%.1fx" % x) if x >= 10 else "%.3f" % x

    for label, a, b, goal, kind in RATIOS:
        ra, rb = runs.get(a), runs.get(b)
        if not ra or not rb:
            continue
        per = [x["rps"] / y["rps"] for x, y in zip(ra, rb) if y["rps"]]
        ratio = statistics.median(per)
        cpu = [cpu_us(y) / cpu_us(x) for x, y in zip(ra, rb) if cpu_us(x)]
        g = "%s %g" % (kind, goal) if goal else ""
        met = ("yes" if ratio >= goal else "NO") if goal else ""
        if goal and cpu and (statistics.median(cpu) >= goal) != (
                ratio >= goal):
            met += "*"
        L.append("%-50s %10s %13s %8s %8s %4s" % (
            label, show(ratio), "%s-%s" % (show(min(per)), show(max(per))),
            show(statistics.median(cpu)) if cpu else "", g, met))

    def row(label, measured, rng="", goal="", met=""):
        L.append("%-50s %10s %13s %8s %8s %4s" % (label, measured, rng, "",
                                                  goal, met))

    nb = res.get("nonblocking")
    if nb:      # a results JSON of before the bursts
        row("non-blocking: %d callbacks, endpoint answers in 1 s"
            % nb["callbacks"], "%.2f s" % nb["total_s"])
        row("  plain requests meanwhile: p99 (max %.0f ms)"
            % nb["probe_max_ms"], "%.1f ms" % nb["probe_p99_ms"])

    for n, by in sorted(res.get("bursts", {}).items(),
                        key=lambda x: int(x[0])):
        L.append("")
        L.append("burst of %s callbacks at once, token endpoint answering "
                 "after 1 s, on a fresh server:" % fmt_n(int(n)))
        L.append("p99 and max (ms) of plain requests to the same server "
                 "meanwhile; KB/wait: its VmRSS (nginx: the worker; "
                 "Apache: the children) with the most waiting, minus idle, "
                 "per waiting callback; anon: the same of RssAnon alone "
                 "(without pages of shared memory zones)")
        L.append("%-50s %8s %6s %10s %7s %7s %6s %7s" % (
            "", "done in", "errors", "p99 plain", "max", "KB/wait",
            "anon", "waiting"))
        for kind, r in by.items():
            kb, anon = r["kb_per_waiting"], r.get("anon_kb_per_waiting")
            L.append("%-50s %6.2f s %6d %7.1f ms %7.0f %7s %6s %7d" % (
                "  " + r["label"], r["total_s"] or 0, r["errors"],
                r["probe_p99_ms"], r["probe_max_ms"],
                "%.1f" % kb if kb is not None else "?",
                "%.1f" % anon if anon is not None else "?",
                r["waiting_max"]))
            if r["errors"]:
                L.append("    answers: %s" % r["statuses"])
        floor = by.get("proxy")
        for kind, name, kb in (("cb", "libcurl", 8), ("cb_sr", "subrequest",
                                                    4)):
            r = by.get(kind)
            if not r:
                continue
            if int(n) <= 200:
                row("  %s: done in" % name, "%.2f s" % (r["total_s"] or 0),
                    "", "< 1.5 s", "yes" if r["total_s"] and
                    r["total_s"] < 1.5 and not r["errors"] else "NO")
            if floor and floor["probe_p99_ms"]:
                x = r["probe_p99_ms"] / floor["probe_p99_ms"]
                row("  %s: p99 plain / proxy_pass floor's" % name,
                    "%.2f" % x, "", "<= 1.5", "yes" if x <= 1.5 else "NO")
            if r["kb_per_waiting"] is not None:
                row("  %s: resident KB per waiting callback" % name,
                    "%.1f" % r["kb_per_waiting"])
            # the goal is on what the module adds: nginx's own proxy_pass
            # of the same waiting POST holds about 10 KB itself (its
            # request, the connections, the upstream), more than either
            # goal; the "today 3-5 KB / about 20 KB" are this gap
            if (r["kb_per_waiting"] is not None and floor
                    and floor["kb_per_waiting"] is not None):
                over = r["kb_per_waiting"] - floor["kb_per_waiting"]
                row("    above proxy_pass's for the same wait",
                    "%.1f" % over, "", "<= %d" % kb,
                    "yes" if over <= kb else "NO")
        for kind in ("peer", "peer1000"):
            r, m = by.get(kind), by.get("cb_sr")
            if r and m and r["total_s"] and m["total_s"]:
                row("  peer (%s): time / subrequest's"
                    % ("defaults" if kind == "peer" else "1,000 threads"),
                    "%.2f" % (r["total_s"] / m["total_s"]))

    sc = res.get("scale", {})
    cap = sc.get("capacity")
    if cap:
        row("zone bytes per stored token (%d-byte token)" % cap["token_len"],
            "%.0f" % cap["bytes_per_token"])
        row("  and per used state, until it expires",
            "%.0f" % cap["bytes_per_used_state"])
        row("tokens a 10 MB zone holds (free bytes / per token)",
            fmt_n(cap["tokens_only_capacity"]), "", ">= 40000",
            "yes" if cap["tokens_only_capacity"] >= 40000 else "NO")
        row("  held while %s callbacks/s fill it (ttl 2 s)"
            % fmt_n(cap["fill_rate"]), fmt_n(cap["tokens_held_filling"]))
        if cap["fill_failed"]:
            L.append("  %d capacity callbacks failed" % cap["fill_failed"])
    lk = sc.get("lookup")
    if lk:
        per = lk["ratios"]
        diff = (statistics.median(per) - 1) * 100
        row("lookups: %s vs %s tokens stored" % (
            fmt_n(lk["big_tokens"]), fmt_n(lk["small_tokens"])),
            "%+.1f %%" % diff, "%+.0f..%+.0f %%" % ((min(per) - 1) * 100,
                                                 (max(per) - 1) * 100),
            "< 10 %", "yes" if abs(diff) < 10 and lk["found"] else "NO")
        L.append("  (%s vs %s lookups/s, by CPU %+.1f %%; %s tokens "
                 "stored at %s callbacks/s)"
                 % (fmt_n(lk["big_rps"]), fmt_n(lk["small_rps"]),
                    (statistics.median(lk["cpu_ratios"]) - 1) * 100
                    if lk.get("cpu_ratios") else 0.0,
                    fmt_n(lk["big_tokens"]), fmt_n(lk["fill_rate"])))
    L.extend(store_rows.report_lines(res))      # store rows
    L.append("")
    L.append("took %.0f s; raw numbers in %s/results-*.json"
             % (res.get("seconds", 0), os.path.relpath(OUT, ROOT)
                if OUT.startswith(ROOT) else OUT))
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
