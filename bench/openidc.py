# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

"""The peer: Apache 2.4 with mod_auth_openidc, and its OpenID Provider
stand-in.

The provider is the benchmark's token endpoint nginx (bench/conf/
endpoint.conf.in, /op/...): its metadata, fetched once by the peer, and a
token endpoint that hands the posted code back as the id_token.  The codes
are the id_tokens themselves, minted here before the timed runs:

1. mint: GET /protected/bench on the peer as a browser (wrk,
   bench/lua/openidc_mint.lua); the peer answers 302 to the authorization
   endpoint with a state and a nonce, and sets its encrypted state cookie;
2. sign: for each, an HS256 JWT with the client secret as key, iss the
   provider's, aud the client id, iat now, exp in an hour, and that nonce:
   what a provider would answer for that authorization request;
3. the callback (bench/lua/openidc_callback.lua, bench/nonblock.py) sends
   ?code=JWT&state=STATE with the state cookie; the peer posts the code to
   the token endpoint, verifies the JWT it gets back (signature, iss, aud,
   exp, iat, nonce against the state cookie, nonce not seen before), keeps
   a session in its shared-memory cache and answers 302 to the URL the
   state was minted for.  Only that 302 counts as a success.

The module's rows against this endpoint get the same answer (the module
reads access_token and ignores id_token).
"""

import base64
import hashlib
import hmac
import json
import time

PROTECTED = "/protected/bench"
REDIRECT = "/protected/redirect_uri"

# mpm_event in three shapes.  "one": one child, as the nginx under test has
# one worker (64 threads: more than the 32 connections of wrk, as each
# holds a thread while libcurl waits).  "defaults": Debian's
# /etc/apache2/mods-available/mpm_event.conf.  "threads1000": one child
# with 1,000 threads, so that a burst of 1,000 all wait at once.
MPM = {
    "one": """\
    StartServers            1
    ServerLimit             1
    ThreadLimit             64
    ThreadsPerChild         64
    MaxRequestWorkers       64
    MinSpareThreads         1
    MaxSpareThreads         64""",
    "defaults": """\
    StartServers            2
    MinSpareThreads         25
    MaxSpareThreads         75
    ThreadLimit             64
    ThreadsPerChild         25
    MaxRequestWorkers       150
    MaxConnectionsPerChild  0""",
    "threads1000": """\
    StartServers            1
    ServerLimit             1
    ThreadLimit             1000
    ThreadsPerChild         1000
    MaxRequestWorkers       1000
    MinSpareThreads         1
    MaxSpareThreads         1000""",
}

# the id_tokens are used within minutes; mod_auth_openidc accepts an iat
# up to 10 minutes old (OIDCIDTokenIatSlack): older records are dropped
MAX_AGE = 300


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def jwt_hs256(key, claims):
    head = b64(b'{"alg":"HS256","typ":"JWT"}')
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64(hmac.new(key, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


def sign(minted, key, issuer, client_id):
    """Lines STATE NONCE COOKIE of openidc_mint.lua -> [(iat, code, state,
    cookie)], the code an id_token for that nonce."""
    now = int(time.time())
    out = []
    for k, line in enumerate(minted):
        state, nonce, cookie = line.split()
        code = jwt_hs256(key, {"iss": issuer, "sub": "user%d" % k,
                               "aud": client_id, "iat": now,
                               "exp": now + 3600, "nonce": nonce})
        out.append((now, code, state, cookie))
    return out


def write(path, records):
    """The records as openidc_callback.lua and nonblock.py read them."""
    with open(path, "w") as f:
        for _, code, state, cookie in records:
            f.write("%s %s %s\n" % (code, state, cookie))
    return path


def fresh(records):
    limit = time.time() - MAX_AGE
    return [r for r in records if r[0] >= limit]


def conf_values(directory, port, mpm, metadata_url, client_id,
                client_secret, passphrase):
    """bench/conf/apache.conf.in's values; one passphrase for every peer
    of a run, so that states minted by one are good for the next."""
    return {"DIR": directory, "PORT": port, "MPM": MPM[mpm],
            "METADATA_URL": metadata_url, "CLIENT_ID": client_id,
            "CLIENT_SECRET": client_secret, "PASSPHRASE": passphrase}
