#!/usr/bin/env python3
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
"""A token endpoint that answers after a delay (default 1 s), for the
bursts of the benchmark: Intercom's JSON on any POST, with the form's code
handed back as an OpenID "id_token" (the benchmark's codes for the peer
are the signed id_tokens themselves, see bench/openidc.py), each
connection handled on its own asyncio task so that a thousand can wait at
once.  GET /waiting answers how many requests are waiting now (the
benchmark reads the servers' memory when all of a burst waits).

    slow_token.py --listen 127.0.0.1:7512 --delay 1.0 --pidfile FILE
"""

import argparse
import asyncio
import os
import signal

WAITING = 0


def response(body, ctype=b"application/json"):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            + body)


def token_response(form):
    code = b""
    for pair in form.split(b"&"):
        if pair.startswith(b"code="):
            code = pair[5:]
    return response(b'{"token_type":"Bearer","token":"tok","access_token":'
                    b'"tok","expires_in":3600,"id_token":"' + code + b'"}')


async def handle(reader, writer, delay):
    global WAITING
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(b"GET /waiting "):
                writer.write(response(b"%d" % WAITING, b"text/plain"))
                await writer.drain()
                continue
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            form = await reader.readexactly(length) if length else b""
            WAITING += 1
            try:
                await asyncio.sleep(delay)
            finally:
                WAITING -= 1
            writer.write(token_response(form))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(a):
    host, port = a.listen.rsplit(":", 1)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, a.delay), host, int(port), backlog=4096)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    async with server:
        await stop.wait()
    if a.pidfile:
        os.unlink(a.pidfile)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:7512")
    ap.add_argument("--delay", type=float, default=1.0)
    ap.add_argument("--pidfile")
    asyncio.run(main(ap.parse_args()))
