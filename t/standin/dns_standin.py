#!/usr/bin/env python3
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# dns_standin.py PORT FILE -- a DNS server for the tests, on 127.0.0.1:PORT
# (UDP): every A question is answered with the IPv4 address in FILE, read
# at each question (so a test moves a name by rewriting FILE), TTL 1;
# other questions get an empty answer.  Enough for nginx's resolver.

import argparse
import socket
import struct


def answer(query, addr):
    ident, flags, qdcount = struct.unpack('!HHH', query[:6])
    if qdcount != 1:
        return None

    # the question: labels up to a zero byte, then type and class
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    qtype, qclass = struct.unpack('!HH', query[end + 1:end + 5])
    question = query[12:end + 5]

    rd = flags & 0x0100
    ancount = 1 if qtype == 1 and addr else 0
    head = struct.pack('!HHHHHH', ident, 0x8080 | rd, 1, ancount, 0, 0)
    out = head + question

    if ancount:
        out += struct.pack('!HHHIH', 0xc00c, 1, 1, 1, 4)
        out += socket.inet_aton(addr)

    return out


def arguments():
    parser = argparse.ArgumentParser(
        description='A DNS server for the tests on 127.0.0.1:PORT (UDP): '
                    'every A question is answered with the IPv4 address in '
                    'FILE, read at each question (rewrite FILE to move the '
                    'name), TTL 1; other questions get an empty answer.  '
                    'Point nginx at it with "resolver 127.0.0.1:PORT;".',
        epilog='example: echo 127.0.0.2 > /tmp/addr; '
               'dns_standin.py 5353 /tmp/addr')
    parser.add_argument('port', metavar='PORT', type=int,
                        help='the UDP port on 127.0.0.1')
    parser.add_argument('path', metavar='FILE',
                        help='holds the address every name resolves to')
    return parser.parse_args()


def main():
    args = arguments()
    port, path = args.port, args.path
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', port))

    while True:
        query, peer = s.recvfrom(512)
        try:
            with open(path) as f:
                addr = f.read().strip()
            out = answer(query, addr)
        except (OSError, IndexError, struct.error):
            continue
        if out:
            s.sendto(out, peer)


if __name__ == '__main__':
    main()
