#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""QoS 2 across an mqbroker bridge, both ways ('topic q/# both 2'): every
message of a QoS 2 stream in each direction arrives exactly once at a QoS 2
subscriber on the other side, with nothing left in flight on the link."""
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, check, paho_client, wait_for  # noqa: E402

N = 200

with Broker() as remote:
    conf = (f"sys_interval 1\nconnection q2\naddress 127.0.0.1:{remote.port}\n"
            "topic q/# both 2\nremote_clientid q2link\n")
    with Broker(conf) as local:
        wait_for(lambda: "connected (session" in local.read_log(), timeout=10, what="bridge up")
        time.sleep(0.5)
        subs = {"local": Collector(local.port, [("q/#", 2)]),
                "remote": Collector(remote.port, [("q/#", 2)])}
        for name, port in (("local", local.port), ("remote", remote.port)):
            pub = paho_client(f"p-{name}")
            pub.connect("127.0.0.1", port)
            pub.loop_start()
            for i in range(N):
                pub.publish(f"q/{name}", f"{name}:{i}", qos=2).wait_for_publish()
            pub.loop_stop()
            pub.disconnect()
        wait_for(lambda: all(len(s.msgs) >= 2 * N for s in subs.values()), timeout=15,
                 what="all deliveries")
        time.sleep(1.5)
        for dst, s in subs.items():
            c = collections.Counter(m.payload.decode() for m in s.msgs)
            for src in ("local", "remote"):
                per = [c[f"{src}:{i}"] for i in range(N)]
                check(per == [1] * N, f"QoS 2 {src} -> subscriber on {dst}: {N} exactly once")
            check(all(m.qos == 2 for m in s.msgs), f"delivered at QoS 2 on {dst}")
            s.stop()
        q = Collector(local.port, [("$SYS/broker/bridge/q2/queued", 0)])
        wait_for(lambda: q.msgs, timeout=3, what="$SYS queued")
        check(q.msgs[-1].payload == b"0", "nothing left in flight or queued on the link")
        q.stop()
print("PASS")
