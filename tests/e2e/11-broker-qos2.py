#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""QoS 2 exactly once, both directions: a re-sent PUBLISH (DUP) before
PUBREL is not delivered twice; the broker's outbound flow is
PUBLISH/PUBREC/PUBREL/PUBCOMP; paho at QoS 2 gets every message once."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (Broker, Collector, Raw, ack_pkt, check, parse_publish,  # noqa: E402
                        publish_pkt, subscribe_pkt, wait_for)
import paho.mqtt.client as mqtt  # noqa: E402


def inbound_dedup(b):
    col = Collector(b.port, [("q2/#", 2)], cid="q2sub")
    r = Raw(b.port)
    r.connect("q2pub")
    r.send(publish_pkt("q2/a", "once", qos=2, pid=77))
    check(r.recv() == (0x50, b"\x00\x4d"), "PUBREC for QoS 2 PUBLISH")
    # the client did not see our PUBREC: it re-sends with DUP
    r.send(publish_pkt("q2/a", "once", qos=2, pid=77, dup=True))
    check(r.recv() == (0x50, b"\x00\x4d"), "PUBREC again for the DUP")
    r.send(ack_pkt("pubrel", 77))
    check(r.recv() == (0x70, b"\x00\x4d"), "PUBCOMP answers PUBREL")
    # id 77 is free again: a new message with it is a new message
    r.send(publish_pkt("q2/a", "twice", qos=2, pid=77))
    r.recv()
    r.send(ack_pkt("pubrel", 77))
    r.recv()
    # PUBREL for an unknown id still gets PUBCOMP
    r.send(ack_pkt("pubrel", 1234))
    check(r.recv() == (0x70, b"\x04\xd2"), "PUBCOMP for an unknown PUBREL id")
    wait_for(lambda: len(col.msgs) >= 2, what="QoS 2 deliveries")
    time.sleep(0.5)
    check([m.payload for m in col.msgs] == [b"once", b"twice"], "DUP PUBLISH delivered exactly once")
    check(all(m.qos == 2 for m in col.msgs), "delivered at QoS 2")
    col.stop()
    r.close()


def outbound_flow(b):
    sub = Raw(b.port)
    sub.connect("q2raw")
    sub.send(subscribe_pkt(1, ("out/q2", 2)))
    sub.recv()
    pub = mqtt.Client("q2p")
    pub.connect("127.0.0.1", b.port)
    pub.loop_start()
    pub.publish("out/q2", "m", qos=2).wait_for_publish()
    p = parse_publish(*sub.recv())
    check(p["qos"] == 2 and p["pid"] and not p["dup"], "broker sends QoS 2 PUBLISH with an id")
    sub.send(ack_pkt("pubrec", p["pid"]))
    first, body = sub.recv()
    check(first == 0x62 and body == p["pid"].to_bytes(2, "big"), "PUBREL follows our PUBREC")
    sub.send(ack_pkt("pubcomp", p["pid"]))
    pub.publish("out/q2", "n", qos=2).wait_for_publish()
    p2 = parse_publish(*sub.recv())
    check(p2["payload"] == b"n", "flow continues after PUBCOMP")
    pub.loop_stop()
    pub.disconnect()
    sub.close()


def paho_many(b, n=500):
    col = Collector(b.port, [("many", 2)], cid="many-sub")
    pub = mqtt.Client("many-pub")
    pub.connect("127.0.0.1", b.port)
    pub.loop_start()
    infos = [pub.publish("many", str(i), qos=2) for i in range(n)]
    for i in infos:
        i.wait_for_publish()
    wait_for(lambda: len(col.msgs) >= n, timeout=20, what=f"{n} QoS 2 messages")
    time.sleep(0.5)
    got = [int(m.payload) for m in col.msgs]
    check(got == list(range(n)), f"{n} QoS 2 messages, each exactly once, in order")
    pub.loop_stop()
    pub.disconnect()
    col.stop()


def main():
    with Broker("sys_interval 0") as b:
        inbound_dedup(b)
        outbound_flow(b)
        paho_many(b)
        check(b.alive(), "broker still running")


if __name__ == "__main__":
    main()
