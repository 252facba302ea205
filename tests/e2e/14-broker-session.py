#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Clean session 0: subscriptions survive, QoS 1/2 queued while offline
(bounded by max_queued_messages, drops counted in $SYS), delivered on
reconnection with session present; unacknowledged messages re-sent with
DUP and PUBRELs re-sent, in order; clean session 1 discards the session."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (Broker, Collector, Raw, ack_pkt, check, packet, parse_publish,  # noqa: E402
                        subscribe_pkt, wait_for)
import paho.mqtt.client as mqtt  # noqa: E402


def publisher(port):
    p = mqtt.Client("spub")
    p.connect("127.0.0.1", port)
    p.loop_start()
    return p


def offline_queue(b):
    # paho persistent subscriber goes away; messages queue; it comes back
    col = Collector(b.port, [("sess/q", 2)], cid="persist", clean=False)
    col.stop()
    p = publisher(b.port)
    for i in range(5):
        p.publish("sess/q", f"m{i}", qos=1 if i % 2 else 2).wait_for_publish()
    p.publish("sess/q", "zero", qos=0).wait_for_publish()
    r = Raw(b.port)
    sp, rc = r.connect("persist", clean=False)
    check(sp == 1 and rc == 0, "session present on reconnection")
    got, rels = [], 0
    while len(got) < 5 or rels < 3:
        first, body = r.recv()
        if first == 0x62:
            rels += 1
            r.send(ack_pkt("pubcomp", int.from_bytes(body, "big")))
            continue
        m = parse_publish(first, body)
        got.append(m["payload"].decode())
        r.send(ack_pkt("puback" if m["qos"] == 1 else "pubrec", m["pid"]))
    check(got == [f"m{i}" for i in range(5)], "offline QoS 1/2 queued and delivered in order")
    check(r.closed(0.5) is False, "QoS 0 was not queued for the offline session")
    r.send(packet(0xe0))
    r.closed()
    p.loop_stop()
    p.disconnect()


def dup_resend(b):
    r = Raw(b.port)
    r.connect("dupper", clean=False)
    r.send(subscribe_pkt(1, ("dup/t", 2)))
    r.recv()
    p = publisher(b.port)
    p.publish("dup/t", "one", qos=1).wait_for_publish()
    p.publish("dup/t", "two", qos=2).wait_for_publish()
    p.publish("dup/t", "three", qos=2).wait_for_publish()
    m1, m2, m3 = (parse_publish(*r.recv()) for _ in range(3))
    check(not m1["dup"] and not m2["dup"], "first sends have DUP clear")
    r.send(ack_pkt("pubrec", m3["pid"]))   # m3 moves on to PUBREL
    first, body = r.recv()
    check(first == 0x62, "PUBREL after PUBREC")
    r.close()                               # no PUBACK for m1, nothing for m2, no PUBCOMP for m3
    time.sleep(0.3)
    r = Raw(b.port)
    sp, _ = r.connect("dupper", clean=False)
    check(sp == 1, "session present")
    a = parse_publish(*r.recv())
    c = parse_publish(*r.recv())
    check(a["dup"] and a["pid"] == m1["pid"] and a["payload"] == b"one", "unacked QoS 1 re-sent with DUP")
    check(c["dup"] and c["pid"] == m2["pid"] and c["qos"] == 2, "unreceived QoS 2 re-sent with DUP")
    first, body = r.recv()
    check(first == 0x62 and int.from_bytes(body, "big") == m3["pid"], "PUBREL re-sent, in order")
    r.send(ack_pkt("puback", a["pid"]))
    r.send(ack_pkt("pubrec", c["pid"]))
    r.recv()
    r.send(ack_pkt("pubcomp", c["pid"]))
    r.send(ack_pkt("pubcomp", m3["pid"]))
    r.send(packet(0xe0))
    r.closed()
    # clean session 1 discards it all
    r = Raw(b.port)
    sp, _ = r.connect("dupper", clean=True)
    check(sp == 0, "clean session: no session present")
    r.send(packet(0xe0))
    r.closed()
    r = Raw(b.port)
    sp, _ = r.connect("dupper", clean=False)
    check(sp == 0, "the clean session discarded the old one")
    r.send(packet(0xe0))
    r.closed()
    p.loop_stop()
    p.disconnect()


def queue_bound(b):
    r = Raw(b.port)
    r.connect("bounded", clean=False)
    r.send(subscribe_pkt(1, ("bound/t", 1)))
    r.recv()
    r.send(packet(0xe0))
    r.closed()
    p = publisher(b.port)
    for i in range(15):
        p.publish("bound/t", str(i), qos=1).wait_for_publish()
    time.sleep(0.2)
    r = Raw(b.port)
    r.connect("bounded", clean=False)
    got = []
    for _ in range(10):
        m = parse_publish(*r.recv())
        got.append(int(m["payload"]))
        r.send(ack_pkt("puback", m["pid"]))
    check(got == list(range(10)), "queue holds max_queued_messages (10), oldest first")
    check(r.closed(0.5) is False, "the 5 over the bound were dropped")
    time.sleep(1.2)  # one sys_interval, so the retained value is fresh
    out = subprocess.run(["mosquitto_sub", "-p", str(b.port), "-h", "127.0.0.1", "-C", "1",
                          "-t", "$SYS/broker/publish/messages/dropped", "-W", "5"],
                         capture_output=True, text=True)
    check(int(out.stdout.strip() or 0) >= 5, f"drops counted in $SYS: {out.stdout.strip()}")
    r.close()
    p.loop_stop()
    p.disconnect()


def main():
    with Broker("max_queued_messages 10\nsys_interval 1\nmax_inflight_messages 20") as b:
        offline_queue(b)
        dup_resend(b)
        queue_bound(b)
        check(b.alive(), "broker still running")


if __name__ == "__main__":
    main()
