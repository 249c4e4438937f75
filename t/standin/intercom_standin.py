#!/usr/bin/python3
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
"""A local stand-in for Intercom's OAuth endpoints, for tests and the demo.

Python 3 standard library only. Serves HTTPS (certificates from mkcerts.sh)
or, with --plain, HTTP. Mirrors what docs/intercom.md describes:

  GET  /oauth                 consent page (Approve / Deny)
  GET  /oauth/approve         302 to redirect_uri?code=CODE&state=STATE
  GET  /oauth/deny            302 to redirect_uri?error=access_denied&...
  POST /auth/eagle/token      code -> {"token_type","token","access_token"}
                              (a form, or JSON)
  GET  /me                    the admin behind a Bearer token
  POST /auth/uninstall        uninstall the app from the token's workspace:
                              every token of it stops working, then the
                              signed {"app_id"} notification goes to
                              --uninstall-url
  GET  /appstore/redirect     the App Store's page an install ends at

plus /behave/<name>/<endpoint> for scripted misbehaviour and /_standin/*
for tests to inspect what was sent. See README.md beside this file.
"""

import argparse
import base64
import collections
import datetime
import hashlib
import hmac
import html
import itertools
import json
import os
import secrets
import select
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1024 * 1024          # request bodies above this get 413
KEEP_BODY = 64 * 1024           # how much of a body /_standin/requests keeps
LOG_ENTRIES = 200               # requests kept for /_standin/requests
HANDSHAKE_TIMEOUT = 10          # seconds for a TLS handshake
BIG_SIZE = 2 * 1024 * 1024      # size of the "big" behaviour's body
DRIP_BODY = b'{"token":"dripdripdripdrip12"}'   # 30 bytes, one per second
NOTIFY_TIMEOUT = 5              # seconds for the uninstall notification
STALL = 60                      # seconds the *-stall behaviours send nothing
STALL_CHUNKED = 96 * 1024       # what "big-chunked-stall" sends first

ADMIN = {
    "type": "admin",
    "id": "991267",
    "email": "ada@example.com",
    "name": "Ada Admin",
    "email_verified": True,
    "app": {
        "type": "app",
        "id_code": "abc12def",
        "name": "Stand-in Workspace",
        "region": "US",
        "timezone": "Europe/Dublin",
        "identity_verification": False,
    },
    "avatar": {"type": "avatar", "image_url": None},
    "has_inbox_seat": True,
}

# Quiet on these: the peer went away or misbehaved, nothing to debug here.
DISCONNECTS = (ConnectionError, TimeoutError, ssl.SSLError, EOFError)


def dumps(obj):
    """Compact JSON, as Intercom sends it."""
    return json.dumps(obj, separators=(",", ":"))


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def pct(value):
    """Percent-encode everything but unreserved characters. Values are
    latin-1 strings holding the raw bytes, so any byte round-trips."""
    return urllib.parse.quote(value, safe="-._~", encoding="latin-1")


def parse_form(data):
    """application/x-www-form-urlencoded (or a query string) -> dict.

    The first occurrence of a name wins. Values are decoded as latin-1 so
    they hold the exact bytes that were sent, whatever the charset."""
    out = {}
    for name, value in urllib.parse.parse_qsl(
            data, keep_blank_values=True, encoding="latin-1"):
        out.setdefault(name, value)
    return out


def error_list(code, message):
    return {
        "type": "error.list",
        "request_id": secrets.token_hex(10),
        "errors": [{"code": code, "message": message}],
    }


