#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""MQTT clients with persistent sessions, for the client-id affinity tests.

    mqtt_sessions.py clients --target IP:PORT --prefix P --count N
                     [--first K] [--persistent] [--expect MSG] [--keepalive S]
                     [--hold S] [--timeout S] [--ready-file F] [--result F]

N paho clients (MQTT 3.1.1), ids P0000 .. P{N-1} (from --first K on),
each connecting through the target, all at once. With --persistent their
sessions are kept (clean session 0) and each subscribes at QoS 1 to
s/<its id>; with --expect MSG each must also receive MSG on that topic
(a message queued for it while it was away). "Ready" is when every client
is connected (and subscribed, and has MSG): the line "ready K/N" goes to
--ready-file then, or after --timeout seconds with K < N. The clients
stay (paho reconnects a lost one after 1 s) until --hold seconds pass or
SIGTERM; then they disconnect and --result gets one JSON object per
client: id, connects, session_present of each CONNACK, messages received.

    mqtt_sessions.py publish --target IP:PORT --prefix P --count N --msg MSG
                     [--first K]

Publishes MSG at QoS 1 to s/<id> of each of those ids and waits for every
PUBACK: a broker holding a client's session queues it for the client.
Exit status 0 when all were acknowledged.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time

import paho.mqtt.client as mqtt


def client_ids(a):
    return ["%s%04d" % (a.prefix, i) for i in range(a.first, a.first + a.count)]


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


class Tracked:
    """One client's history, updated from paho's network thread."""

    def __init__(self, cid):
        self.cid = cid
        self.connects = 0
        self.session_present = []
        self.messages = []
        self.subscribed = False


def run_clients(a):
    host, port = a.target.rsplit(":", 1)
    lock = threading.Lock()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def on_connect(c, t, flags, rc):
        if rc != 0:
            return
        with lock:
            t.connects += 1
            t.session_present.append(int(flags.get("session present", 0)))
        if a.persistent:
            c.subscribe("s/" + t.cid, qos=1)

    def on_subscribe(c, t, mid, granted):
        with lock:
            t.subscribed = True

    def on_message(c, t, msg):
        with lock:
            t.messages.append(msg.payload.decode(errors="replace"))

    tracked, clients = [], []
    for cid in client_ids(a):
        t = Tracked(cid)
        c = mqtt.Client(client_id=cid, userdata=t, clean_session=not a.persistent)
        c.reconnect_delay_set(min_delay=1, max_delay=1)
        c.on_connect = on_connect
        c.on_subscribe = on_subscribe
        c.on_message = on_message
        c.connect_async(host, int(port), keepalive=a.keepalive)
        c.loop_start()
        tracked.append(t)
        clients.append(c)

    def ready(t):
        if not t.connects:
            return False
        if a.persistent and not t.subscribed:
            return False
        return not a.expect or a.expect in t.messages

    deadline = time.monotonic() + a.timeout
    while not stop.is_set():
        with lock:
            k = sum(1 for t in tracked if ready(t))
        if k == len(tracked) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    line = "ready %d/%d" % (k, len(tracked))
    print(line, flush=True)
    if a.ready_file:
        write_atomically(a.ready_file, line + "\n")
    stop.wait(a.hold)
    for c in clients:
        c.disconnect()
    for c in clients:
        c.loop_stop()
    if a.result:
        with lock:
            rows = [json.dumps({"id": t.cid, "connects": t.connects,
                                "session_present": t.session_present,
                                "messages": t.messages}) for t in tracked]
        write_atomically(a.result, "\n".join(rows) + "\n")
    return 0 if k == len(tracked) else 1


def run_publish(a):
    host, port = a.target.rsplit(":", 1)
    c = mqtt.Client(client_id="mqlbt-pub-%d" % os.getpid(), clean_session=True)
    c.connect(host, int(port), keepalive=30)
    c.loop_start()
    infos = [c.publish("s/" + cid, a.msg, qos=1) for cid in client_ids(a)]
    deadline = time.monotonic() + 20
    for info in infos:
        info.wait_for_publish(max(0.1, deadline - time.monotonic()))
    acked = sum(1 for i in infos if i.is_published())
    c.disconnect()
    c.loop_stop()
    print("published %d/%d" % (acked, len(infos)))
    return 0 if acked == len(infos) else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("clients", "publish"):
        p = sub.add_parser(name)
        p.add_argument("--target", required=True)
        p.add_argument("--prefix", required=True)
        p.add_argument("--count", type=int, required=True)
        p.add_argument("--first", type=int, default=0)
    p = sub.choices["clients"]
    p.add_argument("--persistent", action="store_true")
    p.add_argument("--expect", default="")
    p.add_argument("--keepalive", type=int, default=60)
    p.add_argument("--hold", type=float, default=60)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--ready-file", default="")
    p.add_argument("--result", default="")
    sub.choices["publish"].add_argument("--msg", required=True)
    a = ap.parse_args()
    return run_clients(a) if a.cmd == "clients" else run_publish(a)


if __name__ == "__main__":
    sys.exit(main())
