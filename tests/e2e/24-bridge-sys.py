#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Bridge state and counters in $SYS/broker/bridge/NAME/..., and the bounded
queue while the link is down: with max_queued_messages 10 and no remote, 30
QoS 1 messages for an 'out' topic leave 10 queued and 20 dropped, counted;
once the remote appears, the 10 are delivered. A client may not take the
bridge's local session id."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, Raw, check, free_port, paho_client, wait_for  # noqa: E402


def sys_values(port, name):
    c = Collector(port, [(f"$SYS/broker/bridge/{name}/#", 0)])
    time.sleep(0.5)
    c.stop()
    return {m.topic.split(f"/{name}/", 1)[1]: int(m.payload) for m in c.msgs}


p2 = free_port()  # nothing listens there yet
local = Broker(f"sys_interval 1\nmax_queued_messages 10\nconnection s\naddress 127.0.0.1:{p2}\n"
               "topic q/# out 1\nremote_clientid sysq\nrestart_timeout 2\n")
with local:
    pub = paho_client("spub")
    pub.connect("127.0.0.1", local.port)
    pub.loop_start()
    for i in range(30):
        pub.publish("q/x", str(i), qos=1).wait_for_publish()
    pub.loop_stop()
    pub.disconnect()
    time.sleep(1.2)
    v = sys_values(local.port, "s")
    check(v.get("connected") == 0, f"$SYS connected 0 while the remote is absent ({v})")
    check(v.get("queued") == 10 and v.get("dropped") == 20, f"10 queued, 20 dropped ({v})")
    # Right after a failed attempt, so the subscriber is on the remote before the next one.
    n = local.read_log().count("next connection attempt")
    wait_for(lambda: local.read_log().count("next connection attempt") > n, timeout=5,
             what="a failed attempt")
    remote = Broker(port=p2)
    with remote:
        sub = Collector(remote.port, [("q/#", 1)])
        wait_for(lambda: len(sub.msgs) >= 10, timeout=10, what="the queued messages")
        time.sleep(1.5)
        got = [int(m.payload) for m in sub.msgs]
        check(got == list(range(10)), f"the 10 queued ones arrive, in order ({got})")
        v = sys_values(local.port, "s")
        check(v.get("connected") == 1 and v.get("messages/sent", 0) >= 10 and
              v.get("queued") == 0, f"$SYS connected 1, sent >= 10, nothing queued ({v})")
        sub.stop()
        raw = Raw(local.port)
        check(raw.connect("$bridge/s")[1] == 2, "the bridge's local session id is refused (CONNACK 2)")
        raw.close()
        check(local.read_log().count("connected (session") == 1, "and the bridge stays up")
print("PASS")
