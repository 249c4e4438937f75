#!/usr/bin/python3
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
"""Tests of the Intercom stand-in: run with

    /usr/bin/python3 t/standin/test_standin.py -v

Makes a fresh PKI with mkcerts.sh in a temporary directory, starts the
stand-in on a random port over TLS, and talks to it as the module would,
trusting only the generated CA.
"""

import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "intercom_standin.py")
MKCERTS = os.path.join(HERE, "mkcerts.sh")

CID = "cid-123"
SECRET = "s3cret+/="
REDIRECT = "https://localhost:8443/intercom/callback"
REDIRECT2 = "https://127.0.0.1:8443/other/cb?x=1"
FORM = "application/x-www-form-urlencoded"

ADMIN = {
    "type": "admin", "id": "991267", "email": "ada@example.com",
    "name": "Ada Admin", "email_verified": True,
    "app": {"type": "app", "id_code": "abc12def",
            "name": "Stand-in Workspace", "region": "US",
            "timezone": "Europe/Dublin", "identity_verification": False},
    "avatar": {"type": "avatar", "image_url": None},
    "has_inbox_seat": True,
}


class Standin:
    """One stand-in process on a random port."""

    def __init__(self, tmp, name, args):
        self.pidfile = os.path.join(tmp, name + ".pid")
        self.logfile = os.path.join(tmp, name + ".log")
        self.errfile = os.path.join(tmp, name + ".err")
        self.err = open(self.errfile, "w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, STANDIN, "--listen", "127.0.0.1:0",
             "--client-id", CID, "--client-secret", SECRET,
             "--redirect-uri", REDIRECT + "," + REDIRECT2,
             "--pidfile", self.pidfile, "--log", self.logfile] + args,
            stdout=subprocess.PIPE, stderr=self.err)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"listening on (https?)://127\.0\.0\.1:(\d+) pid (\d+)",
                      line)
        if not m:
            raise RuntimeError("stand-in did not start: %r %s" % (
                line, self.stop()[1]))
        self.startup = time.monotonic() - t0
        self.port = int(m.group(2))
        # The pidfile is written right after the announcement.
        for _ in range(100):
            if os.path.exists(self.pidfile):
                break
            time.sleep(0.01)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(5)
        self.proc.stdout.close()
        self.err.close()
        with open(self.errfile) as f:
            return rc, f.read()


TMP = None


def setUpModule():
    global TMP
    TMP = tempfile.TemporaryDirectory(prefix="standin-test-")
    subprocess.run([MKCERTS, os.path.join(TMP.name, "certs")], check=True)


def tearDownModule():
    TMP.cleanup()


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=cls.__name__ + "-", dir=TMP.name)
        cls.certs = os.path.join(TMP.name, "certs")
        cls.ctx = ssl.create_default_context(
            cafile=os.path.join(cls.certs, "ca.crt"))
        cls.srv = cls.start("main")

    @classmethod
    def start(cls, name, cert="server", extra=()):
        return Standin(cls.tmp, name, [
            "--cert", os.path.join(cls.certs, cert + ".crt"),
            "--key", os.path.join(cls.certs, cert + ".key")] + list(extra))

    @classmethod
    def tearDownClass(cls):
        rc, err = cls.srv.stop()
        # Rude clients and aborted drips must not have produced tracebacks.
        assert rc == 0, rc
        assert err == "", err

    # -- client helpers ------------------------------------------------------

    def conn(self, port=None, ctx=None, host="localhost"):
        return http.client.HTTPSConnection(
            host, port or self.srv.port, context=ctx or self.ctx, timeout=10)

    def request(self, method, path, body=None, headers=None, conn=None,
                **conn_args):
        c = conn or self.conn(**conn_args)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
        finally:
            if conn is None:
                c.close()
        return r.status, r, data

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post_form(self, path, form, headers=None, **kw):
        body = form if isinstance(form, str) else urllib.parse.urlencode(form)
        h = {"Content-Type": FORM}
        h.update(headers or {})
        return self.request("POST", path, body=body, headers=h, **kw)

    def authorize(self, state="st", redirect_uri=None):
        """Approve directly; returns (code, state bytes, raw Location)."""
        q = {"client_id": CID, "state": state}
        if redirect_uri:
            q["redirect_uri"] = redirect_uri
        status, r, _ = self.get("/oauth/approve?"
                                + urllib.parse.urlencode(q))
        self.assertEqual(status, 302)
        loc = r.getheader("Location")
        return self.parse_back(loc) + (loc,)

    @staticmethod
    def parse_back(loc):
        """(code, state) from a callback Location, percent-decoded to bytes."""
        query = urllib.parse.urlsplit(loc).query
        out = {}
        for part in query.split("&"):
            k, _, v = part.partition("=")
            out[k] = urllib.parse.unquote_to_bytes(v.replace("+", " "))
        code = out.get("code")
        return (code.decode() if code is not None else None), out.get("state")

    def exchange(self, code, path="/auth/eagle/token", secret=SECRET,
                 client_id=CID):
        return self.post_form(path, {"code": code, "client_id": client_id,
                                     "client_secret": secret})

    def me(self, token, path="/me"):
        return self.get(path, headers={"Authorization": "Bearer " + token})

    def assert_error_list(self, data, code):
        body = json.loads(data)
        self.assertEqual(body["type"], "error.list")
        self.assertTrue(body["request_id"])
        self.assertEqual(body["errors"][0]["code"], code)
        return body

    def stats(self):
        return json.loads(self.get("/_standin/stats")[2])


