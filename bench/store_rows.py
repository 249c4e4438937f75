# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
"""make bench's store rows: the zone with Redis behind it, against the zone
alone (issue 14 item 9, issue 13 item 4).

bench/bench.py calls this module where its lines say "store rows":
start() after the nginx under test is up, measurements() for the rows,
finish() after the rounds, report_lines() under the table.  --no-store
skips all of it; "--only store" measures the store rows and the callbacks
of the zone alone they are compared with.  Ports, all on loopback (BASE = --port-base):

  BASE+50  nginx, store redis://127.0.0.1:BASE+54/0
  BASE+51  nginx, store rediss://localhost:BASE+55/1 (mutual TLS, a test CA
           made by this run with openssl)
  BASE+52  nginx, store sentinel://BASE+58,+59,+60/benchgroup, with
           intercom_oauth_store_wait 1 (the configuration docs/several-
           hosts.md gives for Sentinel)
  BASE+53  nginx, store as BASE+50 with intercom_oauth_store_cache_ttl 0:
           every lookup is a GET to Redis
  BASE+54  redis-server, plain TCP; BASE+55 its TLS port (one server, so
           that plain and TLS differ only in the connection)
  BASE+56  redis-server, the Sentinel group's primary; BASE+57 its replica
  BASE+58..+60  three redis-sentinel

Each nginx is the benchmark's target.conf.in (one worker, the same
locations as the nginx under test) with the store's directives in @STORE@.
The rows, measured in the same rounds as bench.py's own:

  store_lookup_zone          return 200 "$intercom_access_token" (/lookup),
                             the nginx under test, zone alone: the baseline
  store_lookup_{redis,rediss,sentinel}
                             the same with a store, the token served from
                             the zone's fresh copy (younger than
                             intercom_oauth_store_cache_ttl, 60 s)
  store_lookup_get           the same, the token not fresh in the zone
                             (cache_ttl 0): one GET per lookup
  store_cb[_sr]_{redis,rediss,sentinel}
                             the callback (libcurl, subrequest engine) with
                             the store: the state claimed and the sealed
                             token written in Redis before the 302

A callback counts as a success only when the module counted it ok (302,
token stored, which with a store means Redis acknowledged the write); the
store's own counters (writes, reads, hits) are read around every run, and
at the end the Redis keys are counted on each server (and the Sentinel
group's replica), so the table shows that the store was really used.
"""

import hashlib
import hmac
import os
import re
import shutil
import subprocess
import time

B = None            # bench.py's module (its ARGS, PROCS, wrk, ...)

PREFIX = {"redis": "bp:", "rediss": "bt:", "sentinel": "bs:"}
DB = {"redis": 0, "rediss": 1, "sentinel": 0}
KINDS = ("redis", "rediss", "sentinel")
WHAT = {"redis": "plain TCP", "rediss": "TLS", "sentinel": "Sentinel"}
GROUP = "benchgroup"
STORE_KEY = os.urandom(32).hex()


def ports(base):
    return {"redis": base + 50, "rediss": base + 51, "sentinel": base + 52,
            "get": base + 53, "r_plain": base + 54, "r_tls": base + 55,
            "s_primary": base + 56, "s_replica": base + 57,
            "sentinels": [base + 58, base + 59, base + 60]}


def add_args(ap):
    ap.add_argument("--no-store", action="store_true",
                    help="skip the store rows (Redis plain, TLS, Sentinel; "
                    "bench/store_rows.py); --only store runs them alone, "
                    "with the callbacks they are compared with")


def wanted(args):
    """Whether this run measures any store row.  In --only, "store" stands
    for every store row and the callbacks they are compared with."""
    if args.no_store or args.profile or args.callgrind:
        return False
    names = args.only.split(",") if args.only else []
    if "store" in names:
        names.remove("store")
        names += [n for n in ["cb", "cb_sr", "store_lookup_zone"]
                  + ["store_%s_%s" % (what, kind) for kind in KINDS
                     for what in ("cb", "cb_sr", "lookup")]
                  + ["store_lookup_get"] if n not in names]
        args.only = ",".join(names)
    return not names or any(n.startswith("store_") for n in names)


# --- Redis -------------------------------------------------------------------

def cli(port, *argv, db=None):
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    if db is not None:
        cmd += ["-n", str(db)]
    out = subprocess.run(cmd + [str(a) for a in argv], capture_output=True,
                         text=True, timeout=30)
    return out.stdout.strip()


def wait_redis(port, proc, what, until=None, timeout=20):
    """Until Redis on port answers PING and until() holds."""
    B.wait_port(port, proc, what, timeout)
    end = time.time() + timeout
    while not (cli(port, "PING") == "PONG" and (until is None or until())):
        if proc.poll() is not None or time.time() > end:
            raise SystemExit("%s not ready on %d (see bench/out/%s.log)"
                             % (what, port, proc.bench_name))
        time.sleep(0.1)


