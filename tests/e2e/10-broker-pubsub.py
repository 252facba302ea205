#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mqbroker publish/subscribe with real clients: mosquitto_pub/sub and paho,
QoS 0/1/2, wildcards, '$' topics, granted QoS, overlapping subscriptions,
UNSUBSCRIBE, PINGREQ, MQTT 3.1 and 3.1.1."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (Broker, Collector, Raw, check, packet, parse_publish, publish_pkt,  # noqa: E402
                        subscribe_pkt, s16, wait_for)
import paho.mqtt.client as mqtt  # noqa: E402


def mosquitto_clients(b):
    sub = subprocess.Popen(["mosquitto_sub", "-p", str(b.port), "-h", "127.0.0.1", "-t", "m/#",
                            "-q", "2", "-C", "3", "-v", "-W", "10"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        for q in (0, 1, 2):
            subprocess.run(["mosquitto_pub", "-p", str(b.port), "-h", "127.0.0.1", "-t", f"m/q{q}",
                            "-m", f"hello {q}", "-q", str(q)], check=True, timeout=10)
        out, _ = sub.communicate(timeout=10)
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()
    check(out.split("\n")[:3] == ["m/q0 hello 0", "m/q1 hello 1", "m/q2 hello 2"],
          "mosquitto_sub receives QoS 0, 1 and 2 from mosquitto_pub")
    for v in ("mqttv31", "mqttv311"):
        r = subprocess.run(["mosquitto_pub", "-p", str(b.port), "-h", "127.0.0.1", "-t", "v",
                            "-m", "x", "-V", v, "-q", "1"], timeout=10)
        check(r.returncode == 0, f"mosquitto_pub -V {v} accepted")


def wildcards(b):
    col = Collector(b.port, [("w/+/x", 0), ("w/#", 0), ("#", 0)], cid="wild")
    pub = mqtt.Client("wpub")
    pub.connect("127.0.0.1", b.port)
    pub.loop_start()
    for t in ("w/a/x", "w", "other", "$SYS/fake", "w/a/b/c"):
        pub.publish(t, t, qos=1).wait_for_publish()
    wait_for(lambda: len(col.msgs) >= 4, what="wildcard deliveries")
    time.sleep(0.3)
    got = sorted(m.topic for m in col.msgs)
    # one copy per message even with three matching filters; '#' never sees '$SYS'
    check(got == sorted(["w/a/x", "w", "other", "w/a/b/c"]), f"wildcards and $-topics: {got}")
    col.stop()
    pub.loop_stop()
    pub.disconnect()


def granted_and_overlap(b):
    col = Collector(b.port, [("g/q0", 0), ("g/#", 2), ("g/q1", 1)], cid="grant")
    check(col.granted == (0, 2, 1), "SUBACK grants the requested QoS, in order")
    pub = mqtt.Client("gpub")
    pub.connect("127.0.0.1", b.port)
    pub.loop_start()
    pub.publish("g/q0", "a", qos=2).wait_for_publish()
    pub.publish("g/q1", "b", qos=1).wait_for_publish()
    pub.publish("g/x", "c", qos=0).wait_for_publish()
    wait_for(lambda: len(col.msgs) >= 3, what="overlap deliveries")
    time.sleep(0.3)
    qos = {m.topic: m.qos for m in col.msgs}
    check(len(col.msgs) == 3, "overlapping subscriptions deliver one copy")
    # highest matching subscription QoS (2 via g/#), capped by the published QoS
    check(qos == {"g/q0": 2, "g/q1": 1, "g/x": 0}, f"QoS is min(published, best subscription): {qos}")
    col.c.unsubscribe("g/#")
    time.sleep(0.3)
    pub.publish("g/x", "d", qos=1).wait_for_publish()
    pub.publish("g/q1", "e", qos=1).wait_for_publish()
    wait_for(lambda: len(col.msgs) >= 4, what="post-unsubscribe delivery")
    time.sleep(0.3)
    check([m.payload for m in col.msgs[3:]] == [b"e"], "UNSUBSCRIBE stops that filter only")
    col.stop()
    pub.loop_stop()
    pub.disconnect()


def raw_checks(b):
    r = Raw(b.port)
    sp, rc = r.connect("raw1")
    check((sp, rc) == (0, 0), "CONNACK accepted, no session present")
    r.send(packet(0xc0))
    check(r.recv() == (0xd0, b""), "PINGREQ answered by PINGRESP")
    r.send(subscribe_pkt(5, ("r/t", 1)))
    check(r.recv() == (0x90, b"\x00\x05\x01"), "SUBACK echoes the packet id")
    r.send(publish_pkt("r/t", "self", qos=1, pid=9))
    got = {}
    for _ in range(2):
        first, body = r.recv()
        got[first >> 4] = (first, body)
    check(got[4] == (0x40, b"\x00\x09"), "PUBACK for our QoS 1 publish")
    p = parse_publish(*got[3])
    check(p["topic"] == "r/t" and p["qos"] == 1 and not p["retain"] and p["payload"] == b"self",
          "own subscription delivers at QoS 1")
    r.send(packet(0xa2, b"\x00\x07" + s16("r/t")))
    check(r.recv() == (0xb0, b"\x00\x07"), "UNSUBACK echoes the packet id")
    r.send(packet(0xa2, b"\x00\x08" + s16("never/subscribed")))
    check(r.recv() == (0xb0, b"\x00\x08"), "UNSUBACK even for an unknown filter")
    r.send(packet(0xe0))
    check(r.closed(), "DISCONNECT closes the connection")


def main():
    with Broker("sys_interval 0") as b:
        mosquitto_clients(b)
        wildcards(b)
        granted_and_overlap(b)
        raw_checks(b)
        check(b.alive(), "broker still running")


if __name__ == "__main__":
    main()
