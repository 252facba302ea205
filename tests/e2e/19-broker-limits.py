#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Resource limits: out of file descriptors, the broker pauses accepting
(one log line, no busy loop) and resumes when descriptors come back; many
connections at once; a big PUBLISH (1 MiB) crosses the read path intact."""
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Raw, check, parse_publish, publish_pkt, subscribe_pkt  # noqa: E402


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def fd_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))


def out_of_fds():
    with Broker("sys_interval 0", preexec_fn=fd_limit) as b:
        conns = []
        for i in range(60):
            try:
                conns.append(Raw(b.port, timeout=2))
            except OSError:
                break
        time.sleep(0.5)
        check("no new connections for 1000 ms" in b.read_log(), "EMFILE: accepting paused, logged")
        t0 = cpu_ticks(b.proc.pid)
        time.sleep(1.0)
        used = cpu_ticks(b.proc.pid) - t0
        check(used < 30, f"no busy loop while out of descriptors ({used} ticks in 1 s)")
        for c in conns:
            c.close()
        time.sleep(1.5)
        r = Raw(b.port)
        sp, rc = r.connect("after-emfile")
        check(rc == 0, "accepting resumes once descriptors are free")
        r.close()
        check(b.alive(), "broker still running")


def many_and_big():
    with Broker("sys_interval 0") as b:
        conns = []
        for i in range(2000):
            r = Raw(b.port)
            r.connect(f"many{i}")
            conns.append(r)
        check(len(conns) == 2000, "2000 concurrent connections")
        # raw sockets: paho's select() cannot handle descriptors past 1024
        sub = Raw(b.port)
        sub.connect("bigsub")
        sub.send(subscribe_pkt(1, ("big", 1)))
        sub.recv()
        pub = Raw(b.port)
        pub.connect("bigpub")
        payload = bytes(range(256)) * 4096  # 1 MiB
        data = publish_pkt("big", payload, qos=1, pid=3)
        for i in range(0, len(data), 1000):  # dribbled, so it arrives in many reads
            pub.send(data[i:i + 1000])
        check(pub.recv() == (0x40, b"\x00\x03"), "PUBACK for the 1 MiB PUBLISH")
        m = parse_publish(*sub.recv())
        check(m["payload"] == payload, "1 MiB PUBLISH delivered intact")
        sub.close()
        pub.close()
        for r in conns:
            r.close()
        check(b.alive(), "broker still running")


def main():
    out_of_fds()
    many_and_big()


if __name__ == "__main__":
    main()