def redis(name, port, *extra):
    """redis-server on loopback, its data in OUT/name; persistence as
    docs/several-hosts.md asks (append-only, Redis's default fsync)."""
    if not B.port_free(port, 1):
        raise SystemExit("port %d is in use (--port-base moves all ports)"
                         % port)
    d = os.path.join(B.OUT, name)
    os.makedirs(d, exist_ok=True)
    p = B.PROCS.start(name, ["redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--dir", d,
                             "--appendonly", "yes", "--save", "",
                             "--daemonize", "no"] + list(extra))
    wait_redis(port, p, name)
    return p


def sentinel(i, port, primary):
    d = os.path.join(B.OUT, "sentinel%d" % i)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "sentinel.conf")
    with open(conf, "w") as f:
        f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                "sentinel monitor %s 127.0.0.1 %d 2\n"
                "sentinel down-after-milliseconds %s 5000\n"
                % (port, d, GROUP, primary, GROUP))
    if not B.port_free(port, 1):
        raise SystemExit("port %d is in use (--port-base moves all ports)"
                         % port)
    argv = (["redis-sentinel", conf] if shutil.which("redis-sentinel")
            else ["redis-server", conf, "--sentinel"])
    p = B.PROCS.start("sentinel%d" % i, argv)
    return p


def make_certs(d):
    """A test CA, a server certificate for localhost and 127.0.0.1, and a
    client certificate (clientAuth), as t/system/043-redis-tls.t makes
    them: EC P-256, openssl's CLI."""
    os.makedirs(d, exist_ok=True)

    def ossl(*argv):
        subprocess.run(["openssl"] + list(argv), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    j = lambda n: os.path.join(d, n)
    ossl("req", "-x509", *ec, "-keyout", j("ca.key"), "-out", j("ca.crt"),
         "-subj", "/CN=bench store CA", "-days", "2")
    for name, serial, ext in (
            ("server", 1, "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
                          "extendedKeyUsage = serverAuth\n"),
            ("client", 2, "extendedKeyUsage = clientAuth\n")):
        with open(j(name + ".ext"), "w") as f:
            f.write(ext)
        ossl("req", "-new", *ec, "-keyout", j(name + ".key"),
             "-subj", "/CN=" + ("localhost" if name == "server" else "site"),
             "-out", j(name + ".csr"))
        ossl("x509", "-req", "-in", j(name + ".csr"), "-CA", j("ca.crt"),
             "-CAkey", j("ca.key"), "-set_serial", str(serial), "-days", "2",
             "-extfile", j(name + ".ext"), "-out", j(name + ".crt"))


def token_key(kind, sid):
    """The Redis key of the token of session sid (as store.c names it, and
    t/lib/RedisStore.pm token_key(): realm localhost, the server_name)."""
    names = hmac.new(hashlib.sha256(STORE_KEY.encode()).digest(),
                     b"intercom_oauth_store key names",
                     hashlib.sha256).digest()
    what = ("%s\0localhost\0%s" % (B.CLIENT_ID, sid)).encode()
    return "%stoken:%s:%s" % (PREFIX[kind], B.CLIENT_ID,
                              hmac.new(names, what,
                                       hashlib.sha256).hexdigest())


def count_keys(port, db, pattern):
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port),
                          "-n", str(db), "--scan", "--pattern", pattern],
                         capture_output=True, text=True, timeout=120)
    return len(out.stdout.split())


# --- start -------------------------------------------------------------------

