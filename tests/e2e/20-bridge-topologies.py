#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mqbroker bridges between three mqbroker brokers on loopback: the study's
star (b1 and b2 bridge '#' in and out to b3) and the full mesh of broker/README.md
(b1-b2, b1-b3, b2-b3, '#' both, try_private), whose bridges authenticate
as bridge_users (the loop rule only trusts those). For every broker as the
source, N messages published there must reach a subscriber on every broker
exactly N times: no loss, no echo, no loop. The star needs no trust: not
echoing to a bridge is enough there, as with Mosquitto."""
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (Broker, Collector, bridge_login, bridge_users_conf, check,  # noqa: E402
                        free_port, paho_client, wait_for)

N = 50


def wait_bridges(brokers, want):
    """Until the logs show `want` bridges up, then a moment for the SUBACKs."""
    wait_for(lambda: sum(b.read_log().count(": connected (session") for b in brokers) >= want,
             timeout=10, what=f"{want} bridge connections")
    time.sleep(0.5)


def exactly_once(brokers, name):
    subs = [Collector(b.port, [("t/#", 1)]) for b in brokers]
    for si, src in enumerate(brokers):
        pub = paho_client(f"pub{si}")
        pub.connect("127.0.0.1", src.port)
        pub.loop_start()
        for i in range(N):
            pub.publish(f"t/{si}", f"{si}:{i}", qos=1).wait_for_publish()
        pub.loop_stop()
        pub.disconnect()
    want = N * len(brokers)
    try:
        wait_for(lambda: all(len(s.msgs) >= want for s in subs), timeout=10, what="deliveries")
    except AssertionError:
        pass
    time.sleep(1.0)  # late duplicates would arrive now
    for di, s in enumerate(subs):
        counts = collections.Counter(m.payload.decode() for m in s.msgs)
        for si in range(len(brokers)):
            per = [counts[f"{si}:{i}"] for i in range(N)]
            check(per == [1] * N,
                  f"{name}: b{si + 1} -> subscriber on b{di + 1}: each of {N} exactly once "
                  f"(missing {per.count(0)}, duplicated {sum(1 for c in per if c > 1)})")
        s.stop()


def star():
    p = [free_port() for _ in range(3)]
    b3 = Broker(port=p[2])
    conf = ("connection bridge-to-broker3\nnotifications true\n"
            f"address 127.0.0.1:{p[2]}\ntopic # out 0\ntopic # in 0\nrestart_timeout 1\n")
    b1 = Broker(conf + "remote_clientid b1.to.b3\n", port=p[0])
    b2 = Broker(conf + "remote_clientid b2.to.b3\n", port=p[1])
    with b1, b2, b3:
        wait_bridges([b1, b2], 2)
        exactly_once([b1, b2, b3], "star")


def mesh():
    p = [free_port() for _ in range(3)]

    def conn(name, port):
        return (f"connection {name}\naddress 127.0.0.1:{port}\ntopic # both 0\n"
                f"try_private true\nremote_clientid {name}\nrestart_timeout 1\n" +
                bridge_login(name))

    b3 = Broker(bridge_users_conf("b1-b3", "b2-b3"), port=p[2])
    b2 = Broker(bridge_users_conf("b1-b2") + conn("b2-b3", p[2]), port=p[1])
    b1 = Broker(conn("b1-b2", p[1]) + conn("b1-b3", p[2]), port=p[0])
    with b1, b2, b3:
        wait_bridges([b1, b2], 3)
        exactly_once([b1, b2, b3], "mesh")


star()
mesh()
print("PASS")
