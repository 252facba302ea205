#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A bridge subscribes again at every connection, as Mosquitto's bridges do.
mqbroker bridges to Debian's mosquitto, which keeps the bridge's session
(cleansession false): first with 'topic # both 0', then restarted with
'topic # both 1', a message published at QoS 1 on mosquitto must now
arrive at QoS 1 (it came at QoS 0 when the bridge trusted the old session's
subscription). Then bridge_attempt_unsubscribe: restarted with the same
topic 'out' only, the remote subscription is removed (nothing comes in any
more), unless bridge_attempt_unsubscribe is false."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (MOSQUITTO, Broker, Mosquitto, Raw, check, free_port,  # noqa: E402
                        parse_publish, publish_pkt, subscribe_pkt, wait_for)


def bridge_conf(remote, topic, extra=""):
    return (f"connection r\naddress 127.0.0.1:{remote}\ntopic {topic}\n"
            "remote_clientid resub.local\nnotifications false\nrestart_timeout 1\n" + extra)


def through(remote, local_port, qos_published):
    """Publish on the remote at QoS qos_published; the QoS a local subscriber gets, or None."""
    sub = Raw(local_port)
    sub.connect("local-sub")
    sub.send(subscribe_pkt(1, ("x/#", 2)))
    sub.recv()
    pub = Raw(remote)
    pub.connect("remote-pub")
    pub.send(publish_pkt("x/1", "m", qos=qos_published, pid=1))
    pub.recv()
    pub.close()
    sub.sock.settimeout(2)
    try:
        while True:
            first, body = sub.recv()
            if first >> 4 == 3:
                m = parse_publish(first, body)
                sub.close()
                return m["qos"]
    except (OSError, EOFError):
        sub.close()
        return None


def up(b):
    wait_for(lambda: "connected (session present" in b.read_log(), timeout=10, what="bridge up")
    # The SUBSCRIBE (and UNSUBSCRIBE) go out right after CONNACK; give them a moment.
    time.sleep(0.5)


def main():
    if not os.access(MOSQUITTO, os.X_OK):
        print("SKIP: mosquitto not installed")
        sys.exit(77)
    port = free_port()
    with Mosquitto() as m:
        with Broker(bridge_conf(m.port, "# both 0"), port=port) as b:
            up(b)
            check(through(m.port, port, 1) == 0, "topic # both 0: QoS 1 arrives at QoS 0")
        with Broker(bridge_conf(m.port, "# both 1"), port=port) as b:
            up(b)
            check("session present 1" in b.read_log(), "the remote kept the bridge's session")
            check(through(m.port, port, 1) == 1,
                  "restarted with topic # both 1: QoS 1 arrives at QoS 1 (subscribed again)")
        with Broker(bridge_conf(m.port, "# out 1", "bridge_attempt_unsubscribe false\n"),
                    port=port) as b:
            up(b)
            check(through(m.port, port, 1) == 1,
                  "'out' only, bridge_attempt_unsubscribe false: the old subscription stays")
        with Broker(bridge_conf(m.port, "# out 1"), port=port) as b:
            up(b)
            check(through(m.port, port, 1) is None,
                  "'out' only, bridge_attempt_unsubscribe true (the default): "
                  "unsubscribed on the remote")
    print("PASS")


if __name__ == "__main__":
    main()