def start(ctx, values):
    """Redis, the Sentinel group and an nginx per store; a token stored
    through each for the lookups.  Everything through bench.py's PROCS, so
    that it is stopped at the end, also on error."""
    P = ports(B.ARGS.port_base)
    certs = os.path.join(B.OUT, "store-certs")
    make_certs(certs)
    keyfile = os.path.join(B.OUT, "store.key")
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, STORE_KEY.encode())
    os.close(fd)

    B.log("store rows: redis-server (plain and TLS), a Sentinel group "
          "(primary, replica, three sentinels) ...")
    redis("redis", P["r_plain"],
          "--tls-port", str(P["r_tls"]),
          "--tls-cert-file", os.path.join(certs, "server.crt"),
          "--tls-key-file", os.path.join(certs, "server.key"),
          "--tls-ca-cert-file", os.path.join(certs, "ca.crt"),
          "--tls-auth-clients", "yes")
    redis("redis-primary", P["s_primary"])
    rep = redis("redis-replica", P["s_replica"],
                "--replicaof", "127.0.0.1", str(P["s_primary"]))
    wait_redis(P["s_replica"], rep, "the replica",
               lambda: "master_link_status:up"
               in cli(P["s_replica"], "INFO", "replication"))
    sps = [sentinel(i, sp, P["s_primary"])
           for i, sp in enumerate(P["sentinels"])]
    wait_redis(P["sentinels"][0], sps[0], "the sentinels",
               lambda: re.search(r"status=ok,address=[^,]+,slaves=1,"
                                 r"sentinels=3", cli(P["sentinels"][0],
                                                     "INFO", "sentinel")),
               timeout=30)

    common = ("intercom_oauth_store_key file:%s;\n"
              "    intercom_oauth_store_prefix %%s;\n" % keyfile)
    tls = ("intercom_oauth_store_ca_file %s;\n"
           "    intercom_oauth_store_certificate %s;\n"
           "    intercom_oauth_store_certificate_key %s;\n"
           % tuple(os.path.join(certs, n)
                   for n in ("ca.crt", "client.crt", "client.key")))
    stores = {
        "redis": "intercom_oauth_store redis://127.0.0.1:%d/0;\n    "
                 % P["r_plain"] + common % PREFIX["redis"],
        "rediss": "intercom_oauth_store rediss://localhost:%d/1;\n    "
                  % P["r_tls"] + tls + "    " + common % PREFIX["rediss"],
        "sentinel": "intercom_oauth_store sentinel://%s/%s/0;\n    "
                    % (",".join("127.0.0.1:%d" % sp
                                for sp in P["sentinels"]), GROUP)
                    + "intercom_oauth_store_wait 1 500ms;\n    "
                    + common % PREFIX["sentinel"],
    }
    stores["get"] = (stores["redis"]
                     + "    intercom_oauth_store_cache_ttl 0;\n")

    st = ctx["store"] = {"ports": P, "pool": B.Pool("store", "R"),
                         "sid": {}}
    for kind in KINDS + ("get",):
        B.log("store rows: nginx with the store (%s) on %d"
              % (kind, P[kind]))
        B.start_nginx("store-" + kind, "target.conf.in",
                      dict(values, PORT=P[kind], STORE=stores[kind]),
                      P[kind])

    # a token for the lookups; the first callback also waits for the
    # worker's connection (and Sentinel's answer, the TLS handshake)
    for kind in KINDS:
        st["sid"][kind] = store_token(P[kind], "STORE%s" % kind.upper())
        if cli(store_port(kind), "EXISTS", token_key(kind, st["sid"][kind]),
               db=DB[kind]) != "1":
            raise SystemExit("store rows: the token stored through %s is "
                             "not in Redis" % kind)
    st["sid"]["get"] = st["sid"]["redis"]
    for kind in KINDS + ("get",):
        code, _, body = B.get(P[kind], "/lookup", {
            "Cookie": "intercom_oauth_sid=" + st["sid"][kind]})
        if code != 200 or body != b"tok":
            raise SystemExit("store rows: /lookup on %s answered %d %r"
                             % (kind, code, body))


def store_port(kind):
    """The port of the Redis that holds kind's keys (the primary)."""
    P = ports(B.ARGS.port_base)
    if kind == "sentinel":
        addr = cli(P["sentinels"][0], "SENTINEL", "get-master-addr-by-name",
                   GROUP).split()
        return int(addr[1]) if len(addr) == 2 else P["s_primary"]
    return P["r_plain"]


def store_token(port, sid0):
    """A callback with a fresh state for session sid0 (22 characters);
    retried while the worker connects to its store.  Returns the session
    id the token is stored under (the callback rotates it)."""
    sid0 = (sid0 + "0" * 22)[:22]
    end = time.time() + 15
    while True:
        rec = B.states.make_state(B.STATE_SECRET, sid0, B.CLIENT_ID)
        code, hdrs, _ = B.get(port, "/cb?code=storecode&state=" + rec,
                              {"Cookie": "intercom_oauth_sid=" + sid0})
        if code == 302:
            break
        if time.time() > end:
            raise SystemExit("store rows: the callback on %d answers %d "
                             "(see bench/out/store-*/logs/error.log)"
                             % (port, code))
        time.sleep(0.2)
    for k, v in hdrs:
        m = re.match(r"intercom_oauth_sid=([A-Za-z0-9_-]{22})", v)
        if k.lower() == "set-cookie" and m:
            return m.group(1)
    return sid0


# --- the measurements --------------------------------------------------------

def store_counts(port):
    return B.status(port).get("store", {})


