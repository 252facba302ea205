#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Retained messages: stored, replaced, cleared by an empty payload,
delivered with the retain flag on subscription (at min QoS), forwarded
without it; works with mosquitto_pub -r / mosquitto_sub."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, check, wait_for  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402


def pub(port, topic, msg, qos=0, retain=True):
    args = ["mosquitto_pub", "-p", str(port), "-h", "127.0.0.1", "-t", topic, "-q", str(qos)]
    args += ["-r"] if retain else []
    args += ["-n"] if msg is None else ["-m", msg]
    subprocess.run(args, check=True, timeout=10)


def main():
    with Broker("sys_interval 0") as b:
        pub(b.port, "ret/a", "first", qos=1)
        pub(b.port, "ret/a", "second", qos=1)   # replaces
        pub(b.port, "ret/b", "bee", qos=2)
        pub(b.port, "ret/c", "sea")
        pub(b.port, "ret/c", None)              # cleared by an empty retained payload
        out = subprocess.run(["mosquitto_sub", "-p", str(b.port), "-h", "127.0.0.1", "-t", "ret/#",
                              "-v", "--retained-only", "-W", "2"], capture_output=True, text=True)
        got = sorted(out.stdout.split("\n")[:-1])
        check(got == ["ret/a second", "ret/b bee"], f"retained set/replace/clear: {got}")

        col = Collector(b.port, [("ret/#", 1)], cid="rsub")
        wait_for(lambda: len(col.msgs) >= 2, what="retained on subscribe")
        by = {m.topic: m for m in col.msgs}
        check(all(m.retain for m in col.msgs), "retained messages carry the retain flag on subscribe")
        check(by["ret/a"].qos == 1 and by["ret/b"].qos == 1, "retained QoS is min(stored, granted)")
        p = mqtt.Client("rp")
        p.connect("127.0.0.1", b.port)
        p.loop_start()
        p.publish("ret/a", "third", qos=1, retain=True).wait_for_publish()
        wait_for(lambda: len(col.msgs) >= 3, what="live retained publish")
        check(not col.msgs[2].retain, "a live publish is forwarded without the retain flag")
        p.publish("ret/a", b"", qos=1, retain=True).wait_for_publish()
        wait_for(lambda: len(col.msgs) >= 4, what="empty retained forwarded")
        check(col.msgs[3].payload == b"", "the clearing message is forwarded to subscribers")
        p.loop_stop()
        p.disconnect()
        col.stop()
        time.sleep(0.2)
        col2 = Collector(b.port, [("ret/+", 0)], cid="rsub2")
        time.sleep(0.5)
        check([(m.topic, m.payload) for m in col2.msgs] == [("ret/b", b"bee")],
              "after clearing only ret/b is retained")
        col2.stop()
        # resubscribing re-sends retained [MQTT-3.8.4-3]
        col3 = Collector(b.port, [("ret/b", 0)], cid="rsub3")
        col3.c.subscribe("ret/b", 0)
        wait_for(lambda: len(col3.msgs) >= 2, what="retained re-sent on a replaced subscription")
        check(True, "retained re-sent when a subscription is replaced")
        col3.stop()
        check(b.alive(), "broker still running")


if __name__ == "__main__":
    main()
