#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""CONNECT checks and connection limits: return codes 1, 2 and 5, protocol
name, a second CONNECT, a packet before CONNECT, empty client ids, takeover,
the CONNECT timeout, max_connections."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Raw, check, connect_pkt, packet, subscribe_pkt  # noqa: E402


def refused(port, what, expect_rc, **kw):
    r = Raw(port)
    sp, rc = r.connect(kw.pop("cid", "x"), **kw)
    check(rc == expect_rc and sp == 0, f"{what}: CONNACK {expect_rc}")
    check(r.closed(), f"{what}: connection closed after the refusal")


def main():
    with Broker("sys_interval 0\nmax_connections 5") as b:
        refused(b.port, "MQTT 5 level", 1, level=5)
        refused(b.port, "MQTT name with level 3", 1, level=3)
        refused(b.port, "empty id with clean session 0", 2, cid="", clean=False)
        refused(b.port, "MQTT 3.1 id over 23 characters", 2, cid="x" * 24, level=3, name="MQIsdp")
        r = Raw(b.port)
        sp, rc = r.connect("", clean=True)
        check(rc == 0, "empty id with clean session 1 is accepted (id assigned)")
        r.close()
        r = Raw(b.port)
        sp, rc = r.connect("v31client", level=3, name="MQIsdp")
        check(rc == 0, "MQTT 3.1 (MQIsdp, level 3) accepted")
        r.close()

        r = Raw(b.port)
        r.send(connect_pkt("bad", name="MQTX"))
        check(r.closed(), "unknown protocol name: closed without CONNACK")
        r = Raw(b.port)
        r.send(subscribe_pkt(1, ("a", 0)))
        check(r.closed(), "a packet before CONNECT closes the connection")
        r = Raw(b.port)
        r.connect("twice")
        r.send(connect_pkt("twice"))
        check(r.closed(), "a second CONNECT is a protocol violation")

        a = Raw(b.port)
        a.connect("dup-id")
        c = Raw(b.port)
        sp, rc = c.connect("dup-id")
        check(rc == 0 and a.closed(), "same client id: the new connection takes over")
        c.send(packet(0xc0))
        check(c.recv() == (0xd0, b""), "the new connection works")
        c.close()

        t0 = time.time()
        idle = Raw(b.port)
        check(idle.closed(8), "no CONNECT: closed by the CONNECT timeout")
        dt = time.time() - t0
        check(4.5 <= dt <= 7.5, f"CONNECT timeout about 5 s ({dt:.1f}s)")

        conns = [Raw(b.port) for _ in range(5)]
        for i, r in enumerate(conns):
            r.connect(f"fill{i}")
        extra = Raw(b.port)
        check(extra.closed(), "connection over max_connections is refused")
        time.sleep(0.2)
        check("max_connections (5) reached" in b.read_log(), "max_connections logged")
        for r in conns:
            r.close()
        time.sleep(0.3)
        again = Raw(b.port)
        sp, rc = again.connect("after")
        check(rc == 0, "room again after clients left")
        again.close()
        check(b.alive(), "broker still running")

    with Broker("sys_interval 0\nallow_anonymous false") as b:
        refused(b.port, "anonymous when allow_anonymous false", 5)
        r = Raw(b.port)
        sp, rc = r.connect("named", user="alice", password="pw")
        check(rc == 0, "client with a username accepted")
        r.close()


if __name__ == "__main__":
    main()
