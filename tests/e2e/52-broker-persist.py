#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""persistence true: what survives a clean restart and a kill -9.

1. Clean restart (SIGTERM): retained messages, an offline persistent
   session's subscriptions and its queued QoS 1 and 2 messages (in order,
   each once), a connected subscriber's in-flight window (re-sent with DUP
   and the same packet ids; a QoS 2 past PUBREC gets its PUBREL again), and
   a publisher's QoS 2 awaiting PUBREL (its re-sent PUBLISH is not a second
   message; PUBREL delivers it once).
2. kill -9, several rounds: batch A published, saved (SIGUSR1, the log
   says so), batch B published, kill -9: after the restart the subscriber
   gets A, all of it, each once, and nothing of B (lost since the last
   save, as documented). Figures printed.
3. kill -9 while saving, again and again (autosave_on_changes 1 with a
   few MB of state): every restart loads the file; none is torn.
4. A torn file, a flipped byte, a Mosquitto database: the broker does not
   start and says why; --discard-store sets the file aside and starts
   empty; an unwritable persistence_location stops the start."""
import atexit
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (MQBROKER, Raw, ack_pkt, check, free_port, parse_publish,  # noqa: E402
                        publish_pkt, skip_unless_built, subscribe_pkt, wait_for)

PUBREL, PUBREC, PUBCOMP, PUBACK = 0x62, 0x50, 0x70, 0x40
_brokers = []


@atexit.register
def _kill_all():
    for b in _brokers:
        if b.proc and b.proc.poll() is None:
            b.proc.kill()
            b.proc.wait()


class Persisted:
    """mqbroker with persistence in a directory of its own, restartable, killable by PID."""

    def __init__(self, d, extra=""):
        self.d = d
        self.port = free_port()
        self.conf = os.path.join(d, "mqbroker.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\npersistence true\n"
                    f"persistence_location {d}/\nautosave_interval 3600\n"
                    f"max_inflight_messages 20\nmax_queued_messages 100000\n{extra}\n")
        self.db = os.path.join(d, "mqbroker.db")
        self.proc = None
        self.n = 0
        _brokers.append(self)

    def start(self, *args, expect_fail=False):
        self.n += 1
        self.log_path = os.path.join(self.d, f"log.{self.n}")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([MQBROKER, "-c", self.conf, "-v", *args], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if expect_fail:
            rc = self.proc.wait(10)
            self.log.close()
            return rc
        wait_for(lambda: "running" in self.read_log() or self.proc.poll() is not None, 10,
                 "start")
        if self.proc.poll() is not None:
            raise RuntimeError("did not start:\n" + self.read_log())
        return 0

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def save(self):
        """SIGUSR1, then the 'saved' line; its counts."""
        before = self.read_log().count("persistence: saved")
        self.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: self.read_log().count("persistence: saved") > before, 10, "save")
        return self.read_log().strip().splitlines()[-1]

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.log.close()

    def kill9(self):
        self.stop(signal.SIGKILL)


def drain(r, n, acks=True, timeout=5):
    """n PUBLISH packets from r (acked as their QoS asks when acks); the parsed list."""
    got = []
    r.sock.settimeout(timeout)
    while len(got) < n:
        first, body = r.recv()
        if first >> 4 == 3:
            p = parse_publish(first, body)
            got.append(p)
            if acks and p["qos"] == 1:
                r.send(ack_pkt("puback", p["pid"]))
            elif acks and p["qos"] == 2:
                r.send(ack_pkt("pubrec", p["pid"]))
        elif first == PUBREL:
            r.send(ack_pkt("pubcomp", int.from_bytes(body[:2], "big")))
    return got


def nothing_more(r, wait=0.6):
    r.sock.settimeout(wait)
    try:
        while True:
            first, body = r.recv()
            if first >> 4 == 3:
                return False
            if first == PUBREL:
                r.send(ack_pkt("pubcomp", int.from_bytes(body[:2], "big")))
    except (OSError, EOFError):
        return True


def pub_all(port, topic, msgs, qos):
    """Publish each payload at qos from a fresh client, its flows completed."""
    r = Raw(port)
    r.connect(f"pub-{random.randrange(1 << 30)}")
    for i, m in enumerate(msgs, 1):
        r.send(publish_pkt(topic, m, qos=qos, pid=i))
        first, body = r.recv()
        if qos == 2:
            r.send(ack_pkt("pubrel", i))
            first, body = r.recv()
    r.close()


def clean_restart(d):
    b = Persisted(d)
    b.start()
    # An offline persistent subscriber, QoS 1 and QoS 2.
    s = Raw(b.port)
    check(s.connect("sub", clean=False) == (0, 0), "subscriber: new session")
    s.send(subscribe_pkt(1, ("q1/#", 1), ("q2/#", 2)))
    s.recv()
    s.close()
    time.sleep(0.2)
    pub_all(b.port, "q1/a", [f"one-{i}" for i in range(50)], 1)
    pub_all(b.port, "q2/a", [f"two-{i}" for i in range(50)], 2)
    r = Raw(b.port)
    r.connect("retainer")
    r.send(publish_pkt("ret/x", "kept", qos=1, pid=1, retain=True))
    r.recv()
    r.close()
    # A connected subscriber with a window it does not acknowledge.
    w = Raw(b.port)
    w.connect("window", clean=False)
    w.send(subscribe_pkt(1, ("w/#", 2)))
    w.recv()
    pub_all(b.port, "w/x", ["w1", "w2"], 2)
    got = drain(w, 2, acks=False)
    w.send(ack_pkt("pubrec", got[1]["pid"]))  # the second past PUBREC: PUBREL pending
    first, body = w.recv()
    check(first == PUBREL, "window: w2 waiting for PUBCOMP")
    # A publisher's QoS 2 before PUBREL.
    p = Raw(b.port)
    p.connect("pub2", clean=False)
    p.send(publish_pkt("q2/late", "held", qos=2, pid=9))
    check(p.recv()[0] == PUBREC, "QoS 2 inbound: PUBREC, no PUBREL yet")
    time.sleep(0.2)
    b.stop()
    w.close()
    p.close()
    check("persistence: saved" in b.read_log(), "saved at shutdown")

    b.start()
    # sub, window and pub2; the clean ones ended with their connections
    check(re.search(r"loaded .*: 3 sessions, 3 subscriptions, 1 retained", b.read_log()),
          "loaded 3 sessions, 3 subscriptions, 1 retained")
    w = Raw(b.port)
    check(w.connect("window", clean=False) == (1, 0), "window: session present")
    again = drain(w, 1, acks=False)
    check(again[0]["dup"] and again[0]["pid"] == got[0]["pid"] and again[0]["payload"] == b"w1",
          "window: w1 again, DUP, same packet id")
    first, body = w.recv()
    check(first == PUBREL and int.from_bytes(body, "big") == got[1]["pid"],
          "window: w2's PUBREL again, not w2")
    w.close()
    p = Raw(b.port)
    check(p.connect("pub2", clean=False) == (1, 0), "QoS 2 publisher: session present")
    p.send(publish_pkt("q2/late", "held", qos=2, pid=9, dup=True))
    check(p.recv()[0] == PUBREC, "its re-sent PUBLISH: PUBREC")
    p.send(ack_pkt("pubrel", 9))
    check(p.recv()[0] == PUBCOMP, "PUBREL: PUBCOMP")
    p.close()
    s = Raw(b.port)
    check(s.connect("sub", clean=False) == (1, 0), "subscriber: session present")
    msgs = drain(s, 101)
    ones = [m["payload"].decode() for m in msgs if m["topic"] == "q1/a"]
    twos = [m["payload"].decode() for m in msgs if m["topic"] == "q2/a"]
    late = [m for m in msgs if m["topic"] == "q2/late"]
    check(ones == [f"one-{i}" for i in range(50)], "50 QoS 1 queued: all, in order")
    check(twos == [f"two-{i}" for i in range(50)], "50 QoS 2 queued: all, in order")
    check(len(late) == 1 and late[0]["payload"] == b"held",
          "the QoS 2 held before the restart: delivered once, on PUBREL")
    check(nothing_more(s), "nothing more, nothing twice")
    s.close()
    r = Raw(b.port)
    r.connect("reader")
    r.send(subscribe_pkt(1, ("ret/#", 0)))
    r.recv()
    m = drain(r, 1)[0]
    check(m["retain"] and m["payload"] == b"kept", "the retained message is back")
    r.close()
    b.stop()


def kill9_rounds(d, rounds=5, per=200):
    b = Persisted(d)
    b.start()
    s = Raw(b.port)
    s.connect("k", clean=False)
    s.send(subscribe_pkt(1, ("k1/#", 1), ("k2/#", 2)))
    s.recv()
    s.close()
    figures = []
    for rnd in range(rounds):
        a = [f"A{rnd}-{i}" for i in range(per)]
        bb = [f"B{rnd}-{i}" for i in range(per)]
        pub_all(b.port, "k1/x", a[:per // 2], 1)
        pub_all(b.port, "k2/x", a[per // 2:], 2)
        line = b.save()
        pub_all(b.port, "k1/x", bb[:per // 2], 1)
        pub_all(b.port, "k2/x", bb[per // 2:], 2)
        b.kill9()
        b.start()
        s = Raw(b.port)
        check(s.connect("k", clean=False) == (1, 0), f"round {rnd}: session present after kill -9")
        got = [m["payload"].decode() for m in drain(s, per)]
        rest = nothing_more(s)
        s.close()
        lost = len(set(a) - set(got))
        dup = len(got) - len(set(got))
        fromb = len(set(got) & set(bb))
        figures.append((rnd, per, len(got), lost, dup, fromb))
        check(sorted(got) == sorted(a) and rest,
              f"round {rnd}: {per} saved messages back, each once; {per} published after "
              f"the save lost with the kill")
        check("fsync" in line, f"round {rnd}: {line.split('; ', 1)[1]}")
    b.stop()
    print("kill -9 rounds: round, saved, received, lost, duplicated, from after the save")
    for f in figures:
        print("  ", *f)


def kill_while_saving(d, rounds=8):
    """Saves back to back (SIGUSR1 every 5 ms, a few MB each), kill -9 at a random moment:
    every restart loads the file."""
    b = Persisted(d)
    b.start()
    s = Raw(b.port)
    s.connect("big", clean=False)
    s.send(subscribe_pkt(1, ("big/#", 1)))
    s.recv()
    s.close()
    payload = "x" * 2000
    pub_all(b.port, "big/x", [payload] * 1500, 1)
    loaded = []
    cut = 0
    for i in range(rounds):
        r = Raw(b.port)
        r.connect(f"w{i}")
        for j in range(1, 50):
            r.send(publish_pkt("big/y", payload, qos=1, pid=j))
        end = time.time() + random.uniform(0.05, 0.4)
        while time.time() < end:
            b.proc.send_signal(signal.SIGUSR1)
            time.sleep(0.005)
        b.kill9()
        r.close()
        b.start()
        m = re.search(r"loaded .* (\d+) queued", b.read_log())
        check(m is not None, f"kill during saves {i}: the file loads")
        loaded.append(int(m.group(1)))
        cut += "a save cut short" in b.read_log()
    check(all(n >= 1500 for n in loaded), f"each time at least the 1500 queued before: {loaded}")
    b.stop()
    check(cut > 0, f"{cut} of {rounds} kills cut a save short (its .new left behind, removed at "
          "start); the file loaded every time")


def refusals(d):
    b = Persisted(d)
    b.start()
    s = Raw(b.port)
    s.connect("r", clean=False)
    s.send(subscribe_pkt(1, ("r/#", 1)))
    s.recv()
    s.close()
    pub_all(b.port, "r/x", ["m"] * 20, 1)
    b.stop()
    good = open(b.db, "rb").read()
    with open(b.db, "wb") as f:
        f.write(good[:len(good) // 2])
    check(b.start(expect_fail=True) == 1 and "torn: ends inside record" in b.read_log(),
          "a torn file: no start, 'torn' in the log")
    check("--discard-store" in b.read_log(), "and the log says how to start anyway")
    bad = bytearray(good)
    bad[60] ^= 0x10
    with open(b.db, "wb") as f:
        f.write(bad)
    check(b.start(expect_fail=True) == 1 and "fails its checksum" in b.read_log(),
          "a flipped byte: no start, 'fails its checksum'")
    with open(b.db, "wb") as f:
        f.write(b"\x00\xb5\x00mosquitto db\x00\x00\x00\x06" + bytes(100))
    check(b.start(expect_fail=True) == 1 and "a Mosquitto database" in b.read_log(),
          "a Mosquitto database: no start, named as such")
    b.start("--discard-store")
    check("starting empty (--discard-store)" in b.read_log(), "--discard-store: started empty")
    aside = [n for n in os.listdir(d) if n.startswith("mqbroker.db.bad-")]
    check(len(aside) == 1, f"the file set aside: {aside}")
    b.stop()
    # persistence_location that is no directory: stops the start.
    notdir = os.path.join(d, "plain-file")
    open(notdir, "w").close()
    nb = Persisted(d, f"persistence_location {notdir}/\n")
    check(nb.start(expect_fail=True) == 1 and "cannot" in nb.read_log(),
          "an unusable persistence_location: no start")


def main():
    skip_unless_built()
    for name, fn in (("clean", clean_restart), ("kill9", kill9_rounds),
                     ("saving", kill_while_saving), ("refusals", refusals)):
        d = tempfile.mkdtemp(prefix=f"mqbroker-persist-{name}-")
        try:
            fn(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)


main()
