#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A QoS 1 stream across an mqbroker bridge while the remote mqbroker is
killed (by its PID) and restarted mid-stream: every message arrives (queued
on the local side while the link is down, unacknowledged ones re-sent with
DUP), duplicates only as QoS 1 allows, counted and reported. Then the local
broker is killed: the remote's state topic turns 0 through the bridge's will."""
import collections
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, check, free_port, paho_client, wait_for  # noqa: E402

N = 400
p2 = free_port()
remote = Broker(port=p2)
# A constant 3 s restart: the restarted remote has its subscriber back before the bridge.
local = Broker(f"connection q\naddress 127.0.0.1:{p2}\ntopic q/# out 1\n"
               "remote_clientid b1q\nrestart_timeout 3\n")
subs = []
with local:
    try:
        wait_for(lambda: "connected (session" in local.read_log(), timeout=10, what="bridge up")
        subs.append(Collector(p2, [("q/#", 1)]))
        pub = paho_client("qpub")
        pub.connect("127.0.0.1", local.port)
        pub.loop_start()
        killed = threading.Event()

        def publish():
            for i in range(N):
                pub.publish("q/s", str(i), qos=1).wait_for_publish()
                if i == N // 3:
                    killed.wait(5)
                time.sleep(0.005)

        t = threading.Thread(target=publish)
        t.start()
        wait_for(lambda: len(subs[0].msgs) >= N // 4, timeout=10, what="first part of the stream")
        remote.proc.kill()  # our own child, by PID
        remote.proc.wait()
        killed.set()
        remote.stop()
        remote = Broker(port=p2)
        subs.append(Collector(p2, [("q/#", 1)]))
        t.join(30)
        pub.loop_stop()
        pub.disconnect()

        def got():
            return collections.Counter(int(m.payload) for s in subs for m in s.msgs)

        try:
            wait_for(lambda: len(got()) == N, timeout=15, what="the whole stream")
        except AssertionError:
            pass
        time.sleep(0.5)
        c = got()
        missing = [i for i in range(N) if not c[i]]
        dups = sum(v - 1 for v in c.values() if v > 1)
        print(f"stream: {N} sent, {len(c)} distinct received, {dups} duplicates")
        check(not missing, f"nothing lost across the restart (missing {missing[:10]})")
        check(dups <= 20, f"duplicates bounded by the in-flight window ({dups})")
        for s in subs:
            s.stop()
        # The local broker dies: the remote publishes the bridge's will.
        state = "$SYS/broker/connection/b1q/state"
        local.proc.kill()
        local.proc.wait()
        time.sleep(0.3)
        c = Collector(p2, [(state, 1)])
        wait_for(lambda: c.msgs, timeout=3, what="state topic on the remote")
        check(c.msgs[-1].payload == b"0", "remote state topic 0 through the will")
        c.stop()
    finally:
        remote.stop()
print("PASS")