class Certificates(Base):
    def test_mkcerts_is_idempotent(self):
        ca = os.path.join(self.certs, "ca.crt")
        before = os.stat(ca).st_mtime_ns
        subprocess.run([MKCERTS, self.certs], check=True)
        self.assertEqual(os.stat(ca).st_mtime_ns, before)
        for name in ("ca", "server", "site", "other-ca", "other",
                     "wronghost", "expired"):
            for ext in ("crt", "key"):
                self.assertTrue(os.path.exists(
                    os.path.join(self.certs, name + "." + ext)))

    def test_starts_fast(self):
        self.assertLess(self.srv.startup, 2.0)

    def test_trusted_by_test_ca_only(self):
        self.assertEqual(self.get("/_standin/stats")[0], 200)
        other = ssl.create_default_context(
            cafile=os.path.join(self.certs, "other-ca.crt"))
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.request("GET", "/_standin/stats", ctx=other)
        # The stand-in counts the failed handshake.
        for _ in range(50):
            if self.stats()["tls_failures"] >= 1:
                break
            time.sleep(0.02)
        self.assertGreaterEqual(self.stats()["tls_failures"], 1)

    def test_by_ip_address(self):
        self.assertEqual(self.request("GET", "/_standin/stats",
                                      host="127.0.0.1")[0], 200)

    def check_cert(self, cert, message):
        srv = self.start(cert, cert=cert)
        try:
            if message is None:
                self.assertEqual(self.request("GET", "/_standin/stats",
                                              port=srv.port)[0], 200)
                return
            with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                self.request("GET", "/_standin/stats", port=srv.port)
            self.assertIn(message, cm.exception.verify_message)
        finally:
            self.assertEqual(srv.stop(), (0, ""))

    def test_site_cert(self):
        self.check_cert("site", None)

    def test_other_ca_cert(self):
        self.check_cert("other", "unable to get local issuer certificate")

    def test_wronghost_cert(self):
        self.check_cert("wronghost", "Hostname mismatch")

    def test_expired_cert(self):
        self.check_cert("expired", "certificate has expired")