def measurements(ctx):
    """name -> (label, function), in bench.py's measurements() form."""
    P = ports(B.ARGS.port_base)
    st = ctx.get("store", {"sid": {}})
    D = B.ARGS.duration
    T = ctx["target"]

    def lookup(port, sid, must_get=False):
        def f():
            before = store_counts(port) if port != T else {}
            r = B.wrk(port, "/lookup", D, headers=[
                "Cookie: intercom_oauth_sid=" + sid])
            r["errors"] = r["non2xx"] + r["sockerr"]
            if port != T:
                after = store_counts(port)
                r["store_reads"] = after["reads"] - before["reads"]
                r["store_hits"] = after["hits"] - before["hits"]
                if must_get and r["store_hits"] < r["requests"]:
                    # a lookup that did not find the token in Redis
                    r["errors"] += r["requests"] - r["store_hits"]
            return r
        return f

    def callback(port, path):
        def f():
            before = store_counts(port)
            r = B.run_callback(port, path, st["pool"], D, port)
            after = store_counts(port)
            r["store_writes"] = after["writes"] - before["writes"]
            # every 302 the driver saw was acknowledged by Redis
            if r["store_writes"] < r["requests"] - r["non2xx"]:
                r["errors"] += r["requests"] - r["non2xx"] \
                    - r["store_writes"]
                r["note"] = "fewer store writes than 302s"
            return r
        return f

    m = {"store_lookup_zone": ("token lookup (/lookup), zone alone",
                               lookup(T, ctx["var_sid"]))}
    for kind in KINDS:
        w = WHAT[kind] + (", wait 1" if kind == "sentinel" else "")
        m["store_cb_" + kind] = ("callback, store %s" % w,
                                 callback(P[kind], "/cb"))
        m["store_cb_sr_" + kind] = ("callback, subrequest engine, store %s"
                                    % w, callback(P[kind], "/cb-sr"))
        m["store_lookup_" + kind] = (
            "token lookup, store %s, zone's fresh copy" % WHAT[kind],
            lookup(P[kind], st["sid"].get(kind, "")))
    m["store_lookup_get"] = (
        "token lookup, store plain TCP, a GET each time",
        lookup(P["get"], st["sid"].get("get", ""), must_get=True))
    return m


RATIOS = [
    ("store %s: callback / zone alone" % WHAT[k], "store_cb_" + k, "cb",
     None, None) for k in KINDS
] + [
    ("store %s: callback / zone alone, subrequest" % WHAT[k],
     "store_cb_sr_" + k, "cb_sr", None, None) for k in KINDS
] + [
    ("store %s: lookup, fresh copy / zone alone" % WHAT[k],
     "store_lookup_" + k, "store_lookup_zone", 0.95, ">=") for k in KINDS
] + [
    ("store plain TCP: lookup with a GET / zone alone", "store_lookup_get",
     "store_lookup_zone", None, None),
]


# --- the end -----------------------------------------------------------------

def finish(ctx):
    """The keys in Redis (tokens and used states), then every store
    process stopped (bench.py stops them too, on error)."""
    P = ctx["store"]["ports"]
    res = {}
    primary = store_port("sentinel")
    for kind, port, db in (("redis", P["r_plain"], 0),
                           ("rediss", P["r_plain"], 1),
                           ("sentinel", primary, 0),
                           ("sentinel replica", P["s_replica"]
                            if primary == P["s_primary"] else P["s_primary"],
                            0)):
        pre = PREFIX[kind.split()[0]]
        res[kind] = {"tokens": count_keys(port, db, pre + "token:*"),
                     "states": count_keys(port, db, pre + "state:*")}
        B.log("  redis %-16s %8d tokens %8d used states"
              % (kind, res[kind]["tokens"], res[kind]["states"]))
    for p in [p for p in reversed(B.PROCS.procs)
              if p.bench_name.startswith(("store-", "redis", "sentinel"))]:
        B.PROCS.stop(p)
    return res


def report_lines(res):
    runs = res.get("runs", {})
    L = []
    rows = [(k, v) for k, v in runs.items() if k.startswith("store_")]
    if not rows:
        return L
    L.append("")
    L.append("store rows: what Redis did per request (sum of the rounds)")
    for name, v in rows:
        req = sum(r["requests"] for r in v) or 1
        if "store_writes" in v[0]:
            L.append("  %-26s %8d callbacks, %5.2f store writes each, "
                     "redis-server %5.1f us CPU each"
                     % (name, req, sum(r["store_writes"] for r in v) / req,
                        redis_us(v)))
        elif "store_reads" in v[0]:
            L.append("  %-26s %8d lookups, %7.4f GETs each, %7.4f hits each"
                     % (name, req, sum(r["store_reads"] for r in v) / req,
                        sum(r["store_hits"] for r in v) / req))
    keys = res.get("store")
    for k, v in (keys or {}).items():
        L.append("  keys in Redis at the end, %-16s %8d tokens %8d used "
                 "states" % (k, v["tokens"], v["states"]))
    return L


def redis_us(v):
    """CPU microseconds of the redis-server processes per request."""
    t = n = 0
    for r in v:
        cores = sum(c for k, c in r.get("cores", {}).items()
                    if k.startswith("redis"))
        t += cores * 1e6 / r["rps"] if r["rps"] else 0
        n += 1
    return t / max(n, 1)
