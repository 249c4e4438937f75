#!/usr/bin/env python3
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
"""A token endpoint that answers after a delay (default 1 s), for the
non-blocking benchmark: Intercom's JSON on any request, each connection
handled on its own asyncio task so that hundreds can wait at once.

    slow_token.py --listen 127.0.0.1:7512 --delay 1.0 --pidfile FILE
"""

import argparse
import asyncio
import os
import signal

BODY = b'{"token_type":"Bearer","token":"tok","access_token":"tok"}'
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


async def handle(reader, writer, delay):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(a):
    host, port = a.listen.rsplit(":", 1)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, a.delay), host, int(port), backlog=1024)
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