class State:
    """Everything shared between handler threads, behind one lock."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.codes = {}          # code -> {client_id, redirect_uri, expires}
        self.tokens = {}         # token -> {"revoked", "workspace"}
        self.notifications = []  # uninstall notifications sent, answers
        self.code_counter = itertools.count()
        self.conn_counter = itertools.count(1)
        self.log = collections.deque(maxlen=LOG_ENTRIES)
        self.generation = 0      # bumped by reset
        self.reset_counters()

    def reset_counters(self):
        self.tcp_connections = 0
        self.tls_failures = 0
        self.last_tls_error = None
        self.requests = 0        # requests other than /_standin/*
        self.connections = 0     # connections that carried such requests

    # -- codes and tokens -------------------------------------------------

    def new_code(self, client_id, redirect_uri):
        """A base64 code with padding, as Intercom's can be. Every code holds
        '+' and '/' (form-encoding traps) and codes alternate between ending
        in '==' and '=' (16 or 17 random bytes)."""
        with self.lock:
            n = next(self.code_counter)
            code = base64.b64encode(secrets.token_bytes(16 + n % 2)).decode()
            code = code[:3] + "+" + code[4:7] + "/" + code[8:]
            self.codes[code] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "expires": time.monotonic() + self.opts.code_ttl,
            }
            return code

    def use_code(self, code):
        """Consume a code: True if it was known and unexpired. Single use."""
        with self.lock:
            entry = self.codes.pop(code, None)
        return entry is not None and entry["expires"] > time.monotonic()

    def expire_codes(self):
        with self.lock:
            for entry in self.codes.values():
                entry["expires"] = 0

    def new_token(self, token=None):
        """Issue (or re-validate) a token of the workspace. Shaped like
        Intercom's, with the characters real ones carry: base64url of
        "tok:<uuid>:1:0" and two more bytes, 64 characters, starting
        "dG9rO", ending "_w==" ('_' and '=' pass through every layer)."""
        if token is None:
            u = secrets.token_hex(16)
            raw = "tok:%s-%s-%s-%s-%s:1:0" % (
                u[:8], u[8:12], u[12:16], u[16:20], u[20:])
            token = base64.urlsafe_b64encode(
                raw.encode() + b"\xfb\xff").decode()
        with self.lock:
            self.tokens[token] = {"revoked": False,
                                  "workspace": ADMIN["app"]["id_code"]}
        return token

    def token_valid(self, token):
        with self.lock:
            entry = self.tokens.get(token)
            return entry is not None and not entry["revoked"]

    def uninstall(self, token):
        """Uninstall the app from the token's workspace, as Intercom's
        /auth/uninstall does: every token of the workspace stops working.
        Returns the workspace, or None when the token was not valid."""
        with self.lock:
            entry = self.tokens.get(token)
            if entry is None or entry["revoked"]:
                return None
            for other in self.tokens.values():
                if other["workspace"] == entry["workspace"]:
                    other["revoked"] = True
            return entry["workspace"]

    def notified(self, record):
        with self.lock:
            self.notifications.append(record)

    def notifications_snapshot(self):
        with self.lock:
            return dumps(self.notifications)

    # -- introspection -----------------------------------------------------

    def record(self, entry, counted_in):
        """Log a request. counted_in: the generation in which its connection
        was last counted; returns the current one."""
        with self.lock:
            self.requests += 1
            if counted_in != self.generation:
                self.connections += 1
            self.log.append(entry)
            return self.generation

    def snapshot(self):
        with self.lock:
            return dumps(list(self.log))

    def stats(self):
        with self.lock:
            return {
                "connections": self.connections,
                "requests": self.requests,
                "tcp_connections": self.tcp_connections,
                "tls_failures": self.tls_failures,
                "last_tls_error": self.last_tls_error,
                "tokens": sum(1 for t in self.tokens.values()
                              if not t["revoked"]),
                "codes": len(self.codes),
            }

    def reset(self):
        with self.lock:
            self.log.clear()
            self.notifications = []
            self.generation += 1
            self.reset_counters()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "intercom-standin"

    # -- plumbing ------------------------------------------------------------

    def setup(self):
        # setup() runs once per TCP connection: number the connection.
        self.timeout = self.server.opts.idle_timeout
        self.conn_id = next(self.server.state.conn_counter)
        self.entry = None
        self.counted_in = None    # the stats generation that counted us
        super().setup()

    def parse_request(self):
        # Forget the previous request on this connection, so that an error
        # answered while parsing this one is not logged under its name.
        self.entry = None
        self.path = ""
        return super().parse_request()

    def log_message(self, fmt, *args):
        self.server.write_log("conn=%d %s" % (self.conn_id, fmt % args))

    def log_request(self, code="-", size="-"):
        # One line per request: method, path (no query: it carries codes
        # and states), status.
        if self.entry is not None:
            self.entry["status"] = int(code)
        path = (getattr(self, "path", "") or "-").split("?", 1)[0]
        method = getattr(self, "command", None) or "-"
        self.server.write_log("conn=%d %s %s %d" % (
            self.conn_id, method, path, int(code)))

    def read_body(self):
        """Read the request body (Content-Length or chunked), at most
        MAX_BODY bytes. Returns bytes, or None after answering 413/400."""
        te = self.headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            body = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    size = -1
                if size < 0:
                    self.send_json(400, error_list(
                        "bad_request", "Bad chunked encoding"), close=True)
                    return None
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY:
                    self.send_json(413, error_list(
                        "request_too_large", "Body too large"), close=True)
                    return None
                body += self.rfile.read(size)
                self.rfile.readline(8)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            self.send_json(400, error_list(
                "bad_request", "Bad Content-Length"), close=True)
            return None
        if n > MAX_BODY:
            self.send_json(413, error_list(
                "request_too_large", "Body too large"), close=True)
            return None
        return self.rfile.read(n)

    def send_raw(self, status, body, ctype="application/json",
                 headers=(), close=False):
        """A complete response with Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=(), close=False):
        self.send_raw(status, dumps(obj).encode(), "application/json",
                      headers, close)

    def send_html(self, status, title, body_html):
        page = PAGE % {"title": html.escape(title), "body": body_html,
                       "base": html.escape(self.server.public_url)}
        self.send_raw(status, page.encode(), "text/html; charset=utf-8")

    def redirect(self, location):
        self.send_raw(302, b"", "text/plain", [("Location", location)])

    # -- dispatch ------------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        self.entry = None
        body = self.read_body()
        if body is None:
            return
        path, _, query = self.path.partition("?")
        internal = path.startswith("/_standin/")
        if not internal:
            headers = {}
            for name, value in self.headers.items():
                headers[name] = (headers[name] + ", " + value
                                 if name in headers else value)
            self.entry = {
                "method": self.command,
                "path": self.path,
                "headers": headers,
                "header_list": [[n, v] for n, v in self.headers.items()],
                "body": body[:KEEP_BODY].decode("utf-8", "replace"),
                "body_length": len(body),
                "connection_id": self.conn_id,
                "time": time.time(),
                "status": None,
            }
            self.counted_in = self.server.state.record(self.entry,
                                                       self.counted_in)

        behaviour = None
        if path.startswith("/behave/"):
            behaviour, _, rest = path[len("/behave/"):].partition("/")
            path = "/" + rest

        route = ROUTES.get((self.command, path))
        if route is None:
            if any(p == path for (_, p) in ROUTES):
                self.send_json(405, error_list(
                    "method_not_allowed", "Method not allowed"))
            else:
                self.send_json(404, error_list(
                    "not_found", "Resource Not Found"))
            return
        if behaviour is not None and path not in BEHAVING:
            self.send_json(404, error_list(
                "not_found", "Behaviours apply to " + ", ".join(BEHAVING)))
            return
        route(self, parse_form(query), body, behaviour)

    # -- the consent page ----------------------------------------------------

    def check_client(self, q):
        """Common checks of /oauth, /oauth/approve and /oauth/deny. Returns
        the redirect URI to use, or None after answering 400."""
        opts = self.server.opts
        if q.get("client_id") != opts.client_id:
            self.send_html(400, "Unknown app",
                           "<p>Unknown <code>client_id</code>. The app "
                           "could not be found.</p>")
            return None
        given = q.get("redirect_uri")
        if not given:
            if opts.redirect_uris:
                return opts.redirect_uris[0]
            self.send_html(400, "No redirect URL",
                           "<p>No redirect_uri given and none is "
                           "registered for this app.</p>")
            return None
        if given not in opts.redirect_uris:
            self.send_html(400, "redirect_uri mismatch",
                           "<p>redirect_uri mismatch: <code>%s</code> is "
                           "not a Redirect URL registered for this app.</p>"
                           % html.escape(given))
            return None
        return given

    def authorize(self, q, body, behaviour):
        redirect_uri = self.check_client(q)
        if redirect_uri is None:
            return
        if self.server.opts.auto_approve:
            return self.approve(q, body, behaviour)
        # Carry the request's own parameters on to Approve / Deny.
        params = "&".join("%s=%s" % (pct(k), pct(v)) for k, v in q.items()
                          if k in ("client_id", "state", "redirect_uri"))
        # Relative links unless --public-url: they work whatever host name
        # the browser used to reach us.
        base = (self.server.opts.public_url or "").rstrip("/")
        app = html.escape(self.server.opts.app_name)
        shown = lambda v: html.escape(v.encode("latin-1").decode(
            "utf-8", "replace"))
        self.send_html(200, "Connect %s to your Intercom workspace"
                       % self.server.opts.app_name, CONSENT % {
            "app": app,
            "approve": html.escape("%s/oauth/approve?%s" % (base, params)),
            "deny": html.escape("%s/oauth/deny?%s" % (base, params)),
            "client_id": shown(q.get("client_id", "")),
            "redirect_uri": shown(redirect_uri),
            "state": shown(q.get("state", "")),
        })

    def back_to_app(self, redirect_uri, params):
        sep = "&" if "?" in redirect_uri else "?"
        self.redirect(redirect_uri + sep + "&".join(params))

    def approve(self, q, body, behaviour):
        redirect_uri = self.check_client(q)
        if redirect_uri is None:
            return
        code = self.server.state.new_code(q["client_id"], redirect_uri)
        params = ["code=" + pct(code)]
        if "state" in q:
            params.append("state=" + pct(q["state"]))
        self.back_to_app(redirect_uri, params)

    def deny(self, q, body, behaviour):
        redirect_uri = self.check_client(q)
        if redirect_uri is None:
            return
        params = ["error=access_denied",
                  "error_description=The+user+denied+the+request"]
        if "state" in q:
            params.append("state=" + pct(q["state"]))
        self.back_to_app(redirect_uri, params)

    # -- the API -------------------------------------------------------------

    def token(self, q, body, behaviour):
        opts = self.server.opts
        name = behaviour or "strict"
        if name.startswith("slow-"):
            try:
                ms = min(int(name[5:]), 600000)
            except ValueError:
                return self.unknown_behaviour(name)
            time.sleep(ms / 1000.0)
            name = "ok"
        issuing = name in ("strict", "ok", "token-only", "access-only",
                           "errors", "big")
        ctype = self.headers.get("Content-Type", "")
        ctype = ctype.split(";")[0].strip().lower()
        if issuing and ctype not in ("application/x-www-form-urlencoded",
                                     "application/json"):
            return self.send_json(400, error_list(
                "parameter_invalid",
                "Content-Type must be application/x-www-form-urlencoded "
                "or application/json"))
        if ctype == "application/json":
            # Intercom's API takes JSON too: the same fields, as strings
            try:
                form = json.loads(body.decode("utf-8"))
            except ValueError:
                form = None
            if not isinstance(form, dict):
                return self.send_json(400, error_list(
                    "parameter_invalid", "The body is not a JSON object"))
            form = {k: v for k, v in form.items() if isinstance(v, str)}
        else:
            form = parse_form(body.decode("latin-1"))
        client_ok = (form.get("client_id") == opts.client_id
                     and form.get("client_secret") == opts.client_secret)

        if name == "strict":
            if not client_ok:
                return self.unauthorized_code("bad-client")
            if not self.server.state.use_code(form.get("code", "")):
                return self.unauthorized_code("bad-code")
            return self.token_ok()
        if issuing:
            if not client_ok:
                return self.unauthorized_code("bad-client")
            tok = self.server.state.new_token()
            if name == "ok":
                return self.token_ok(tok)
            if name == "token-only":
                return self.send_json(200, {"token_type": "Bearer",
                                            "token": tok})
            if name == "access-only":
                return self.send_json(200, {"token_type": "Bearer",
                                            "access_token": tok})
            if name == "errors":
                return self.send_json(200, {
                    "token_type": "Bearer", "token": tok,
                    "access_token": tok,
                    "errors": [{"code": "unauthorized",
                                "message": "Unauthorized Code"}]})
            return self.send_big({"token_type": "Bearer", "token": tok,
                                  "access_token": tok})
        if name == "notoken":
            return self.send_json(200, {"token_type": "Bearer"})
        if name == "empty-token":
            return self.send_json(200, {"token_type": "Bearer",
                                        "token": "", "access_token": ""})
        if name == "echo":
            self.server.state.new_token("echo")
            return self.send_json(200, {
                "token_type": "Bearer", "token": "echo",
                "access_token": "echo",
                "received": self.received(body)})
        if name == "drip":
            self.server.state.new_token(json.loads(DRIP_BODY)["token"])
        return self.generic(name, "Unauthorized Code", {})

    def token_ok(self, tok=None):
        tok = tok or self.server.state.new_token()
        self.send_json(200, {"token_type": "Bearer", "token": tok,
                             "access_token": tok})

    def unauthorized_code(self, reason):
        self.send_json(401, error_list("unauthorized", "Unauthorized Code"),
                       headers=[("X-Standin-Reason", reason)])

    def bearer(self):
        """The Bearer token of the request, or None after answering 401."""
        auth = self.headers.get("Authorization")
        if auth is None:
            self.send_json(401, error_list("unauthorized",
                                           "Access Token Required"))
            return None
        scheme, _, tok = auth.partition(" ")
        tok = tok.strip()
        if scheme.lower() != "bearer" or not tok:
            self.send_json(401, error_list("unauthorized",
                                           "Access Token Invalid"))
            return None
        if not self.server.state.token_valid(tok):
            self.send_json(401, error_list("token_not_found",
                                           "Token not found"))
            return None
        return tok

    def me(self, q, body, behaviour):
        name = behaviour or "ok"
        if name.startswith("slow-"):
            try:
                time.sleep(min(int(name[5:]), 600000) / 1000.0)
            except ValueError:
                return self.unknown_behaviour(name)
            name = "ok"
        if name in ("ok", "unverified", "nulls", "echo"):
            if self.bearer() is None:
                return
            admin = json.loads(json.dumps(ADMIN))
            if name == "unverified":
                admin["email_verified"] = False
            if name == "nulls":
                # the fields Intercom may send as null
                admin["email_verified"] = None
                admin["app"] = None
            if name == "echo":
                admin["received"] = self.received(body)
            return self.send_json(200, admin)
        return self.generic(name, "Access Token Invalid", ADMIN)

    def uninstall(self, q, body, behaviour):
        if behaviour is not None and behaviour.startswith("slow-"):
            try:
                time.sleep(min(int(behaviour[5:]), 600000) / 1000.0)
            except ValueError:
                return self.unknown_behaviour(behaviour)
            behaviour = None
        if behaviour is not None:
            return self.generic(behaviour, "Access Token Invalid", {})
        tok = self.bearer()
        if tok is None:
            return
        workspace = self.server.state.uninstall(tok)
        if workspace is None:
            return self.send_json(401, error_list("token_not_found",
                                                  "Token not found"))
        # Delivered before the answer, so that a test that saw the answer
        # can look at what the notification found.
        self.notify_uninstall(workspace)
        self.send_json(200, {})

    def notify_uninstall(self, workspace):
        """POST the uninstall notification to --uninstall-url, signed as
        Intercom signs it: X-Body-Signature, the hex HMAC-SHA256 of the raw
        body keyed by the client secret. What it answered is kept for
        /_standin/notifications."""
        opts = self.server.opts
        if not opts.uninstall_url:
            return
        body = dumps({"app_id": workspace}).encode()
        sig = hmac.new(opts.client_secret.encode(), body,
                       hashlib.sha256).hexdigest()
        record = {"url": opts.uninstall_url, "body": body.decode(),
                  "signature": sig, "status": None, "answer": None,
                  "error": None}
        req = urllib.request.Request(opts.uninstall_url, data=body,
                                     method="POST", headers={
            "Content-Type": "application/json",
            "X-Body-Signature": sig,
            "User-Agent": "intercom-standin"})
        ctx = ssl.create_default_context(cafile=opts.uninstall_ca)
        try:
            with urllib.request.urlopen(req, timeout=NOTIFY_TIMEOUT,
                                        context=ctx) as answer:
                record["status"] = answer.status
                record["answer"] = answer.read(KEEP_BODY).decode(
                    "utf-8", "replace")
        except urllib.error.HTTPError as e:
            record["status"] = e.code
            record["answer"] = e.read(KEEP_BODY).decode("utf-8", "replace")
        except (OSError, ValueError) as e:
            record["error"] = str(e)
        self.server.state.notified(record)

    def appstore_redirect(self, q, body, behaviour):
        """Where an install that started at the App Store ends."""
        ok = q.get("install_success")
        if ok not in ("true", "false"):
            return self.send_html(400, "App Store",
                                  "<p>install_success must be true or "
                                  "false.</p>")
        if ok == "true":
            return self.send_html(200, "App installed",
                                  '<p id="install">The app is installed in '
                                  'your workspace.</p>')
        message = q.get("error_message", "").encode("latin-1").decode(
            "utf-8", "replace")
        self.send_html(200, "App not installed",
                       '<p id="install">The app could not be installed: '
                       '<span id="error_message">%s</span></p>'
                       % html.escape(message))

    def received(self, body):
        return {
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers.items()),
            "header_list": [[n, v] for n, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }

    # -- behaviours shared by all API endpoints ------------------------------

    def unknown_behaviour(self, name):
        self.send_json(404, error_list("not_found",
                                       "Unknown behaviour " + name))

    def send_big(self, obj):
        """A valid JSON object of exactly BIG_SIZE bytes, the padding first
        so that a client reading only the start sees no token."""
        tail = dumps(obj)[1:]             # '"token_type": ...}'
        head = '{"padding":"'
        sep = '",' if obj else '"'
        pad = BIG_SIZE - len(head) - len(sep) - len(tail)
        self.send_raw(200, (head + "x" * pad + sep + tail).encode())

    def generic(self, name, message, big):
        """Behaviours every API endpoint has. message: the 401's message;
        big: the object "big" pads to BIG_SIZE."""
        if name == "401":
            return self.send_json(401, error_list("unauthorized", message),
                                  headers=[("X-Standin-Reason", "behaviour")])
        if name == "500":
            return self.send_json(500, error_list(
                "server_error", "Internal server error"))
        if name == "429":
            return self.send_json(429, error_list(
                "rate_limit_exceeded", "Exceeded rate limit"),
                headers=[("Retry-After", "10")])
        if name == "html":
            return self.send_raw(
                200, b"<html><body><h1>oops</h1>Something went wrong."
                     b"</body></html>", "text/html")
        if name == "malformed":
            return self.send_raw(200, b'{"access_token": "abc')
        if name == "error-list-200":
            return self.send_json(200, error_list("unauthorized",
                                                  "Unauthorized Code"))
        if name == "big":
            return self.send_big(big)
        if name == "redirect":
            return self.send_raw(
                302, b"{}", headers=[("Location", self.path.replace(
                    "/behave/redirect/", "/behave/ok/", 1))])
        if name == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(DRIP_BODY)))
            self.end_headers()
            self.close_connection = True
            for i in range(len(DRIP_BODY)):
                time.sleep(1)
                self.wfile.write(DRIP_BODY[i:i + 1])
            return
        if name == "big-length-stall":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(BIG_SIZE))
            self.end_headers()
            return self.stall()
        if name == "big-chunked-stall":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            body = b'{"padding":"' + b"x" * (STALL_CHUNKED - 12)
            for i in range(0, len(body), 8192):
                chunk = body[i:i + 8192]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            return self.stall()
        if name == "close":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"access_t')     # 10 of the promised 100
            self.close_connection = True
            return
        if name == "chunked-garbage":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"zz-not-hex\r\n{\"access_token\":\"x\"}\r\n")
            self.close_connection = True
            return
        return self.unknown_behaviour(name)

    def stall(self):
        """Send nothing more for STALL seconds, or until the client closes
        the connection, then close it."""
        self.close_connection = True
        end = time.monotonic() + STALL
        while time.monotonic() < end:
            readable, _, _ = select.select([self.connection], [], [], 0.5)
            if not readable:
                continue
            try:
                if not self.connection.recv(4096):
                    return
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except DISCONNECTS + (OSError,):
                return

    # -- introspection -------------------------------------------------------

    def st_requests(self, q, body, behaviour):
        self.send_raw(200, self.server.state.snapshot().encode())

    def st_reset(self, q, body, behaviour):
        self.server.state.reset()
        self.send_json(200, {})

    def st_notifications(self, q, body, behaviour):
        self.send_raw(200,
                      self.server.state.notifications_snapshot().encode())

    def st_stats(self, q, body, behaviour):
        self.send_json(200, self.server.state.stats())

    def st_expire_codes(self, q, body, behaviour):
        self.server.state.expire_codes()
        self.send_json(200, {})