class Consent(Base):
    def test_page(self):
        status, r, data = self.get(
            "/oauth?client_id=%s&state=%s" % (CID, "x%3Cscript%3E"))
        self.assertEqual(status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/html"))
        page = data.decode()
        self.assertIn("Connect Stand-in App to your Intercom workspace", page)
        self.assertIn('id="approve"', page)
        self.assertIn('id="deny"', page)
        self.assertNotIn("<script>", page)
        self.assertIn("x&lt;script&gt;", page)

    def test_unknown_client(self):
        status, _, data = self.get("/oauth?client_id=nope&state=s")
        self.assertEqual(status, 400)
        self.assertIn(b"Unknown", data)
        self.assertEqual(self.get("/oauth?state=s")[0], 400)

    def test_redirect_uri_mismatch(self):
        for bad in ("https://evil.example/cb", REDIRECT + "/",
                    REDIRECT.upper()):
            status, _, data = self.get("/oauth?" + urllib.parse.urlencode(
                {"client_id": CID, "state": "s", "redirect_uri": bad}))
            self.assertEqual(status, 400)
            self.assertIn(b"redirect_uri mismatch", data)
            status, _, data = self.get("/oauth/approve?" +
                                       urllib.parse.urlencode(
                {"client_id": CID, "state": "s", "redirect_uri": bad}))
            self.assertEqual(status, 400)

    def test_registered_redirects(self):
        _, _, loc = self.authorize()
        self.assertTrue(loc.startswith(REDIRECT + "?code="), loc)
        _, _, loc = self.authorize(redirect_uri=REDIRECT)
        self.assertTrue(loc.startswith(REDIRECT + "?code="), loc)
        _, _, loc = self.authorize(redirect_uri=REDIRECT2)
        self.assertTrue(loc.startswith(REDIRECT2 + "&code="), loc)

    def test_codes_are_padded_base64(self):
        seen = set()
        for _ in range(4):
            code, _, loc = self.authorize()
            self.assertRegex(code, r"^[A-Za-z0-9+/]+={1,2}$")
            self.assertIn("+", code)
            self.assertIn("/", code)
            seen.add(len(code) - len(code.rstrip("=")))
            raw = re.search(r"code=([^&]*)", loc).group(1)
            self.assertTrue(raw.endswith("%3D"), raw)
            self.assertIn("%2B", raw)
            self.assertIn("%2F", raw)
            self.assertNotRegex(raw, r"[=+/]")
        self.assertEqual(seen, {1, 2})

    def test_state_comes_back_byte_exact(self):
        for state in (b"plain", b"a b+c/d=e&f?g#h%", "\u00fcn\u00efc\u00f8de"
                      .encode(), b"\xff\x00\x01bin", b""):
            q = "client_id=%s&state=%s" % (
                CID, urllib.parse.quote_from_bytes(state, safe=""))
            status, r, _ = self.get("/oauth/approve?" + q)
            self.assertEqual(status, 302)
            loc = r.getheader("Location")
            self.assertEqual(self.parse_back(loc)[1], state)
            raw = loc.split("state=", 1)[1]
            self.assertRegex(raw, r"^[A-Za-z0-9._~%-]*$")

    def test_no_state_no_state_back(self):
        status, r, _ = self.get("/oauth/approve?client_id=" + CID)
        self.assertEqual(status, 302)
        self.assertNotIn("state", r.getheader("Location"))

    def test_deny(self):
        status, r, _ = self.get("/oauth/deny?client_id=%s&state=a%%2Bb" % CID)
        self.assertEqual(status, 302)
        self.assertEqual(
            r.getheader("Location"),
            REDIRECT + "?error=access_denied&error_description=The+user+"
            "denied+the+request&state=a%2Bb")


class Flow(Base):
    def test_end_to_end_through_the_page(self):
        state = "St/+=ate 1"
        status, _, data = self.get("/oauth?" + urllib.parse.urlencode(
            {"client_id": CID, "state": state, "redirect_uri": REDIRECT}))
        self.assertEqual(status, 200)
        href = re.search(r'id="approve" href="([^"]*)"', data.decode())
        import html
        url = urllib.parse.urlsplit(html.unescape(href.group(1)))
        status, r, _ = self.get(url.path + "?" + url.query)
        self.assertEqual(status, 302)
        code, back, _ = self.parse_back(r.getheader("Location")) + (None,)
        self.assertEqual(back, state.encode())

        status, r, data = self.exchange(code)
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        tok = json.loads(data)
        self.assertEqual(set(tok), {"token_type", "token", "access_token"})
        self.assertEqual(tok["token_type"], "Bearer")
        self.assertEqual(tok["token"], tok["access_token"])
        # Shaped like Intercom's, with the characters real ones carry.
        self.assertEqual(len(tok["token"]), 64)
        self.assertRegex(tok["token"], r"^dG9rO[A-Za-z0-9-]+_w==$")
        self.assertRegex(base64.urlsafe_b64decode(tok["token"])[:-2]
                         .decode(), r"^tok:[0-9a-f-]{36}:1:0$")
        token = tok["access_token"]

        # Single use.
        status, _, data = self.exchange(code)
        self.assertEqual(status, 401)
        body = self.assert_error_list(data, "unauthorized")
        self.assertEqual(body["errors"][0]["message"], "Unauthorized Code")

        status, r, data = self.me(token)
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertEqual(json.loads(data), ADMIN)

        status, _, data = self.request(
            "POST", "/auth/uninstall",
            headers={"Authorization": "Bearer " + token})
        self.assertEqual((status, json.loads(data)), (200, {}))
        status, _, data = self.me(token)
        self.assertEqual(status, 401)
        self.assert_error_list(data, "token_not_found")
        status, _, data = self.request(
            "POST", "/auth/uninstall",
            headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 401)
        self.assert_error_list(data, "token_not_found")

    def test_bad_exchanges(self):
        code = self.authorize()[0]
        for status_want, form, ctype in (
                (401, {"code": code, "client_id": CID,
                       "client_secret": "wrong"}, FORM),
                (401, {"code": code, "client_id": "other",
                       "client_secret": SECRET}, FORM),
                (401, {"code": code, "client_id": CID}, FORM),
                (401, {"code": code + "x", "client_id": CID,
                       "client_secret": SECRET}, FORM),
                (401, {"code": code.rstrip("="), "client_id": CID,
                       "client_secret": SECRET}, FORM),
                (401, {"client_id": CID, "client_secret": SECRET}, FORM),
                (400, {"code": code, "client_id": CID,
                       "client_secret": SECRET}, "application/json")):
            status, _, data = self.request(
                "POST", "/auth/eagle/token",
                body=urllib.parse.urlencode(form),
                headers={"Content-Type": ctype})
            self.assertEqual(status, status_want, form)
            self.assert_error_list(
                data, "unauthorized" if status == 401 else
                "parameter_invalid")
        # None of those consumed the code.
        self.assertEqual(self.exchange(code)[0], 200)

    def test_code_with_unencoded_plus_fails(self):
        # '+' sent raw in a form body means a space: the classic bug.
        code = self.authorize()[0]
        body = "code=%s&client_id=%s&client_secret=%s" % (
            code, CID, urllib.parse.quote(SECRET, safe=""))
        self.assertEqual(self.post_form("/auth/eagle/token", body)[0], 401)
        # Double-encoded fails too.
        code = self.authorize()[0]
        body = "code=%s&client_id=%s&client_secret=%s" % (
            urllib.parse.quote(urllib.parse.quote(code, safe=""), safe=""),
            CID, urllib.parse.quote(SECRET, safe=""))
        self.assertEqual(self.post_form("/auth/eagle/token", body)[0], 401)

    def test_expired_code(self):
        code = self.authorize()[0]
        self.assertEqual(self.request("POST", "/_standin/expire-codes")[0],
                         200)
        self.assertEqual(self.exchange(code)[0], 401)

    def test_charset_in_content_type_is_fine(self):
        code = self.authorize()[0]
        status = self.post_form(
            "/auth/eagle/token",
            {"code": code, "client_id": CID, "client_secret": SECRET},
            headers={"Content-Type": FORM + "; charset=utf-8"})[0]
        self.assertEqual(status, 200)

    def test_chunked_request_body(self):
        code = self.authorize()[0]
        body = urllib.parse.urlencode(
            {"code": code, "client_id": CID, "client_secret": SECRET})
        c = self.conn()
        c.request("POST", "/auth/eagle/token", body=iter([body.encode()]),
                  headers={"Content-Type": FORM}, encode_chunked=True)
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        r.read()
        c.close()

    def test_me_auth_failures(self):
        status, _, data = self.get("/me")
        self.assertEqual(status, 401)
        self.assert_error_list(data, "unauthorized")
        status, _, data = self.get("/me", headers={
            "Authorization": "Basic Zm9vOmJhcg=="})
        self.assertEqual(status, 401)
        self.assert_error_list(data, "unauthorized")
        status, _, data = self.me("dG9rOnVua25vd24=")
        self.assertEqual(status, 401)
        self.assert_error_list(data, "token_not_found")

    def test_wrong_method_and_path(self):
        status, _, data = self.get("/auth/eagle/token")
        self.assertEqual(status, 405)
        self.assert_error_list(data, "method_not_allowed")
        status, _, data = self.get("/nope")
        self.assertEqual(status, 404)
        self.assert_error_list(data, "not_found")
        self.assertEqual(self.get("/behave/401/oauth")[0], 404)
        self.assertEqual(self.exchange("x", "/behave/no-such/auth/eagle/"
                                            "token")[0], 404)


class Behaviours(Base):
    def behave(self, name, code="any-code", **kw):
        return self.exchange(code, "/behave/%s/auth/eagle/token" % name, **kw)

    def assert_token_valid(self, token):
        self.assertEqual(self.me(token)[0], 200)

    def test_ok(self):
        status, _, data = self.behave("ok")
        self.assertEqual(status, 200)
        tok = json.loads(data)
        self.assertEqual(set(tok), {"token_type", "token", "access_token"})
        self.assert_token_valid(tok["access_token"])
        self.assertEqual(self.behave("ok", secret="wrong")[0], 401)

    def test_token_only_and_access_only(self):
        status, _, data = self.behave("token-only")
        self.assertEqual(status, 200)
        tok = json.loads(data)
        self.assertEqual(set(tok), {"token_type", "token"})
        self.assert_token_valid(tok["token"])
        status, _, data = self.behave("access-only")
        self.assertEqual(status, 200)
        tok = json.loads(data)
        self.assertEqual(set(tok), {"token_type", "access_token"})
        self.assert_token_valid(tok["access_token"])

    def test_401_429_500(self):
        status, _, data = self.behave("401")
        self.assertEqual(status, 401)
        self.assert_error_list(data, "unauthorized")
        status, _, data = self.behave("500")
        self.assertEqual(status, 500)
        self.assert_error_list(data, "server_error")
        status, r, data = self.behave("429")
        self.assertEqual(status, 429)
        self.assertEqual(r.getheader("Retry-After"), "10")
        self.assert_error_list(data, "rate_limit_exceeded")

    def test_html(self):
        status, r, data = self.behave("html")
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/html")
        self.assertIn(b"oops", data)

    def test_malformed(self):
        status, r, data = self.behave("malformed")
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertEqual(data, b'{"access_token": "abc')
        with self.assertRaises(ValueError):
            json.loads(data)

    def test_notoken_emptytoken_errorlist(self):
        status, _, data = self.behave("notoken")
        self.assertEqual((status, json.loads(data)),
                         (200, {"token_type": "Bearer"}))
        status, _, data = self.behave("empty-token")
        self.assertEqual((status, json.loads(data)),
                         (200, {"token_type": "Bearer", "token": "",
                                "access_token": ""}))
        status, _, data = self.behave("error-list-200")
        self.assertEqual(status, 200)
        self.assert_error_list(data, "unauthorized")

    def test_errors(self):
        status, _, data = self.behave("errors")
        self.assertEqual(status, 200)
        body = json.loads(data)
        self.assertTrue(body["access_token"])
        self.assertTrue(body["errors"])
        # Valid, so a client that ignores "errors" visibly succeeds.
        self.assert_token_valid(body["access_token"])

    def test_slow(self):
        t0 = time.monotonic()
        status, _, data = self.behave("slow-300")
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.assertEqual(status, 200)
        self.assertTrue(json.loads(data)["access_token"])
        self.assertEqual(self.behave("slow-x")[0], 404)

    def test_big(self):
        status, _, data = self.behave("big")
        self.assertEqual(status, 200)
        self.assertEqual(len(data), 2 * 1024 * 1024)
        body = json.loads(data)
        self.assertNotIn(b"access_token", data[:1024 * 1024])
        self.assert_token_valid(body["access_token"])

    def test_redirect_is_not_followed_by_http_client(self):
        status, r, _ = self.behave("redirect")
        self.assertEqual(status, 302)
        self.assertEqual(r.getheader("Location"),
                         "/behave/ok/auth/eagle/token")

    def test_drip(self):
        c = self.conn()
        c.request("POST", "/behave/drip/auth/eagle/token", body="code=x",
                  headers={"Content-Type": FORM})
        t0 = time.monotonic()
        r = c.getresponse()
        self.assertLess(time.monotonic() - t0, 0.5)
        self.assertEqual(r.getheader("Content-Length"), "30")
        self.assertEqual(r.read(1), b"{")
        self.assertGreater(time.monotonic() - t0, 0.8)
        self.assertEqual(r.read(1), b'"')
        self.assertGreater(time.monotonic() - t0, 1.8)
        c.close()        # the stand-in must notice quietly

    def test_close(self):
        c = self.conn()
        c.request("POST", "/behave/close/auth/eagle/token", body="code=x",
                  headers={"Content-Type": FORM})
        r = c.getresponse()
        self.assertEqual(r.getheader("Content-Length"), "100")
        with self.assertRaises(http.client.IncompleteRead) as cm:
            r.read()
        self.assertEqual(len(cm.exception.partial), 10)
        c.close()

    def test_big_length_stall(self):
        c = self.conn()
        c.request("POST", "/behave/big-length-stall/auth/eagle/token",
                  body="code=x", headers={"Content-Type": FORM})
        t0 = time.monotonic()
        r = c.getresponse()
        self.assertLess(time.monotonic() - t0, 0.5)
        self.assertEqual(r.getheader("Content-Length"), str(2 * 1024 * 1024))
        c.sock.settimeout(1)
        with self.assertRaises(socket.timeout):
            r.read(1)
        c.close()        # the stand-in stops waiting

    def test_big_chunked_stall(self):
        c = self.conn()
        c.request("POST", "/behave/big-chunked-stall/auth/eagle/token",
                  body="code=x", headers={"Content-Type": FORM})
        r = c.getresponse()
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(r.read(96 * 1024)[:12], b'{"padding":"')
        c.sock.settimeout(1)
        with self.assertRaises(socket.timeout):
            r.read(1)
        c.close()

    def test_chunked_garbage(self):
        c = self.conn()
        c.request("POST", "/behave/chunked-garbage/auth/eagle/token",
                  body="code=x", headers={"Content-Type": FORM})
        r = c.getresponse()
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        with self.assertRaises(http.client.HTTPException):
            r.read()
        c.close()

    def test_echo(self):
        body = "code=A%2Bb%3D&client_id=" + CID + "&client_secret=zz"
        status, _, data = self.post_form(
            "/behave/echo/auth/eagle/token", body,
            headers={"X-Test": "1", "Accept": "application/json"})
        self.assertEqual(status, 200)
        got = json.loads(data)
        self.assertEqual(got["access_token"], "echo")
        self.assertEqual(got["token"], "echo")
        rec = got["received"]
        self.assertEqual(rec["body"], body)
        self.assertEqual(rec["method"], "POST")
        self.assertEqual(rec["path"], "/behave/echo/auth/eagle/token")
        self.assertEqual(rec["headers"]["Content-Type"], FORM)
        self.assertEqual(rec["headers"]["X-Test"], "1")
        self.assertEqual(rec["headers"]["Content-Length"], str(len(body)))
        self.assertIn(["Host", "localhost:%d" % self.srv.port],
                      rec["header_list"])
        self.assert_token_valid("echo")
        # Any content type is echoed.
        status, _, data = self.request(
            "POST", "/behave/echo/auth/eagle/token", body=b"{}",
            headers={"Content-Type": "application/json"})
        self.assertEqual(json.loads(data)["received"]["body"], "{}")

    def test_me_behaviours(self):
        token = json.loads(self.behave("ok")[2])["access_token"]
        status, _, data = self.me(token, "/behave/401/me")
        self.assertEqual(status, 401)
        self.assert_error_list(data, "unauthorized")
        status, _, data = self.me(token, "/behave/500/me")
        self.assertEqual(status, 500)
        self.assert_error_list(data, "server_error")
        status, _, data = self.me(token, "/behave/unverified/me")
        self.assertEqual(status, 200)
        want = json.loads(json.dumps(ADMIN))
        want["email_verified"] = False
        self.assertEqual(json.loads(data), want)
        self.assertEqual(self.me("bogus", "/behave/unverified/me")[0], 401)
        self.assertEqual(json.loads(self.me(token, "/behave/slow-50/me")[2]),
                         ADMIN)
        status, _, data = self.me(token, "/behave/malformed/me")
        self.assertEqual((status, data), (200, b'{"access_token": "abc'))
        status, _, data = self.me(token, "/behave/big/me")
        self.assertEqual(len(data), 2 * 1024 * 1024)
        self.assertEqual(json.loads(data)["email"], "ada@example.com")
        status, _, data = self.me(token, "/behave/echo/me")
        self.assertEqual(json.loads(data)["received"]["headers"]
                         ["Authorization"], "Bearer " + token)

    def test_uninstall_behaviours(self):
        status, _, data = self.request("POST", "/behave/500/auth/uninstall")
        self.assertEqual(status, 500)
        self.assert_error_list(data, "server_error")
        status, _, data = self.request("POST",
                                       "/behave/slow-x/auth/uninstall")
        self.assertEqual(status, 404)
        status, _, _ = self.request("POST", "/behave/slow-200/auth/uninstall")
        # after the wait it is the plain uninstall: no token, 401
        self.assertEqual(status, 401)


class Receiver:
    """A plain HTTP server that keeps what is POSTed to it: the app's
    uninstall URL."""

    def __init__(self, status=200):
        got = self.got = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                got.append((self.path, dict(self.headers.items()),
                            self.rfile.read(n)))
                body = b'{"deleted":0}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/intercom/uninstall" % (
            self.srv.server_address[1])
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


