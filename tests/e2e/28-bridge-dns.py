#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Bridge host names are resolved off the event loop. In a network and mount
namespace of its own, the test binds its own /etc/resolv.conf (and an
nsswitch.conf with `hosts: files dns`) naming a name server the test runs on
the namespace's loopback: it answers up.mqlb.test with 127.0.0.1, answers
NXDOMAIN for gone.mqlb.test, and never answers slow.mqlb.test. One mqbroker
has four bridges to a second one: by name (up), by a name that does not
exist (gone), by a name whose lookup hangs (slow) and by a numeric address
(num). While the slow lookup hangs, a client's PINGREQ round trips on the
bridging broker stay under 500 ms, the numeric and the resolved bridges come
up and carry messages, the failed name is logged with its reason, the hung
one is given up after the 5 s bound with a log line, and the broker exits
cleanly with the lookup still pending. All traffic stays in the namespace."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (Broker, Collector, Raw, check, free_port, packet, paho_client,  # noqa: E402
                        skip_unless_built, wait_for)

INNER = "MQLB_E2E_DNS_INNER"
NS_ADDR = "127.0.0.53"


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def enter_namespace():
    """Re-run this script in new network and mount namespaces (private mounts)."""
    skip_unless_built()
    if os.geteuid() != 0 or not shutil.which("unshare"):
        skip("needs root and unshare for a network namespace")
    env = dict(os.environ, **{INNER: "1"})
    try:
        r = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private",
                            sys.executable, os.path.abspath(__file__)], env=env, timeout=120)
    except subprocess.TimeoutExpired:
        print("FAIL: the test did not finish within 120 s")
        sys.exit(1)
    sys.exit(r.returncode)


def setup_resolver(tmp):
    """Loopback up, and this namespace's name server is ours (bind mounts, private)."""
    if subprocess.run(["ip", "link", "set", "lo", "up"]).returncode:
        skip("cannot bring lo up in the namespace")
    files = {
        "/etc/resolv.conf": f"nameserver {NS_ADDR}\noptions timeout:20 attempts:1\n",
        "/etc/nsswitch.conf": "hosts: files dns\n",
    }
    for target, text in files.items():
        src = os.path.join(tmp, os.path.basename(target))
        with open(src, "w") as f:
            f.write(text)
        if subprocess.run(["mount", "--bind", src, target]).returncode:
            skip(f"cannot bind-mount {target} in the namespace")


class NameServer:
    """A UDP name server on NS_ADDR:53 that answers, refuses or ignores each name."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((NS_ADDR, 53))
        self.sock.settimeout(0.2)
        self.queries = []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            reply = self.answer(q)
            if reply:
                self.sock.sendto(reply, peer)

    def answer(self, q):
        if len(q) < 12:
            return None
        qid, _, qdcount = struct.unpack(">HHH", q[:6])
        off, labels = 12, []
        while off < len(q) and q[off]:
            labels.append(q[off + 1:off + 1 + q[off]].decode(errors="replace"))
            off += 1 + q[off]
        off += 1
        if qdcount != 1 or off + 4 > len(q):
            return None
        qtype = struct.unpack(">H", q[off:off + 2])[0]
        name = ".".join(labels).lower()
        question = q[12:off + 4]
        self.queries.append(name)
        if name.startswith("slow."):
            return None  # a name server that never answers
        if name == "up.mqlb.test" and qtype == 1:
            rr = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
            return struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + rr
        return struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN

    def close(self):
        self.stop.set()
        self.t.join(2)
        self.sock.close()


def ping_rtts(port, seconds):
    """PINGREQ round trips (s) over `seconds` on a fresh connection to port."""
    raw = Raw(port, timeout=3)
    rtts = []
    try:
        t0 = time.time()
        raw.send(packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c\x00\x04ping"))
        first, body = raw.recv()
        rtts.append(time.time() - t0)
        check(first == 0x20 and body[1] == 0, "CONNACK on the bridging broker")
        deadline = time.time() + seconds
        while time.time() < deadline:
            t = time.time()
            raw.send(packet(0xC0))
            first, _ = raw.recv()
            rtts.append(time.time() - t)
            if first != 0xD0:
                raise AssertionError(f"expected PINGRESP, got {first:#x}")
            time.sleep(0.05)
    except socket.timeout:
        raise AssertionError(f"no answer within 3 s after {len(rtts)} round trips: "
                             "the event loop is blocked")
    finally:
        raw.close()
    return rtts


def bridge(name, addr, port, topic):
    return (f"connection {name}\naddress {addr}:{port}\ntopic {topic}/# out 1\n"
            f"remote_clientid dns-{name}\nrestart_timeout 1\n")


def main():
    tmp = tempfile.mkdtemp(prefix="mqbroker-dns-")
    try:
        setup_resolver(tmp)
        ns = NameServer()
        try:
            run(ns)
        finally:
            ns.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(ns):
    p = free_port()
    remote = Broker(port=p)
    with remote:
        sub = Collector(p, [("n/#", 1), ("u/#", 1)])
        conf = (bridge("slow", "slow.mqlb.test", p, "s") + bridge("gone", "gone.mqlb.test", p, "g")
                + bridge("up", "up.mqlb.test", p, "u") + bridge("num", "127.0.0.1", p, "n"))
        start = time.time()
        local = Broker(conf)
        with local:
            # Over the whole hung lookup, its 5 s bound and the next attempt.
            rtts = ping_rtts(local.port, 8.0)
            worst = max(rtts)
            print(f"{len(rtts)} round trips while resolving, worst {worst * 1000:.1f} ms")
            check(worst < 0.5, f"a client is served promptly while a lookup hangs "
                  f"(worst round trip {worst * 1000:.0f} ms < 500 ms)")
            check("slow.mqlb.test" in ns.queries, "the hung lookup reached the silent name server")
            log = local.read_log()
            check("bridge num: connected" in log, "the numeric bridge is up")
            check("bridge up: connecting to up.mqlb.test:%d (127.0.0.1)" % p in log and
                  "bridge up: connected" in log, "the bridge by name resolved and is up")
            check("bridge gone: cannot resolve gone.mqlb.test: Name or service not known" in log,
                  "a name that does not exist is logged with its reason")
            check("bridge slow: cannot resolve slow.mqlb.test: no answer within 5 s" in log,
                  "the hung lookup is given up after its bound, with a log line")
            n = log.count("bridge slow: resolving slow.mqlb.test")
            check(n >= 2, f"and tried again after restart_timeout ({n} attempts)")
            check(time.time() - start < 20, "all of it well before the resolver's own timeout")
            pub = paho_client("dns-pub")
            pub.connect("127.0.0.1", local.port)
            pub.loop_start()
            for t in ("n/1", "u/1", "s/1", "g/1"):
                pub.publish(t, t, qos=1).wait_for_publish()
            wait_for(lambda: len(sub.msgs) >= 2, timeout=5, what="messages across the bridges")
            time.sleep(0.3)
            got = sorted(m.payload.decode() for m in sub.msgs)
            check(got == ["n/1", "u/1"], f"the numeric and the named bridge carry messages ({got})")
            pub.loop_stop()
            pub.disconnect()
            sub.stop()
            # SIGTERM while the slow lookup's thread still waits on the name server.
            local.proc.terminate()
            rc = local.proc.wait(5)
            check(rc == 0, f"clean exit with a lookup pending (rc {rc})")


if __name__ == "__main__":
    if os.environ.get(INNER) != "1":
        enter_namespace()
    main()
    print("PASS")
