#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mqbroker bridges with Debian's mosquitto at either end, notifications, and
the study's configuration file: mqbroker -> mosquitto and mosquitto ->
mqbroker, each with '#' both ways, N messages from each side reaching a
subscriber on each side exactly once; the retained state topic is 1 on both
sides when the link is up and 0 on the local side when the remote dies."""
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (MOSQUITTO, Broker, Collector, Mosquitto, check,  # noqa: E402
                        paho_client, wait_for)

N = 50
def exactly_once(ports, name):
    subs = [Collector(p, [("t/#", 1)]) for p in ports]
    for si, port in enumerate(ports):
        pub = paho_client(f"pub{si}")
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        for i in range(N):
            pub.publish(f"t/{si}", f"{si}:{i}", qos=1).wait_for_publish()
        pub.loop_stop()
        pub.disconnect()
    try:
        wait_for(lambda: all(len(s.msgs) >= N * len(ports) for s in subs), timeout=10,
                 what="deliveries")
    except AssertionError:
        pass
    time.sleep(1.0)
    for di, s in enumerate(subs):
        counts = collections.Counter(m.payload.decode() for m in s.msgs)
        for si in range(len(ports)):
            per = [counts[f"{si}:{i}"] for i in range(N)]
            check(per == [1] * N, f"{name}: side {si} -> subscriber on side {di}: each of {N} "
                  f"exactly once (missing {per.count(0)}, duplicated {sum(c > 1 for c in per)})")
        s.stop()


def retained_value(port, topic):
    c = Collector(port, [])
    c.c.subscribe(topic, 1)
    try:
        wait_for(lambda: c.msgs, timeout=3, what=f"retained {topic}")
    except AssertionError:
        pass
    c.stop()
    return c.msgs[-1].payload.decode() if c.msgs else None


def mqbroker_to_mosquitto():
    with Mosquitto() as m:
        conf = (f"connection to-mosq\naddress 127.0.0.1:{m.port}\ntopic # both 0\n"
                "remote_clientid q2m\nrestart_timeout 1\n")
        with Broker(conf) as q:
            wait_for(lambda: "connected (session" in q.read_log(), timeout=10,
                     what="bridge up")
            time.sleep(0.5)
            state = "$SYS/broker/connection/q2m/state"
            check(retained_value(q.port, state) == "1", "notification: local state 1")
            check(retained_value(m.port, state) == "1", "notification: remote state 1")
            exactly_once([q.port, m.port], "mqbroker -> mosquitto")
            m.proc.kill()
            m.proc.wait()
            time.sleep(0.5)
            check(retained_value(q.port, state) == "0", "notification: local state 0 when lost")


def mosquitto_to_mqbroker():
    with Broker() as q:
        conf = (f"connection to-mqb\naddress 127.0.0.1:{q.port}\ntopic # both 0\n"
                "remote_clientid m2q\nrestart_timeout 1\n")
        with Mosquitto(conf) as m:
            wait_for(lambda: "m2q" in q.read_log(), timeout=10, what="mosquitto's bridge")
            time.sleep(1.0)
            check(retained_value(q.port, "$SYS/broker/connection/m2q/state") == "1",
                  "mosquitto's notification reaches mqbroker")
            exactly_once([m.port, q.port], "mosquitto -> mqbroker")


def study_config():
    remote = Broker()
    with remote:
        with open("broker/study-bridge.conf.example") as f:
            text = f.read().replace("127.0.0.1:1883", f"127.0.0.1:{remote.port}")
        with Broker(text) as local:
            wait_for(lambda: "connected (session" in local.read_log(), timeout=10,
                     what="the study's bridge up")
            check(True, "the study's configuration loads and its bridge connects")


if not os.access(MOSQUITTO, os.X_OK):
    print("SKIP: mosquitto not installed")
    sys.exit(77)
study_config()
mqbroker_to_mosquitto()
mosquitto_to_mqbroker()
print("PASS")
