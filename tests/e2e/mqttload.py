#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The study's scenario as a small single-threaded MQTT load (selectors).

    mqttload.py seed --sub-target IP:PORT --pub-target IP:PORT
                     [--subs 800] [--pubs 100] [--topic kuliah] [--timeout 60] [-j]

SUBS subscribers connect (MQTT 3.1.1, clean session) through --sub-target
and subscribe to TOPIC at QoS 0; then PUBS publishers connect to
--pub-target, each publishes one message and disconnects. Every message
carries its id and send time, so the report counts delivered/expected,
duplicates, and latency p50/p99. Exit 0 when every message reached every
subscriber exactly once.

This is the interim load for the demo and tests until mqbench (C) exists.
"""
import argparse
import json
import os
import selectors
import socket
import struct
import sys
import time


def enc_str(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def enc_len(n):
    out = b""
    while True:
        d = n % 128
        n //= 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def packet(first, body):
    return bytes([first]) + enc_len(len(body)) + body


def connect_pkt(cid, keepalive=60):
    return packet(0x10, enc_str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive) + enc_str(cid))


def subscribe_pkt(topic, pid=1):
    return packet(0x82, struct.pack("!H", pid) + enc_str(topic) + b"\x00")


def publish_pkt(topic, payload):
    return packet(0x30, enc_str(topic) + payload)


class Conn:
    def __init__(self, idx, target):
        self.idx = idx
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(target)
        self.buf = b""
        self.state = "connecting"
        self.seen = {}

    def packets(self):
        """Yield complete (type, body) packets from the buffer."""
        while True:
            if len(self.buf) < 2:
                return
            mult, n, i = 1, 0, 1
            while True:
                if i >= len(self.buf):
                    return
                d = self.buf[i]
                n += (d & 0x7F) * mult
                mult *= 128
                i += 1
                if not d & 0x80:
                    break
                if i > 4:
                    raise ValueError("bad remaining length")
            if len(self.buf) < i + n:
                return
            first, body = self.buf[0], self.buf[i:i + n]
            self.buf = self.buf[i + n:]
            yield first, body


def run_subscribers(sel, conns, topic, deadline):
    pending = set(c.idx for c in conns)
    for c in conns:
        sel.register(c.sock, selectors.EVENT_WRITE, c)
    while pending and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            if c.state == "connecting" and ev & selectors.EVENT_WRITE:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, "subscriber %d: connect: %s" % (c.idx, os.strerror(err)))
                c.sock.sendall(connect_pkt("seed-sub-%d-%d" % (os.getpid(), c.idx)))
                c.state = "connack"
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            data = c.sock.recv(65536)
            if not data:
                raise OSError("subscriber %d: closed during setup" % c.idx)
            c.buf += data
            for first, body in c.packets():
                if first == 0x20 and body[1] == 0:
                    c.sock.sendall(subscribe_pkt(topic))
                    c.state = "suback"
                elif first == 0x90:
                    c.state = "ready"
                    pending.discard(c.idx)
    return not pending


def publish_all(target, topic, n):
    sent = {}
    for i in range(n):
        s = socket.create_connection(target, timeout=10)
        s.sendall(connect_pkt("seed-pub-%d-%d" % (os.getpid(), i)))
        ack = s.recv(4)
        if len(ack) < 4 or ack[0] != 0x20 or ack[3] != 0:
            raise OSError("publisher %d: no CONNACK" % i)
        t = time.monotonic()
        s.sendall(publish_pkt(topic, struct.pack("!Id", i, t)) + b"\xe0\x00")
        sent[i] = t
        s.close()
    return sent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["seed"])
    ap.add_argument("--sub-target", required=True)
    ap.add_argument("--pub-target", required=True)
    ap.add_argument("--subs", type=int, default=800)
    ap.add_argument("--pubs", type=int, default=100)
    ap.add_argument("--topic", default="kuliah")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("-j", action="store_true", dest="json")
    a = ap.parse_args()

    def target(s):
        h, p = s.rsplit(":", 1)
        return (h, int(p))

    deadline = time.monotonic() + a.timeout
    sel = selectors.DefaultSelector()
    subs = [Conn(i, target(a.sub_target)) for i in range(a.subs)]
    if not run_subscribers(sel, subs, a.topic, deadline):
        print("seed: not every subscriber was ready in time", file=sys.stderr)
        return 1
    # Bridges forward subscriptions asynchronously: give them a moment.
    time.sleep(1.0)
    sent = publish_all(target(a.pub_target), a.topic, a.pubs)
    expected = a.subs * a.pubs
    delivered = dups = 0
    lat = []
    while delivered < expected and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            data = c.sock.recv(65536)
            if not data:
                sel.unregister(c.sock)
                continue
            c.buf += data
            now = time.monotonic()
            for first, body in c.packets():
                if first >> 4 != 3:
                    continue
                tlen = struct.unpack("!H", body[:2])[0]
                payload = body[2 + tlen:]
                mid, t = struct.unpack("!Id", payload[:12])
                if mid in c.seen:
                    dups += 1
                    continue
                c.seen[mid] = True
                delivered += 1
                lat.append(now - t)
    # Late duplicates show up after the last expected delivery, if at all.
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            data = c.sock.recv(65536)
            if data:
                c.buf += data
                for first, body in c.packets():
                    if first >> 4 == 3:
                        dups += 1
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else 0.0

    report = {"subscribers": a.subs, "publishers": a.pubs, "delivered": delivered,
              "expected": expected, "duplicates": dups,
              "latency_ms_p50": round(pct(0.50), 3), "latency_ms_p99": round(pct(0.99), 3)}
    if a.json:
        print(json.dumps(report))
    else:
        print("latency p50 %.2f ms, p99 %.2f ms" % (report["latency_ms_p50"], report["latency_ms_p99"]))
        print("delivered: %d/%d duplicates: %d" % (delivered, expected, dups))
    for c in subs:
        c.sock.close()
    return 0 if delivered == expected and dups == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
