#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Tiny MQTT 3.1.1 connection holder for the end-to-end tests.

    mqttc.py hold --target IP:PORT --count N [--src A,B] [--sport-base P]
                  [--concurrent] [--hold SECONDS] [--ready-file F]
                  [--keepalive SECONDS]

Opens N TCP connections to the target (sequentially, each one completing
its CONNECT/CONNACK before the next, or all at once with --concurrent),
optionally binding source addresses round-robin from --src and source ports
from --sport-base (the same port on every source address). Prints
"connected K/N", writes it to --ready-file, holds the connections until
--hold seconds pass (or SIGTERM), then disconnects cleanly.
--keepalive is the CONNECT's keep-alive (default 60); the holder never
sends PINGREQ, so its connections stay idle.
Exit status 0 only when every connection got CONNACK return code 0.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import time


def connect_packet(client_id, keepalive=60):
    cid = client_id.encode()
    var = struct.pack("!H4sBBH", 4, b"MQTT", 4, 0x02, keepalive)
    payload = struct.pack("!H", len(cid)) + cid
    body = var + payload
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out waiting for CONNACK")
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed before CONNACK")
        buf += chunk
    return buf


def open_one(target, src, sport, idx, timeout, keepalive):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if src or sport:
        s.bind((src or "0.0.0.0", sport or 0))
    s.settimeout(timeout)
    s.connect(target)
    s.sendall(connect_packet("mqlbt-%d-%d" % (os.getpid(), idx), keepalive))
    return s


def check_connack(sock, deadline):
    pkt = recv_exact(sock, 4, deadline)
    return pkt[0] == 0x20 and pkt[1] == 2 and pkt[3] == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["hold"])
    ap.add_argument("--target", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--src", default="")
    ap.add_argument("--sport-base", type=int, default=0)
    ap.add_argument("--concurrent", action="store_true")
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--ready-file", default="")
    ap.add_argument("--keepalive", type=int, default=60)
    a = ap.parse_args()

    host, port = a.target.rsplit(":", 1)
    target = (host, int(port))
    srcs = [x for x in a.src.split(",") if x] or [""]
    socks, ok = [], 0
    deadline = time.monotonic() + a.timeout + a.count * 0.2
    for i in range(a.count):
        src = srcs[i % len(srcs)]
        sport = a.sport_base + i // len(srcs) if a.sport_base else 0
        try:
            s = open_one(target, src, sport, i, a.timeout, a.keepalive)
        except OSError as e:
            print("connection %d (%s:%d) failed: %s" % (i, src, sport, e), file=sys.stderr)
            continue
        socks.append(s)
        if not a.concurrent:
            try:
                ok += check_connack(s, time.monotonic() + a.timeout)
            except (OSError, TimeoutError, ConnectionError) as e:
                print("connection %d: %s" % (i, e), file=sys.stderr)
    if a.concurrent:
        for i, s in enumerate(socks):
            try:
                ok += check_connack(s, deadline)
            except (OSError, TimeoutError, ConnectionError) as e:
                print("connection %d: %s" % (i, e), file=sys.stderr)

    line = "connected %d/%d" % (ok, a.count)
    print(line, flush=True)
    if a.ready_file:
        with open(a.ready_file + ".tmp", "w") as f:
            f.write(line + "\n")
        os.rename(a.ready_file + ".tmp", a.ready_file)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        time.sleep(a.hold)
    except KeyboardInterrupt:
        pass
    for s in socks:
        try:
            s.sendall(b"\xe0\x00")  # DISCONNECT
            s.close()
        except OSError:
            pass
    return 0 if ok == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