class AsIntercom(Base):
    """What issue 12 checked against Intercom's documentation."""

    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        super().setUpClass()
        cls.srv.stop()
        cls.srv = cls.start("intercom", extra=[
            "--uninstall-url", cls.receiver.url])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.receiver.stop()

    def token(self):
        return json.loads(self.exchange(self.authorize()[0])[2])["token"]

    def test_uninstall_removes_the_app_from_the_workspace_and_notifies(self):
        first, second = self.token(), self.token()
        del self.receiver.got[:]
        status, _, data = self.request(
            "POST", "/auth/uninstall",
            headers={"Authorization": "Bearer " + first})
        self.assertEqual((status, json.loads(data)), (200, {}))
        # every token of the workspace stops working, not only this one
        for tok in (first, second):
            status, _, data = self.me(tok)
            self.assertEqual(status, 401)
            self.assert_error_list(data, "token_not_found")
        # the notification, signed as Intercom signs it, came before the
        # answer
        self.assertEqual(len(self.receiver.got), 1)
        path, headers, body = self.receiver.got[0]
        self.assertEqual(path, "/intercom/uninstall")
        self.assertEqual(json.loads(body), {"app_id": "abc12def"})
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["X-Body-Signature"], hmac.new(
            SECRET.encode(), body, hashlib.sha256).hexdigest())
        self.assertNotIn("X-Hub-Signature", headers)
        status, _, data = self.get("/_standin/notifications")
        sent = json.loads(data)[-1]
        self.assertEqual((sent["status"], sent["answer"], sent["error"]),
                         (200, '{"deleted":0}', None))
        # a new install issues tokens that work
        self.assertEqual(self.me(self.token())[0], 200)

    def test_no_notification_for_a_refused_uninstall(self):
        del self.receiver.got[:]
        status, _, _ = self.request(
            "POST", "/auth/uninstall",
            headers={"Authorization": "Bearer dG9rOnVua25vd24="})
        self.assertEqual(status, 401)
        self.assertEqual(self.receiver.got, [])

    def test_token_request_as_json(self):
        code = self.authorize()[0]
        status, _, data = self.request(
            "POST", "/auth/eagle/token",
            body=json.dumps({"code": code, "client_id": CID,
                             "client_secret": SECRET}),
            headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(self.me(json.loads(data)["access_token"])[0], 200)
        status, _, data = self.request(
            "POST", "/auth/eagle/token", body="[1]",
            headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assert_error_list(data, "parameter_invalid")

    def test_token_errors_are_error_lists(self):
        for body, ctype in (("code=nope&client_id=%s&client_secret=x" % CID,
                             FORM),
                            ("code=x", "text/plain")):
            status, _, data = self.request(
                "POST", "/auth/eagle/token", body=body,
                headers={"Content-Type": ctype})
            self.assertIn(status, (400, 401))
            self.assert_error_list(data, "unauthorized" if status == 401
                                   else "parameter_invalid")

    def test_me_with_nulls(self):
        status, _, data = self.me(self.token(), "/behave/nulls/me")
        self.assertEqual(status, 200)
        admin = json.loads(data)
        self.assertIsNone(admin["email_verified"])
        self.assertIsNone(admin["app"])
        self.assertEqual(admin["id"], "991267")

    def test_appstore_redirect(self):
        status, _, data = self.get("/appstore/redirect?install_success=true")
        self.assertEqual(status, 200)
        self.assertIn(b"The app is installed", data)
        status, _, data = self.get(
            "/appstore/redirect?install_success=false&error_message="
            "Installation%20failed%3A%20%3Cb%3E")
        self.assertEqual(status, 200)
        self.assertIn(b'<span id="error_message">Installation failed: '
                      b'&lt;b&gt;</span>', data)
        self.assertEqual(self.get("/appstore/redirect")[0], 400)


class Introspection(Base):
    def test_keepalive_and_log(self):
        self.assertEqual(self.request("POST", "/_standin/reset")[0], 200)
        self.assertEqual(self.stats()["requests"], 0)
        c = self.conn()
        for _ in range(3):
            status, r, _ = self.get("/me", conn=c,
                                    headers={"X-Seq": "a"})
            self.assertEqual(status, 401)
        c.close()
        self.post_form("/behave/echo/auth/eagle/token", "code=z%3D",
                       headers={"X-Seq": "b"})
        status, r, data = self.get("/_standin/requests")
        self.assertEqual(status, 200)
        log = json.loads(data)
        self.assertEqual([e["path"] for e in log],
                         ["/me"] * 3 + ["/behave/echo/auth/eagle/token"])
        ids = [e["connection_id"] for e in log]
        self.assertEqual(len(set(ids[:3])), 1)
        self.assertNotEqual(ids[0], ids[3])
        self.assertEqual([e["status"] for e in log], [401, 401, 401, 200])
        last = log[3]
        self.assertEqual(last["method"], "POST")
        self.assertEqual(last["body"], "code=z%3D")
        self.assertEqual(last["headers"]["X-Seq"], "b")
        self.assertIsInstance(last["time"], float)
        st = self.stats()
        self.assertEqual((st["requests"], st["connections"]), (4, 2))

    def test_log_file(self):
        code = self.authorize()[0]
        self.exchange(code)
        with open(self.srv.logfile) as f:
            text = f.read()
        self.assertRegex(text, r"conn=\d+ GET /oauth/approve 302\n")
        self.assertRegex(text, r"conn=\d+ POST /auth/eagle/token 200\n")
        self.assertNotIn("code=", text)
        self.assertNotIn(SECRET, text)


class Robustness(Base):
    def test_body_limit(self):
        s = self.ctx.wrap_socket(socket.create_connection(
            ("127.0.0.1", self.srv.port)), server_hostname="localhost")
        s.sendall(b"POST /auth/eagle/token HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 1048577\r\n\r\n")
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 413 "), data)
        s.close()
        # Exactly 1 MiB is accepted (and is just a bad code).
        body = "code=" + "x" * (1024 * 1024 - 5)
        self.assertEqual(self.post_form("/auth/eagle/token", body)[0], 401)

    def test_rude_clients(self):
        port = self.srv.port
        # TCP connect and leave.
        socket.create_connection(("127.0.0.1", port)).close()
        # Garbage instead of a TLS ClientHello.
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        try:
            s.recv(100)
        except ConnectionResetError:
            pass
        s.close()
        # Half a request, then gone.
        s = self.ctx.wrap_socket(socket.create_connection(
            ("127.0.0.1", port)), server_hostname="localhost")
        s.sendall(b"POST /auth/eagle/token HTTP/1.1\r\nContent-Len")
        s.close()
        # Half a body, then gone.
        s = self.ctx.wrap_socket(socket.create_connection(
            ("127.0.0.1", port)), server_hostname="localhost")
        s.sendall(b"POST /auth/eagle/token HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 50\r\n\r\ncode=")
        s.close()
        # A bad request line gets a 400, and the next request a clean start.
        s = self.ctx.wrap_socket(socket.create_connection(
            ("127.0.0.1", port)), server_hostname="localhost")
        s.sendall(b"NONSENSE\r\n\r\n")
        self.assertIn(b" 400 ", s.recv(4096))
        s.close()
        time.sleep(0.2)
        self.assertEqual(self.get("/_standin/stats")[0], 200)
        # tearDownClass checks that stderr stayed empty.

    def test_plain_public_url_auto_approve(self):
        srv = Standin(self.tmp, "plain", [
            "--plain", "--auto-approve",
            "--public-url", "https://idp.example:9999/"])
        try:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            c.request("GET", "/oauth?client_id=%s&state=s" % CID)
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 302)
            self.assertTrue(r.getheader("Location").startswith(
                REDIRECT + "?code="))
            c.close()
        finally:
            self.assertEqual(srv.stop(), (0, ""))
        srv = Standin(self.tmp, "plain2", [
            "--plain", "--public-url", "https://idp.example:9999/"])
        try:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            c.request("GET", "/oauth?client_id=%s&state=s" % CID)
            page = c.getresponse().read().decode()
            self.assertIn('href="https://idp.example:9999/oauth/approve?',
                          page)
            c.close()
        finally:
            self.assertEqual(srv.stop(), (0, ""))

    def test_sigterm_with_open_connections(self):
        srv = self.start("term")
        c = self.conn(port=srv.port)
        c.request("POST", "/behave/drip/auth/eagle/token", body="x",
                  headers={"Content-Type": FORM})
        c.getresponse()
        self.assertTrue(os.path.exists(srv.pidfile))
        with open(srv.pidfile) as f:
            self.assertEqual(int(f.read()), srv.proc.pid)
        t0 = time.monotonic()
        self.assertEqual(srv.stop(), (0, ""))
        self.assertLess(time.monotonic() - t0, 2)
        self.assertFalse(os.path.exists(srv.pidfile))
        c.close()


if __name__ == "__main__":
    unittest.main()
