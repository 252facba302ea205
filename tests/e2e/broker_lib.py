# SPDX-License-Identifier: GPL-2.0
"""Helpers for the mqbroker integration tests (tests/e2e/1N-broker-*.py).

Each test starts its own mqbroker on a free loopback port, talks to it with
paho-mqtt, mosquitto_pub/sub or a raw socket, and stops it on every exit
path (context manager + atexit)."""
import atexit
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("BUILD", os.path.join(os.getcwd(), "build"))
MQBROKER = os.path.join(BUILD, "mqbroker")
_procs = []
_dirs = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def skip_unless_built():
    if not os.access(MQBROKER, os.X_OK):
        print(f"SKIP: {MQBROKER} not built")
        sys.exit(77)


class Broker:
    """mqbroker on a free port; `conf` is extra configuration text."""

    def __init__(self, conf="", port=None, preexec_fn=None):
        skip_unless_built()
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="mqbroker-e2e-")
        _dirs.append(self.dir)
        self.conf_path = os.path.join(self.dir, "mqbroker.conf")
        self.log_path = os.path.join(self.dir, "broker.log")
        with open(self.conf_path, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\n{conf}\n")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([MQBROKER, "-c", self.conf_path, "-v"],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=preexec_fn)
        _procs.append(self.proc)
        deadline = time.time() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("mqbroker did not start:\n" + self.read_log())
                time.sleep(0.05)

    def read_log(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- broker log ----\n" + self.read_log()[-4000:])
        self.stop()
        return False


# ---- Debian's mosquitto, for the tests that put it at one end ----

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


# ---- bridges trusted by the broker they connect to ----

BRIDGE_PW = "bridge-secret"


def bridge_users_conf(*names):
    """The receiving side of trusted bridges: a password_file (written by
    mosquitto_passwd) with one user per name, each a bridge_user."""
    d = tempfile.mkdtemp(prefix="mqbroker-pw-")
    _dirs.append(d)
    path = os.path.join(d, "passwd")
    for i, n in enumerate(names):
        subprocess.run(["mosquitto_passwd"] + (["-c"] if i == 0 else []) +
                       ["-b", path, n, BRIDGE_PW], check=True)
    return f"password_file {path}\n" + "".join(f"bridge_user {n}\n" for n in names)


def bridge_login(name):
    """The connection block lines that authenticate a bridge as bridge_user `name`."""
    return f"remote_username {name}\nremote_password {BRIDGE_PW}\n"


# ---- raw MQTT over a socket, for what paho will not do ----

def s16(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">H", len(b)) + b


def varint(n):
    out = bytearray()
    while True:
        d = n % 128
        n //= 128
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first, body=b""):
    return bytes([first]) + varint(len(body)) + body


def connect_pkt(cid, clean=True, keepalive=60, will=None, user=None, password=None,
                level=4, name="MQTT"):
    flags = 0x02 if clean else 0
    payload = s16(cid)
    if will:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += s16(topic) + s16(msg)
    if user is not None:
        flags |= 0x80
        payload += s16(user)
    if password is not None:
        flags |= 0x40
        payload += s16(password)
    return packet(0x10, s16(name) + bytes([level, flags]) + struct.pack(">H", keepalive) + payload)


def publish_pkt(topic, payload, qos=0, pid=1, retain=False, dup=False):
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = s16(topic) + (struct.pack(">H", pid) if qos else b"")
    if isinstance(payload, str):
        payload = payload.encode()
    return packet(first, body + payload)


def subscribe_pkt(pid, *filters):
    body = struct.pack(">H", pid)
    for f, q in filters:
        body += s16(f) + bytes([q])
    return packet(0x82, body)


def ack_pkt(kind, pid):
    first = {"puback": 0x40, "pubrec": 0x50, "pubrel": 0x62, "pubcomp": 0x70}[kind]
    return packet(first, struct.pack(">H", pid))


class Raw:
    """A raw MQTT connection that reads whole packets."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def recv(self):
        """(first byte, body) of the next packet."""
        self._fill(2)
        mult, rem, i = 1, 0, 1
        while True:
            self._fill(i + 1)
            b = self.buf[i]
            rem += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        self._fill(i + rem)
        first, body = self.buf[0], self.buf[i:i + rem]
        self.buf = self.buf[i + rem:]
        return first, body

    def connect(self, cid, **kw):
        self.send(connect_pkt(cid, **kw))
        first, body = self.recv()
        assert first == 0x20, f"expected CONNACK, got {first:#x}"
        return body[0], body[1]  # session present, return code

    def closed(self, timeout=3):
        """True when the broker closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def parse_publish(first, body):
    qos = (first >> 1) & 3
    tlen = struct.unpack(">H", body[:2])[0]
    topic = body[2:2 + tlen].decode()
    off = 2 + tlen
    pid = None
    if qos:
        pid = struct.unpack(">H", body[off:off + 2])[0]
        off += 2
    return {"topic": topic, "qos": qos, "pid": pid, "dup": bool(first & 8),
            "retain": bool(first & 1), "payload": body[off:]}


# ---- paho helpers ----

def paho_client(cid="", clean=True, proto=None):
    import paho.mqtt.client as mqtt
    c = mqtt.Client(client_id=cid, clean_session=clean,
                    protocol=proto if proto is not None else mqtt.MQTTv311)
    return c


class Collector:
    """A paho subscriber that records what it receives."""

    def __init__(self, port, topics, cid="", clean=True, proto=None):
        self.msgs = []
        self.c = paho_client(cid, clean, proto)
        self.c.on_message = lambda c, u, m: self.msgs.append(m)
        self.granted = None
        self.sub_done = False
        self.port = port
        self.topics = topics

        def on_sub(c, u, mid, granted):
            self.granted = granted
            self.sub_done = True

        self.c.on_subscribe = on_sub
        self.c.connect("127.0.0.1", port, keepalive=60)
        self.c.loop_start()
        if topics:
            self.c.subscribe(topics)
            wait_for(lambda: self.sub_done, what="SUBACK")

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()


def wait_for(cond, timeout=5, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")