ROUTES = {
    ("GET", "/oauth"): Handler.authorize,
    ("GET", "/oauth/approve"): Handler.approve,
    ("GET", "/oauth/deny"): Handler.deny,
    ("POST", "/auth/eagle/token"): Handler.token,
    ("GET", "/me"): Handler.me,
    ("POST", "/auth/uninstall"): Handler.uninstall,
    ("GET", "/appstore/redirect"): Handler.appstore_redirect,
    ("GET", "/_standin/notifications"): Handler.st_notifications,
    ("GET", "/_standin/requests"): Handler.st_requests,
    ("POST", "/_standin/reset"): Handler.st_reset,
    ("GET", "/_standin/stats"): Handler.st_stats,
    ("POST", "/_standin/expire-codes"): Handler.st_expire_codes,
}
BEHAVING = ("/auth/eagle/token", "/me", "/auth/uninstall")

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>%(title)s</title>
<style>
body { font-family: sans-serif; max-width: 36em; margin: 3em auto; }
.btn { display: inline-block; padding: .6em 1.4em; margin-right: 1em;
       border-radius: 4px; text-decoration: none; color: #fff; }
#approve { background: #1f73b7; } #deny { background: #888; }
dl { font-size: small; color: #555; } dd { word-break: break-all; }
</style></head><body>
<h1>%(title)s</h1>
%(body)s
<p style="font-size:small;color:#888">Intercom stand-in at %(base)s</p>
</body></html>
"""

CONSENT = """<p><b>%(app)s</b> would like to access your Intercom workspace
<b>Stand-in Workspace</b> as Ada Admin (ada@example.com).</p>
<p><a class="btn" id="approve" href="%(approve)s">Approve</a>
<a class="btn" id="deny" href="%(deny)s">Deny</a></p>
<dl><dt>client_id</dt><dd>%(client_id)s</dd>
<dt>redirect_uri</dt><dd>%(redirect_uri)s</dd>
<dt>state</dt><dd>%(state)s</dd></dl>
"""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, opts, address, family):
        self.address_family = family
        self.opts = opts
        self.state = State(opts)
        self.log_lock = threading.Lock()
        self.log_file = open(opts.log, "a", buffering=1) if opts.log else None
        self.tls = None
        if not opts.plain:
            self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls.load_cert_chain(opts.cert, opts.key)
            self.tls.set_alpn_protocols(["http/1.1"])
        super().__init__(address, Handler)
        host, port = self.server_address[:2]
        hostport = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        self.url = ("http://" if opts.plain else "https://") + hostport
        self.public_url = (opts.public_url or self.url).rstrip("/")

    def server_bind(self):
        # HTTPServer.server_bind would resolve the host name (slow, useless).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def write_log(self, line):
        if self.log_file is None:
            return
        with self.log_lock:
            self.log_file.write("%s %s\n" % (now_iso(), line))

    def finish_request(self, request, client_address):
        """Runs in the connection's own thread: the TLS handshake happens
        here, not in the accept loop, so a silent client blocks nobody."""
        with self.state.lock:
            self.state.tcp_connections += 1
        sock = request
        try:
            if self.tls is not None:
                request.settimeout(HANDSHAKE_TIMEOUT)
                try:
                    sock = self.tls.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    with self.state.lock:
                        self.state.tls_failures += 1
                        self.state.last_tls_error = str(e)
                    self.write_log("TLS handshake failed from %s: %s"
                                   % (client_address[0], e))
                    return
            self.RequestHandlerClass(sock, client_address, self)
        except DISCONNECTS:
            pass
        finally:
            if sock is not request:
                try:
                    sock.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        # Anything unexpected: one line to stderr, not a traceback per peer.
        exc = sys.exc_info()[1]
        if isinstance(exc, DISCONNECTS):
            return
        sys.stderr.write("intercom-standin: %s: %r\n"
                         % (client_address[0], exc))
        self.write_log("error: %r" % (exc,))


def parse_listen(value):
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got " + value)
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return (host, int(port)), family


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=parse_listen,
                   default=parse_listen("127.0.0.1:9443"),
                   help="HOST:PORT (port 0 picks a free port)")
    p.add_argument("--cert", help="server certificate (PEM)")
    p.add_argument("--key", help="its private key (PEM)")
    p.add_argument("--plain", action="store_true",
                   help="serve plain HTTP instead of HTTPS")
    p.add_argument("--client-id", default="standin-client")
    p.add_argument("--client-secret", default="standin-secret")
    p.add_argument("--redirect-uri", default="",
                   help="registered Redirect URL(s), comma-separated; the "
                        "first is used when the request names none")
    p.add_argument("--app-name", default="Stand-in App")
    p.add_argument("--uninstall-url",
                   help="the app's uninstall URL: a POST /auth/uninstall "
                        "sends the signed uninstall notification there")
    p.add_argument("--uninstall-ca",
                   help="CAs trusted for an https uninstall URL (default: "
                        "the system's)")
    p.add_argument("--public-url",
                   help="base URL for the consent page's links (default: "
                        "relative links)")
    p.add_argument("--code-ttl", type=float, default=300,
                   help="seconds an authorization code lives")
    p.add_argument("--idle-timeout", type=float, default=120,
                   help="seconds a keep-alive connection may idle")
    p.add_argument("--auto-approve", action="store_true",
                   help="/oauth redirects at once as if Approve was clicked")
    p.add_argument("--pidfile")
    p.add_argument("--log", help="append one line per request to this file")
    opts = p.parse_args(argv)
    if not opts.plain and not (opts.cert and opts.key):
        p.error("--cert and --key are required unless --plain")
    opts.redirect_uris = [u.strip() for u in opts.redirect_uri.split(",")
                          if u.strip()]

    address, family = opts.listen
    try:
        server = Server(opts, address, family)
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("intercom-standin: cannot start on %s:%d: %s\n"
                         % (address[0], address[1], e))
        return 1

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    # Listening now: announce it, then write the pidfile atomically.
    try:
        print("intercom-standin listening on %s pid %d"
              % (server.url, os.getpid()), flush=True)
    except OSError:
        pass                     # nobody is reading stdout: fine
    if opts.pidfile:
        tmp = "%s.%d.tmp" % (opts.pidfile, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(tmp, opts.pidfile)
    server.write_log("listening on %s" % server.url)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.write_log("stopping")
        server.server_close()
        if opts.pidfile:
            try:
                os.unlink(opts.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
