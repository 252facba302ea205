#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Malformed input closes only the offending client, with a log line, while
a bystander keeps working; max_packet_size closes on the header alone; a
slow subscriber cannot stall others and its output stays bounded."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (Broker, Collector, Raw, check, packet, publish_pkt, s16,  # noqa: E402
                        subscribe_pkt, wait_for)
import paho.mqtt.client as mqtt  # noqa: E402

BAD = [
    ("remaining length with a 5th byte", b"\x30\xff\xff\xff\xff\x01", "malformed packet"),
    ("field longer than the packet", packet(0x30, b"\x00\x09abc"), "malformed packet"),
    ("PUBREL with flags 0", packet(0x60, b"\x00\x01"), "malformed packet"),
    ("SUBSCRIBE with flags 0", packet(0x80, b"\x00\x01" + s16("a") + b"\x00"), "malformed packet"),
    ("PUBLISH QoS 3", packet(0x36, s16("a") + b"\x00\x01"), "malformed packet"),
    ("invalid UTF-8 topic", packet(0x30, s16(b"\xc3\x28") + b"x"), "malformed packet"),
    ("NUL in topic", packet(0x30, s16(b"a\x00b") + b"x"), "malformed packet"),
    ("wildcard in PUBLISH topic", publish_pkt("a/+", "x"), "protocol error"),
    ("empty PUBLISH topic", publish_pkt("", "x"), "protocol error"),
    ("invalid SUBSCRIBE filter", subscribe_pkt(1, ("a/#/b", 0)), "protocol error"),
    ("SUBSCRIBE without filters", packet(0x82, b"\x00\x01"), "malformed packet"),
    ("CONNACK from a client", packet(0x20, b"\x00\x00"), "protocol error"),
    ("SUBACK from a client", packet(0x90, b"\x00\x01\x00"), "protocol error"),
    ("reserved type 15", b"\xf0\x00", "malformed packet"),
    ("over max_packet_size", publish_pkt("big", b"x" * 9000), "packet too large"),
    ("claims far over max_packet_size", b"\x30\xff\xff\xff\x7f", "packet too large"),
    ("SUBSCRIBE over max_packet_size", subscribe_pkt(1, *[("f/%d" % i, 0) for i in range(2000)]),
     "packet too large"),
]


def malformed(b):
    by = Collector(b.port, [("alive", 1)], cid="bystander")
    for i, (what, data, reason) in enumerate(BAD):
        r = Raw(b.port)
        r.connect(f"bad{i}")
        r.send(data)
        check(r.closed(), f"{what}: client closed")
        time.sleep(0.05)
        log = b.read_log()
        check(f"closing client bad{i} " in log and reason in log.split(f"closing client bad{i} ")[1]
              .split("\n")[0], f"{what}: logged as {reason}")
    p = mqtt.Client("p")
    p.connect("127.0.0.1", b.port)
    p.loop_start()
    p.publish("alive", "still here", qos=1).wait_for_publish()
    p.publish("big", b"y" * 1000, qos=1).wait_for_publish()  # under the limit
    wait_for(lambda: by.msgs, what="bystander delivery")
    check(by.c.is_connected() and by.msgs[0].payload == b"still here",
          "bystander unaffected by all of the above")
    p.loop_stop()
    p.disconnect()
    by.stop()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def slow_subscriber(b):
    slow = Raw(b.port)
    slow.connect("slow")
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.send(subscribe_pkt(1, ("flood", 0), ("flood1", 1)))
    slow.recv()                                # SUBACK, then never read again
    fast = Collector(b.port, [("marker", 1)], cid="fast")
    before = rss_kb(b.proc.pid)
    pub = Raw(b.port)
    pub.connect("flooder")
    payload = b"z" * 1024
    batch = publish_pkt("flood", payload) * 200
    deadline = time.time() + 20
    for _ in range(150):                      # 30,000 x 1 KiB QoS 0
        pub.send(batch)
        if time.time() > deadline:
            break
    for i in range(300):                      # QoS 1 for the slow one: window, then a bounded queue
        pub.send(publish_pkt("flood1", payload, qos=1, pid=i + 1))
    t0 = time.time()
    mp = mqtt.Client("marker-pub")
    mp.connect("127.0.0.1", b.port)
    mp.loop_start()
    mp.publish("marker", "m", qos=1).wait_for_publish()
    wait_for(lambda: fast.msgs, timeout=5, what="marker to the fast subscriber")
    check(time.time() - t0 < 5, f"others not stalled by a slow subscriber ({time.time() - t0:.2f}s)")
    growth = rss_kb(b.proc.pid) - before
    check(growth < 16 * 1024, f"broker memory bounded: +{growth} KiB for 30 MiB to a slow reader")
    time.sleep(1.2)
    log = b.read_log()
    check(b.alive(), "broker alive")
    sub = Collector(b.port, [("$SYS/broker/publish/messages/dropped", 0)], cid="drops")
    wait_for(lambda: sub.msgs, what="drop counter")
    dropped = int(sub.msgs[-1].payload)
    check(dropped > 1000, f"messages to the slow subscriber dropped and counted ({dropped})")
    sub.stop()
    fast.stop()
    mp.loop_stop()
    mp.disconnect()
    pub.close()
    slow.close()
    del log


def main():
    with Broker("sys_interval 1\nmax_packet_size 8192\nmax_queued_messages 100") as b:
        malformed(b)
        slow_subscriber(b)
        check(b.alive(), "broker still running")


if __name__ == "__main__":
    main()
