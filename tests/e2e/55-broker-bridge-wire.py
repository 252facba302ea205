#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What a bridge puts on the wire, seen by a remote that is not an mqbroker.

A fake remote broker (a listening socket in this script) takes mqbroker's
bridge connection and checks every packet in order, as a remote expecting
Mosquitto's bridge would: CONNECT with the bridge bit; one SUBSCRIBE per
'in'/'both' line and one UNSUBSCRIBE per 'out' line, in the configuration's
order; and nothing else: no mesh hello, since this remote never sent one.
It pings the bridge (answered), acknowledges ids the bridge never used
(PUBREC answered with PUBREL, PUBREL with PUBCOMP, PUBCOMP ignored, the link
kept), and gets a retained local message without its retain flag
(bridge_outgoing_retain false). Once it sends a hello, as an mqbroker
would, the bridge answers with its own, naming this remote as a peer."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (Broker, Raw, check, free_port, packet, paho_client,  # noqa: E402
                        parse_publish, publish_pkt, wait_for)

HELLO = "$SYS/broker/mqbroker/bridge-hello"


def ack(first, pid):
    return packet(first, pid.to_bytes(2, "big"))


class Remote(Raw):
    """The accepted end of the bridge's connection, read packet by packet."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def expect(self, kind, what):
        first, body = self.recv()
        check(first >> 4 == kind, f"{what} (got packet type {first >> 4})")
        return first, body

    def quiet(self, secs=1.0):
        self.sock.settimeout(secs)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(5)
        self.buf += data
        return False


def filters(body, with_qos):
    """(pid, [(filter, qos)]) of a SUBSCRIBE or UNSUBSCRIBE body."""
    pid = int.from_bytes(body[:2], "big")
    out, i = [], 2
    while i < len(body):
        n = int.from_bytes(body[i:i + 2], "big")
        f = body[i + 2:i + 2 + n].decode()
        i += 2 + n
        q = None
        if with_qos:
            q = body[i]
            i += 1
        out.append((f, q))
    return pid, out


def main():
    rport = free_port()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", rport))
    lsock.listen(1)
    lsock.settimeout(10)
    conf = f"""
connection fake
address 127.0.0.1:{rport}
topic in/# in 1
topic out/# out 0
topic both/# both 2
notifications false
restart_timeout 1
bridge_outgoing_retain false
"""
    with Broker(conf) as b:
        conn, _ = lsock.accept()
        conn.settimeout(5)
        r = Remote(conn)
        _, body = r.expect(1, "CONNECT first")
        check(body[6] == 0x84, "CONNECT level 4 with the bridge bit (try_private)")
        r.send(packet(0x20, b"\x00\x00"))
        seen = []
        for kind, with_qos in ((8, True), (10, False), (8, True)):
            first, body = r.expect(kind, "SUBSCRIBE / UNSUBSCRIBE in the configuration's order")
            pid, fl = filters(body, with_qos)
            check(len(fl) == 1, f"one filter per packet ({fl})")
            seen.append(fl[0])
            if kind == 8:
                r.send(packet(0x90, pid.to_bytes(2, "big") + bytes([fl[0][1]])))
            else:
                r.send(ack(0xB0, pid))
        check(seen == [("in/#", 1), ("out/#", None), ("both/#", 2)],
              "in/# QoS 1, then out/# unsubscribed, then both/# QoS 2")
        check(r.quiet(1.0), "nothing more: no hello to a remote that never sent one")

        r.send(packet(0xC0))
        r.expect(13, "a PINGREQ from the remote is answered with PINGRESP")
        r.send(ack(0x50, 2001))
        _, body = r.expect(6, "PUBREC for an unknown id: answered with PUBREL")
        check(body == (2001).to_bytes(2, "big"), "PUBREL 2001")
        r.send(ack(0x62, 2002))
        _, body = r.expect(7, "PUBREL for an unknown id: answered with PUBCOMP")
        check(body == (2002).to_bytes(2, "big"), "PUBCOMP 2002")
        r.send(ack(0x70, 2003))
        check(r.quiet(0.5), "PUBCOMP for an unknown id: nothing")

        got = []
        sub = paho_client("local-sub")
        sub.on_message = lambda c, u, m: got.append((m.topic, m.payload))
        sub.connect("127.0.0.1", b.port)
        sub.loop_start()
        sub.subscribe("in/#", 1)
        time.sleep(0.5)
        r.send(publish_pkt("in/x", b"from-remote", qos=1, pid=7))
        _, body = r.expect(4, "the link still works: PUBACK")
        check(body == (7).to_bytes(2, "big"), "PUBACK 7")
        wait_for(lambda: got == [("in/x", b"from-remote")], what="the remote's message locally")
        check(True, "the remote's message reached a local subscriber")

        pub = paho_client("local-pub")
        pub.connect("127.0.0.1", b.port)
        pub.loop_start()
        pub.publish("out/r", b"kept", qos=0, retain=True)
        first, body = r.expect(3, "a local message to an 'out' topic goes out")
        p = parse_publish(first, body)
        check(p["topic"] == "out/r" and p["payload"] == b"kept" and not p["retain"],
              "bridge_outgoing_retain false: the retain flag is cleared")

        # An mqbroker at the far end says hello: only then does the bridge say its own.
        r.send(publish_pkt(HELLO, b"abc123"))
        first, body = r.expect(3, "the bridge answers a hello")
        p = parse_publish(first, body)
        ids = p["payload"].decode().split()
        check(p["topic"] == HELLO and len(ids) >= 2 and "abc123" in ids[1:],
              f"its hello: its own id, then this remote's ({ids})")
        for c in (sub, pub):
            c.disconnect()
            c.loop_stop()
        conn.close()
        check(b.alive(), "mqbroker still running")
    lsock.close()
    print("PASS")


if __name__ == "__main__":
    main()
