#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Retained messages across an mqbroker bridge: they cross both ways with the
retain flag (stored on the other side), cross once, and are not re-flooded to
local subscribers when the bridge reconnects and subscribes again; a changed
retained value still crosses."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, Raw, check, paho_client, wait_for  # noqa: E402


def publish(port, topic, payload, retain=True):
    c = paho_client()
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish(topic, payload, qos=1, retain=retain).wait_for_publish()
    c.loop_stop()
    c.disconnect()


def retained(port, topic):
    c = Collector(port, [(topic, 1)])
    time.sleep(0.4)
    c.stop()
    return [(m.payload.decode(), m.retain) for m in c.msgs]


with Broker() as remote:
    publish(remote.port, "r/x", "v1")
    conf = (f"connection r\naddress 127.0.0.1:{remote.port}\ntopic r/# both 1\n"
            "cleansession true\nremote_clientid rq\nrestart_timeout 1\n")
    with Broker(conf) as local:
        wait_for(lambda: "connected (session" in local.read_log(), timeout=10, what="bridge up")
        time.sleep(0.5)
        check(retained(local.port, "r/x") == [("v1", True)], "remote retained stored locally")
        live = Collector(local.port, [("r/#", 1)])
        time.sleep(0.3)
        live.msgs.clear()  # the retained copy it got on subscribing
        # Take the bridge's client id over on the remote: the bridge reconnects and
        # subscribes again, and the remote re-sends its retained set.
        raw = Raw(remote.port)
        raw.connect("rq")
        raw.close()
        wait_for(lambda: local.read_log().count("connected (session") >= 2, timeout=10,
                 what="bridge reconnected")
        time.sleep(1.0)
        check([m.payload for m in live.msgs] == [], f"no re-flood on reconnection "
              f"({[(m.topic, m.payload) for m in live.msgs]})")
        publish(remote.port, "r/x", "v2")
        wait_for(lambda: live.msgs, timeout=5, what="changed retained value")
        time.sleep(0.3)
        check([m.payload for m in live.msgs] == [b"v2"], "a changed retained value crosses once")
        # ... and is stored as the new retained value at the far end, not left at v1.
        check(retained(local.port, "r/x") == [("v2", True)], "the live retained value is stored locally")
        publish(local.port, "r/y", "L")
        time.sleep(0.5)
        check(retained(remote.port, "r/y") == [("L", True)], "local retained stored on the remote")
        check(retained(local.port, "r/y") == [("L", True)], "and still once locally")
        live.stop()
print("PASS")
