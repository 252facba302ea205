#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A bridge link flaps in the study's star: broker1 and broker2 bridge '#'
both ways at QoS 1 to broker3, broker1 through a TCP relay on loopback that
the test controls, so only the link broker1<->broker3 goes down while every
broker and every client stays up. Two flaps: the relay closes the link (both
ends see it at once and broker1's reconnections are refused), then the relay
turns into a black hole (nothing crosses, nothing is closed: both ends find
out through the keep-alive, and reconnections hang until it heals).

Around each flap, QoS 1 messages are published on every broker with a
message id in the payload: before it, while the link is down (seen down from
both ends), and after it is back (seen up from both ends). A subscriber on
every broker must get every one of them exactly once: what was published
while the link was down is queued by the persistent link sessions on both
sides and delivered once the link is back, what was sent into the black hole
is re-sent with DUP and arrives once, and no broker relays a message the
link's own queue delivers too (the README's loop rule and its hellos)."""
import collections
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (Broker, Collector, bridge_login, bridge_users_conf, check,  # noqa: E402
                        free_port, paho_client, wait_for)

N = 30
KEEPALIVE = 5  # the bridge's; a black hole is noticed after 1.5 of it


class Relay:
    """TCP relay 127.0.0.1:port -> 127.0.0.1:target: 'pass', 'refuse' or 'drop'."""

    def __init__(self, target):
        self.target = target
        self.mode = "pass"
        self.lock = threading.Lock()
        self.socks = set()
        self.stop = threading.Event()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _track(self, *socks):
        with self.lock:
            self.socks.update(socks)

    def _close(self, *socks):
        with self.lock:
            for s in socks:
                self.socks.discard(s)
                s.close()

    def _accept(self):
        while not self.stop.is_set():
            try:
                a, _ = self.lsock.accept()
            except socket.timeout:
                continue
            if self.mode == "refuse":
                a.close()
                continue
            a.settimeout(0.2)
            if self.mode == "drop":
                # A partition: the connection gets nowhere, nothing ever answers.
                self._track(a)
                self._spawn(self._sink, a)
                continue
            try:
                b = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                a.close()
                continue
            b.settimeout(0.2)
            self._track(a, b)
            self._spawn(self._pump, a, b)
            self._spawn(self._pump, b, a)

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def _sink(self, a):
        while not self.stop.is_set() and a in self.socks:
            try:
                if not a.recv(65536):
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        self._close(a)

    def _pump(self, src, dst):
        while not self.stop.is_set() and src in self.socks:
            try:
                data = src.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                # In a black hole the far end must not learn of the close.
                self._close(*((src,) if self.mode == "drop" else (src, dst)))
                return
            if self.mode == "drop":
                continue
            try:
                dst.sendall(data)
            except OSError:
                self._close(src, dst)
                return

    def set(self, mode):
        """'refuse' and 'drop' start a flap; 'pass' ends it, closing what the flap left."""
        old, self.mode = self.mode, mode
        if mode == "refuse" or (mode == "pass" and old == "drop"):
            with self.lock:
                for s in list(self.socks):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(2)
        self.lsock.close()
        with self.lock:
            for s in self.socks:
                s.close()


class State:
    """Every $SYS/broker/connection/+/state value a broker shows, last one wins."""

    def __init__(self, port):
        self.last = {}
        self.c = Collector(port, [])
        self.c.c.on_message = lambda c, u, m: self.last.__setitem__(m.topic, m.payload)
        self.c.c.subscribe("$SYS/broker/connection/+/state", 1)

    def is_(self, topic, value):
        return self.last.get(topic) == value


def publish_all(brokers, phase):
    for si, b in enumerate(brokers):
        pub = paho_client(f"flap-pub-{phase}-{si}")
        pub.connect("127.0.0.1", b.port)
        pub.loop_start()
        for i in range(N):
            pub.publish(f"t/{phase}/{si + 1}", f"{phase}:{si + 1}:{i}", qos=1).wait_for_publish()
        pub.loop_stop()
        pub.disconnect()


def check_once(name, subs, phases):
    want = N * 3 * len(phases)
    try:
        wait_for(lambda: all(len(s.msgs) >= want for s in subs), timeout=20, what="deliveries")
    except AssertionError:
        pass
    time.sleep(1.0)  # late duplicates would arrive now
    for di, s in enumerate(subs):
        counts = collections.Counter(m.payload.decode() for m in s.msgs)
        for phase in phases:
            for si in range(1, 4):
                per = [counts[f"{phase}:{si}:{i}"] for i in range(N)]
                check(per == [1] * N,
                      f"{name}, {phase}: b{si} -> subscriber on b{di + 1}: each of {N} exactly once "
                      f"(missing {per.count(0)}, duplicated {sum(1 for c in per if c > 1)})")


def conn(name, port, login=False):
    return (f"connection {name}\naddress 127.0.0.1:{port}\ntopic # both 1\n"
            f"notifications true\nremote_clientid {name}\nrestart_timeout 1\n"
            f"keepalive_interval {KEEPALIVE}\n" + (bridge_login(name) if login else ""))


def star(p, relay):
    """broker1 (through the relay) and broker2 bridged to broker3."""
    b3 = Broker(port=p[2])
    return [Broker(conn("b1-b3", relay.port), port=p[0]), Broker(conn("b2-b3", p[2]), port=p[1]),
            b3], 2


def mesh(p, relay):
    """b1-b2, b1-b3 (through the relay), b2-b3: the README's full mesh, its
    bridges authenticated as bridge_users (the loop rule trusts only those)."""
    b3 = Broker(bridge_users_conf("b1-b3", "b2-b3"), port=p[2])
    b2 = Broker(bridge_users_conf("b1-b2") + conn("b2-b3", p[2], True), port=p[1])
    return [Broker(conn("b1-b2", p[1], True) + conn("b1-b3", relay.port, True), port=p[0]),
            b2, b3], 3


def flaps(name, topology):
    p = [free_port() for _ in range(3)]
    relay = Relay(p[2])
    brokers, nlinks = topology(p, relay)
    b1, b2, b3 = brokers
    link = "$SYS/broker/connection/b1-b3/state"
    try:
        with b1, b2, b3:
            s1, s3 = State(b1.port), State(b3.port)

            def link_is(v, what, timeout):
                wait_for(lambda: s1.is_(link, v) and s3.is_(link, v), timeout=timeout,
                         what=f"{name}: b1<->b3 {what} on both ends")

            def sessions_kept():
                return sum(b.read_log().count("connected (session present 1)") for b in brokers)

            link_is(b"1", "up", 10)
            wait_for(lambda: sum(b.read_log().count("connected (session") for b in brokers)
                     >= nlinks, timeout=10, what=f"{name}: {nlinks} links up")
            time.sleep(0.5)  # SUBACKs and hellos
            subs = [Collector(b.port, [("t/#", 1)]) for b in brokers]
            publish_all(brokers, "before")

            # Flap 1: the link is closed, reconnections refused.
            relay.set("refuse")
            link_is(b"0", "down", 5)
            publish_all(brokers, "closed")
            time.sleep(1.5)  # broker1 tries again meanwhile and is refused
            n = sessions_kept()
            relay.set("pass")
            link_is(b"1", "up again", 10)
            check(sessions_kept() == n + 1, f"{name}: broker3 kept broker1's link session")
            time.sleep(0.5)
            publish_all(brokers, "reopened")

            # Flap 2: a black hole, found by the keep-alive on both ends.
            t0 = time.time()
            relay.set("drop")
            publish_all(brokers, "blackhole")
            link_is(b"0", "down", KEEPALIVE * 3)
            print(f"{name}: black hole noticed on both ends after {time.time() - t0:.1f} s")
            publish_all(brokers, "partitioned")
            relay.set("pass")
            link_is(b"1", "up again", 10)
            time.sleep(0.5)
            publish_all(brokers, "healed")

            check_once(name, subs, ["before", "closed", "reopened", "blackhole", "partitioned",
                                    "healed"])
            for s in subs:
                s.stop()
            s1.c.stop()
            s3.c.stop()
    finally:
        relay.close()


flaps("star", star)
flaps("mesh", mesh)
print("PASS")
