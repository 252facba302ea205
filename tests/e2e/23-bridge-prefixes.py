#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Topic remapping across an mqbroker bridge, as Mosquitto applies prefixes:
'topic sensors/# both 1 local/ remote/' shows local/sensors/x as
remote/sensors/x on the remote and back; 'topic "" in 0 a/b c/d' maps the
remote's c/d to the local a/b; topics outside every pattern do not cross."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, check, paho_client, wait_for  # noqa: E402


def publish(port, topic, payload):
    c = paho_client()
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish(topic, payload, qos=1).wait_for_publish()
    c.loop_stop()
    c.disconnect()


with Broker() as remote:
    conf = (f"connection p\naddress 127.0.0.1:{remote.port}\n"
            "topic sensors/# both 1 local/ remote/\ntopic \"\" in 0 a/b c/d\n"
            "remote_clientid pfx\n")
    with Broker(conf) as local:
        wait_for(lambda: "connected (session" in local.read_log(), timeout=10, what="bridge up")
        time.sleep(0.5)
        lsub = Collector(local.port, [("#", 1)])
        rsub = Collector(remote.port, [("#", 1)])
        publish(local.port, "local/sensors/t1", "out")
        publish(remote.port, "remote/sensors/t2", "in")
        publish(remote.port, "c/d", "exact")
        publish(local.port, "sensors/t3", "unmapped")  # matches no local pattern
        publish(remote.port, "other/x", "stays")
        time.sleep(1.0)
        lt = sorted((m.topic, m.payload.decode()) for m in lsub.msgs)
        rt = sorted((m.topic, m.payload.decode()) for m in rsub.msgs)
        check(("remote/sensors/t1", "out") in rt, f"out: local/ -> remote/ ({rt})")
        check(("local/sensors/t2", "in") in lt, f"in: remote/ -> local/ ({lt})")
        check(("a/b", "exact") in lt, "empty pattern: remote c/d -> local a/b")
        check(("remote/sensors/t3", "unmapped") not in rt and
              not any(t == "sensors/t3" for t, _ in rt), "no prefix, no crossing")
        check(not any(t == "other/x" for t, _ in lt), "outside every pattern: stays remote")
        check(sorted(lt) == sorted(set(lt)) and sorted(rt) == sorted(set(rt)),
              "no echo of remapped messages")
        lsub.stop()
        rsub.stop()
print("PASS")
