#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Tiny MQTT 3.1.1 connection holder for the end-to-end tests.

    mqttc.py hold --target IP:PORT --count N [--src A,B] [--sport-base P]
                  [--concurrent] [--hold SECONDS] [--ready-file F]
                  [--keepalive SECONDS] [--tuples-file F] [--ping-file F]

Opens N TCP connections to the target (sequentially, each one completing
its CONNECT/CONNACK before the next, or all at once with --concurrent),
optionally binding source addresses round-robin from --src and source ports
from --sport-base (the same port on every source address). Prints
"connected K/N", writes it to --ready-file, holds the connections until
--hold seconds pass (or SIGTERM), then disconnects cleanly.
--keepalive is the CONNECT's keep-alive (default 60); the holder never
sends PINGREQ, so its connections stay idle.
--tuples-file gets each connection's local ADDR:PORT, one a line (what an
attacker who knows the clients, not their sequence numbers, would spray).
With --ping-file, SIGUSR1 makes the holder send PINGREQ on every
connection and write "pingresp K/N" to that file: K got PINGRESP within
--timeout (a connection the network silently lost does not answer).
Exit status 0 only when every connection got CONNACK return code 0.

    mqttc.py burst --target IP:PORT --count N --rate R [--timeout SECONDS]

Starts N connections, R a second, each on its own (TCP connect, CONNECT,
CONNACK 0, DISCONNECT) within --timeout of its start, and prints
"burst K/N ok" with K the ones that made it (a SYN the network drops is
retransmitted by the client's kernel, as for any real client).
"""
import selectors
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


def ping_all(socks, timeout):
    """PINGREQ on every connection; how many got PINGRESP within timeout."""
    alive = []
    for s in socks:
        try:
            s.sendall(b"\xc0\x00")
            alive.append(s)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    ok = 0
    for s in alive:
        try:
            if recv_exact(s, 2, deadline) == b"\xd0\x00":
                ok += 1
        except (OSError, TimeoutError, ConnectionError):
            pass
    return ok


def write_atomic(path, line):
    with open(path + ".tmp", "w") as f:
        f.write(line + "\n")
    os.rename(path + ".tmp", path)


def burst(target, count, rate, timeout):
    """count connections started rate a second; how many completed CONNACK 0 in time."""
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    started = ok = 0
    live = {}  # socket -> [deadline, state, buffer]
    while started < count or live:
        now = time.monotonic()
        while started < count and now >= t0 + started / rate:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(target)
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                started += 1
                continue
            live[s] = [now + timeout, "connecting", b""]
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
        for key, _ in sel.select(0.01):
            s = key.fileobj
            st = live[s]
            done = False
            try:
                if st[1] == "connecting":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        done = True
                    else:
                        s.send(connect_packet("mqlbt-b%d-%d" % (os.getpid(), s.fileno()), 60))
                        st[1] = "connack"
                        sel.modify(s, selectors.EVENT_READ)
                else:
                    chunk = s.recv(4 - len(st[2]))
                    st[2] += chunk
                    if not chunk:
                        done = True
                    elif len(st[2]) == 4:
                        if st[2] == b"\x20\x02\x00\x00":
                            ok += 1
                            s.send(b"\xe0\x00")
                        done = True
            except OSError:
                done = True
            if done:
                sel.unregister(s)
                s.close()
                del live[s]
        now = time.monotonic()
        for s in [x for x, st in live.items() if now > st[0]]:
            sel.unregister(s)
            s.close()
            del live[s]
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["hold", "burst"])
    ap.add_argument("--rate", type=float, default=10)
    ap.add_argument("--target", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--src", default="")
    ap.add_argument("--sport-base", type=int, default=0)
    ap.add_argument("--concurrent", action="store_true")
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--ready-file", default="")
    ap.add_argument("--keepalive", type=int, default=60)
    ap.add_argument("--tuples-file", default="")
    ap.add_argument("--ping-file", default="")
    a = ap.parse_args()

    host, port = a.target.rsplit(":", 1)
    target = (host, int(port))
    if a.cmd == "burst":
        ok = burst(target, a.count, a.rate, a.timeout)
        print("burst %d/%d ok" % (ok, a.count), flush=True)
        return 0 if ok == a.count else 1
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
    if a.tuples_file:
        write_atomic(a.tuples_file, "\n".join("%s:%d" % s.getsockname() for s in socks))
    if a.ready_file:
        write_atomic(a.ready_file, line)
    pings = []
    signal.signal(signal.SIGUSR1, lambda *_: pings.append(1))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    end = time.monotonic() + a.hold
    try:
        while time.monotonic() < end:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))
            if pings and a.ping_file:
                pings.clear()
                write_atomic(a.ping_file, "pingresp %d/%d" % (ping_all(socks, a.timeout),
                                                             len(socks)))
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
