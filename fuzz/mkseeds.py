#!/usr/bin/env python3
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
"""Writes the hand-made seeds in fuzz/corpus/ (committed; rerun after changing
the state layout).  The state seeds use the harness's fixed secret, session
id, client id and time (fuzz/fuzz_state.c).  The min-* files beside them are
what "make fuzz-corpus" keeps of the inputs runs found."""

import base64
import hashlib
import hmac
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = b"state-secret-for-fuzzing-0123456"
SID = b"c2Vzc2lvbi1pZC0xMjM0NQ"
CLIENT = b"fuzz-client"
NOW = 1700000000


def blob(issued=NOW, nonce=b"N" * 16, return_to=b"", version=1):
    return (struct.pack(">BQ", version, issued) + nonce
            + struct.pack(">H", len(return_to)) + return_to)


def state(b):
    mac = hmac.new(SECRET, b + bytes([len(SID)]) + SID + CLIENT,
                   hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(b + mac).rstrip(b"=")


def write(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# state: mode 0 (a state string), 1 (return_to round trip), 2 (signed layout)
write("state", "raw-valid", b"\x00" + state(blob()))
write("state", "raw-valid-return-to", b"\x00" + state(blob(return_to=b"/reports?id=7")))
write("state", "raw-expired", b"\x00" + state(blob(issued=NOW - 3600)))
write("state", "raw-garbage", b"\x00not*base64url")
write("state", "raw-padded", b"\x00" + state(blob()) + b"==")
write("state", "trip-empty", b"\x01\x05\x07")
write("state", "trip-path", b"\x01/reports?id=7\x40\x41")
write("state", "trip-long", b"\x01/" + b"a" * 300 + b"\x3a\x02")
write("state", "signed-ok", b"\x02" + blob(return_to=b"/x"))
write("state", "signed-future", b"\x02" + blob(issued=NOW + 3600))
write("state", "signed-bad-len", b"\x02" + blob(return_to=b"/x")[:-1])
write("state", "signed-v2", b"\x02" + blob(version=2))

# args: query strings and form bodies
for i, s in enumerate([
        b"code=abc&state=xyz",
        b"code=ab%2Bc%2Fd%3D%3D&state=AAAA",
        b"error=access_denied&error_description=The+user+denied&state=s",
        b"code=a&code=b&state=s",
        b"code=abc%zz&state=s",
        b"code=abc%&state=s",
        b"state=%41%42%43&code=%00",
        b"&&=&code&state=&error",
        b"pad=xxxx&code=%C3%A9t%C3%A9&state=%2541",
        b""]):
    write("args", "seed-%02d" % i, s)

# token: the token endpoint's answers (t/standin behaviours)
for name, s in {
        "ok": b'{"token_type":"Bearer","token":"dG9rOjEyMzQ=","access_token":"dG9rOjEyMzQ="}',
        "token-only": b'{"token":"abc"}',
        "error-list": b'{"type":"error.list","request_id":"r1","errors":[{"code":"unauthorized","message":"Unauthorized Code"}]}',
        "errors-and-token": b'{"access_token":"abc","errors":[{"code":"x"}]}',
        "errors-empty": b'{"access_token":"abc","errors":[]}',
        "nested": b'{"a":{"access_token":"no"},"b":[1,2,{"c":null}],"access_token":"yes","d":true,"e":1.5e3}',
        "html": b"<html><body>oops</body></html>",
        "malformed": b'{"access_token": "abc',
        "array": b'[{"access_token":"abc"}]',
        "unicode": b'{"access_token":"\\u00e9t\\u0000e"}',
        "spaces": b'{"access_token":"a b"}'}.items():
    write("token", name, s)

# identity: /me answers
for name, s in {
        "ok": b'{"type":"admin","id":"991267","email":"ada@example.com","email_verified":true,"app":{"id_code":"abc12def","name":"Stand-in Workspace","region":"US"}}',
        "unverified": b'{"type":"admin","id":1,"email":"a@b","email_verified":"true","app":{"id_code":"x"}}',
        "no-app": b'{"type":"admin","id":"1"}',
        "not-admin": b'{"type":"user","id":"1","app":{"id_code":"x"}}',
        "nul": b'{"type":"admin"\x00}'}.items():
    write("identity", name, s)

# siphash: a 16-byte key, then a zone key ("client id \0 realm \0 key")
# of each length modulo 8
for n in range(8):
    write("siphash", "zone-key-%d" % n,
          bytes(range(16)) + b"bench-client\x00localhost\x00"
          + b"SESSIONAAAAAAAAAAAAAAA"[:14 + n])
write("siphash", "key-only", bytes(range(16)))
write("siphash", "short-key", b"\x01\x02\x03")
