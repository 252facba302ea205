#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Will messages: published on abnormal disconnect (socket closed, keep-alive
expiry, protocol error, takeover), never after DISCONNECT; will QoS and
retain honoured."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, Raw, check, packet, wait_for  # noqa: E402


def main():
    with Broker("sys_interval 0") as b:
        col = Collector(b.port, [("will/#", 2)], cid="wsub")

        r = Raw(b.port)
        r.connect("w-net", will=("will/net", "net gone", 1, False))
        r.close()
        wait_for(lambda: any(m.topic == "will/net" for m in col.msgs), what="will on network close")
        m = [m for m in col.msgs if m.topic == "will/net"][0]
        check(m.payload == b"net gone" and m.qos == 1, "will on socket close, at will QoS 1")

        r = Raw(b.port)
        r.connect("w-clean", will=("will/clean", "should not", 0, False))
        r.send(packet(0xe0))
        r.closed()

        r = Raw(b.port)
        r.connect("w-proto", will=("will/proto", "bad packet", 2, False))
        r.send(b"\x30\xff\xff\xff\xff\x01")  # invalid remaining length
        check(r.closed(), "malformed packet closes the client")
        wait_for(lambda: any(m.topic == "will/proto" for m in col.msgs), what="will on protocol error")
        check([m.qos for m in col.msgs if m.topic == "will/proto"] == [2], "will on protocol error, QoS 2")

        r = Raw(b.port)
        r.connect("w-take", will=("will/take", "taken", 0, False))
        r2 = Raw(b.port)
        r2.connect("w-take")
        check(r.closed(), "takeover closes the old connection")
        wait_for(lambda: any(m.topic == "will/take" for m in col.msgs), what="will on takeover")
        check(True, "will on takeover")
        r2.send(packet(0xe0))

        r = Raw(b.port)
        r.connect("w-ka", keepalive=1, will=("will/ka", "silent", 0, True))
        t0 = time.time()
        wait_for(lambda: any(m.topic == "will/ka" for m in col.msgs), timeout=5, what="will on keep-alive")
        dt = time.time() - t0
        check(1.4 <= dt <= 4.5, f"keep-alive 1 s expires after 1.5 s (+ 1 s sweep): {dt:.2f}s")
        check(r.closed(1), "keep-alive expiry closes the connection")

        time.sleep(0.5)
        check(not any(m.topic == "will/clean" for m in col.msgs), "no will after DISCONNECT")
        col.stop()
        # will retain honoured: a new subscriber gets it as retained
        col2 = Collector(b.port, [("will/ka", 0)], cid="wsub2")
        wait_for(lambda: col2.msgs, what="retained will")
        check(col2.msgs[0].retain and col2.msgs[0].payload == b"silent", "will retain honoured")
        col2.stop()
        check(b.alive(), "broker still running")


if __name__ == "__main__":
    main()
