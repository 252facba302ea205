#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mqbroker bridges with Debian's mosquitto at either end, notifications, and
the study's configuration file: mqbroker -> mosquitto and mosquitto ->
mqbroker, each with '#' both ways, N messages from each side reaching a
subscriber on each side exactly once; the retained state topic is 1 on both
sides when the link is up and 0 on the local side when the remote dies."""
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, check, free_port, paho_client, wait_for  # noqa: E402

N = 50
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Mosquitto:
    """Debian's mosquitto on a loopback port, killed by its own PID."""

    def __init__(self, conf="", port=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="mosq-e2e-")
        path = os.path.join(self.dir, "m.conf")
        with open(path, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n{conf}\n")
        self.log = open(os.path.join(self.dir, "m.log"), "w")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", path, "-v"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        import socket
        deadline = time.time() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("mosquitto did not start: " + self.read_log())
                time.sleep(0.05)

    def read_log(self):
        self.log.flush()
        with open(os.path.join(self.dir, "m.log")) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- mosquitto log ----\n" + self.read_log()[-3000:])
        self.stop()
        return False


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
