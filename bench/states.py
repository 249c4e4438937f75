# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

"""States minted exactly as the module mints them, for the load drivers.

The layout is the module's (src/ngx_http_intercom_oauth_state.h), the same
as make_state() in t/lib/IntercomOAuthTest.pm:

    state = base64url(version | issued-at | nonce | return_to | mac)
    mac   = HMAC-SHA256(secret, blob | len(sid) | sid | client id)[:16]

The benchmark's nginx is configured with intercom_oauth_state_secret
file:..., so a driver that knows the secret can send valid, fresh,
single-use states without a connect round trip per callback.

A record file holds fixed-length records, one per callback:

    SID(22) ' ' STATE(58) ' ' CODE(16) '\n'          = 99 bytes

so that a wrk Lua script can read record k at byte k * 99 and different
runs can take disjoint slices of one file.
"""

import base64
import hashlib
import hmac
import os
import struct
import time

RECORD_LEN = 99
SID_LEN = 22


def sid(prefix, i):
    """A valid session id (22 base64url characters) for index i: the Lua
    lookup driver builds the same string, so no list needs to be shipped."""
    return "%s%0*d" % (prefix, SID_LEN - len(prefix), i)


def make_state(secret, sid_, client_id, issued=None, nonce=None,
               return_to=b""):
    if issued is None:
        issued = int(time.time())
    if nonce is None:
        nonce = os.urandom(16)
    blob = (b"\x01" + struct.pack(">Q", issued) + nonce
            + struct.pack(">H", len(return_to)) + return_to)
    sidb = sid_.encode()
    mac = hmac.new(secret, blob + bytes([len(sidb)]) + sidb
                   + client_id.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(blob + mac).rstrip(b"=").decode()


def write_records(path, secret, client_id, count, sid_prefix=None,
                  one_sid=None, start=0):
    """Writes `count` records; record k has session sid(sid_prefix, start+k)
    (a different browser each time) or, with one_sid, that one session.
    Returns the path."""
    issued = int(time.time())
    key = secret
    cid = client_id.encode()
    # one HMAC object per key, copied per state: about 2 us a record
    base = hmac.new(key, digestmod=hashlib.sha256)
    rnd = os.urandom(16 * count)
    head = b"\x01" + struct.pack(">Q", issued)
    tail = struct.pack(">H", 0)
    out = bytearray()
    b64 = base64.urlsafe_b64encode
    for k in range(count):
        s = one_sid if one_sid else sid(sid_prefix, start + k)
        sb = s.encode()
        blob = head + rnd[16 * k:16 * k + 16] + tail
        h = base.copy()
        h.update(blob + bytes([len(sb)]) + sb + cid)
        st = b64(blob + h.digest()[:16]).rstrip(b"=")
        code = b"c%015d" % (start + k)
        out += sb + b" " + st + b" " + code + b"\n"
    if len(out) != RECORD_LEN * count:
        raise ValueError("record length is not %d" % RECORD_LEN)
    with open(path, "wb") as f:
        f.write(out)
    return path


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--sid-prefix", default="B")
    ap.add_argument("--one-sid")
    ap.add_argument("out")
    a = ap.parse_args()
    with open(a.secret_file, "rb") as f:
        sec = f.read().rstrip(b"\n")
    write_records(a.out, sec, a.client_id, a.count, a.sid_prefix, a.one_sid)
