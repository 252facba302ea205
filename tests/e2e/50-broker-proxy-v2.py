#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""enable_proxy_protocol 2: the test plays the balancer on loopback.

One mqbroker with two listeners: P with enable_proxy_protocol 2, and a
plain one. A client sends a PROXY v2 header (what mqlb's proxy-v2
backends get) then its CONNECT: the broker's log and $SYS/broker/log
(log_dest topic) name the address from the header, IPv4 and IPv6, the
header cut in pieces with pauses; a LOCAL header (mqlbd's health check)
keeps the socket's own address; a connection without a header, with a
PROXY v1 line, or with a UDP header is refused with its reason in the log;
a header on the plain listener is not MQTT and is closed; plain MQTT on
the plain listener works as ever."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, Raw, check, connect_pkt, free_port, wait_for  # noqa: E402

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v4(src, sport, dst, dport, tlvs=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport) + tlvs
    return SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def proxy_v6(src, sport, dst, dport):
    body = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
            struct.pack("!HH", sport, dport))
    return SIG + bytes([0x21, 0x21]) + struct.pack("!H", len(body)) + body


def local():
    return SIG + bytes([0x20, 0x00, 0x00, 0x00])


class Proxied(Raw):
    """A raw MQTT connection that first sends `head` (in pieces if asked)."""

    def __init__(self, port, head, pieces=1, pause=0.0):
        super().__init__(port)
        step = max(1, -(-len(head) // pieces))
        for i in range(0, len(head), step):
            self.send(head[i:i + step])
            time.sleep(pause)


def main():
    pport = free_port()
    conf = (f"listener {pport} 127.0.0.1\nenable_proxy_protocol 2\n"
            "log_dest topic\nlog_dest stderr\nlog_type all\n")
    with Broker(conf) as b:
        # $SYS/broker/log through the plain listener: every log line, live.
        logs = Collector(b.port, [("$SYS/broker/log", 0)], cid="log-watcher")

        def sys_has(text):
            return any(text in m.payload.decode(errors="replace") for m in logs.msgs)

        c = Proxied(pport, proxy_v4("203.0.113.7", 5555, "198.51.100.1", 1883))
        check(c.connect("px-v4") == (0, 0), "CONNACK 0 after a PROXY v2 header (IPv4)")
        wait_for(lambda: "new client connected from 203.0.113.7:5555 as px-v4" in b.read_log(),
                 what="the log line")
        check(True, "the log names 203.0.113.7:5555, the header's client")
        wait_for(lambda: sys_has("new client connected from 203.0.113.7:5555 as px-v4"),
                 what="$SYS/broker/log line")
        check(True, "$SYS/broker/log names 203.0.113.7:5555 too")
        c.close()
        wait_for(lambda: "client px-v4 (203.0.113.7:5555) disconnected" in b.read_log(),
                 what="disconnect line")
        check(True, "and so does the disconnection")

        # IPv6, with TLVs, the header in 7 pieces 50 ms apart.
        c = Proxied(pport, proxy_v6("2001:db8::7", 40000, "2001:db8::1", 1883), pieces=7,
                    pause=0.05)
        check(c.connect("px-v6") == (0, 0), "CONNACK 0 after an IPv6 header sent in 7 pieces")
        wait_for(lambda: "from [2001:db8::7]:40000 as px-v6" in b.read_log(), what="v6 line")
        check(True, "the log names [2001:db8::7]:40000")
        c.close()
        c = Proxied(pport, proxy_v4("192.0.2.9", 7, "192.0.2.1", 1883,
                                    tlvs=b"\x02\x00\x04host" + b"\x04\x00\x03xyz"))
        check(c.connect("px-tlv") == (0, 0), "a header with TLVs: they are skipped")
        wait_for(lambda: "from 192.0.2.9:7 as px-tlv" in b.read_log(), what="tlv line")
        c.close()

        # LOCAL: the balancer's own connection (health check); the socket's address stays.
        c = Proxied(pport, local())
        check(c.connect("px-local") == (0, 0), "CONNACK 0 after a LOCAL header")
        wait_for(lambda: "from 127.0.0.1:" in b.read_log() and " as px-local" in b.read_log(),
                 what="local line")
        check(True, "LOCAL: the log has the socket's own 127.0.0.1 address")
        c.close()
        # mqlbd's TCP check: LOCAL, then close: no harm, the broker stays up.
        s = socket.create_connection(("127.0.0.1", pport))
        s.sendall(local())
        s.close()

        # Refusals: closed without CONNACK, the reason in the log.
        for name, head, why in (
                ("no header", connect_pkt("nohdr"), "no PROXY v2 signature"),
                ("a PROXY v1 line", b"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n", "no PROXY v2 signature"),
                ("a UDP header", proxy_v4("192.0.2.1", 1, "192.0.2.2", 2)[:13] + b"\x12" +
                 proxy_v4("192.0.2.1", 1, "192.0.2.2", 2)[14:],
                 "PROXY v2 family is not TCP over IPv4 or IPv6")):
            seen = b.read_log().count(f"{why} (enable_proxy_protocol 2)")
            r = Raw(pport)
            r.send(head + (connect_pkt("x") if name != "no header" else b""))
            check(r.closed(), f"{name}: connection closed")
            check(not r.buf, f"{name}: no CONNACK")
            r.close()
            wait_for(lambda: b.read_log().count(f"{why} (enable_proxy_protocol 2)") > seen,
                     what=why)
            check(True, f"{name}: refused in the log: '{why}'")

        # A header on the plain listener is no MQTT packet.
        r = Raw(b.port)
        r.send(proxy_v4("203.0.113.8", 1, "198.51.100.1", 1883))
        check(r.closed(), "the plain listener closes a PROXY header")
        r.close()
        r = Raw(b.port)
        check(r.connect("plain") == (0, 0), "the plain listener speaks MQTT as ever")
        r.close()
        check("203.0.113.8" not in b.read_log(), "and never took 203.0.113.8 for an address")
        logs.stop()
        check(b.alive(), "broker alive")


main()
