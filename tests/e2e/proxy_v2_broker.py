#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A strict PROXY protocol v2 listener that speaks just enough MQTT.

    proxy_v2_broker.py --listen IP:PORT --log FILE [--seconds S]

Every connection must start with a valid PROXY v2 header (the signature,
version 2, then either PROXY over TCP/IPv4 with its 12-byte address block
or LOCAL), or it is logged as "bad REASON" and closed, as a broker with
enable_proxy_protocol 2 does. After the header: an MQTT CONNECT, answered
with CONNACK 0; then PINGREQ gets PINGRESP and anything else is ignored,
until the peer closes. One line a connection goes to FILE, flushed at
once: "proxy SRC:PORT DST:PORT CLIENT-ID" or "local CLIENT-ID" (a health
check) or "bad REASON". Stops after --seconds.
"""
import argparse
import socket
import struct
import sys
import threading
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_proxy(s):
    """The header's meaning: ("proxy", src, dst) or ("local",); raises ValueError."""
    head = recv_exact(s, 16)
    if head[:12] != SIG:
        raise ValueError("no PROXY v2 signature")
    ver_cmd, fam, length = head[12], head[13], struct.unpack("!H", head[14:16])[0]
    if ver_cmd >> 4 != 2:
        raise ValueError("version %d" % (ver_cmd >> 4))
    body = recv_exact(s, length)
    if ver_cmd & 0xF == 0:
        return ("local",)
    if ver_cmd & 0xF != 1:
        raise ValueError("command %d" % (ver_cmd & 0xF))
    if fam != 0x11 or length < 12:
        raise ValueError("family 0x%02x length %d" % (fam, length))
    src, dst = socket.inet_ntoa(body[0:4]), socket.inet_ntoa(body[4:8])
    sport, dport = struct.unpack("!HH", body[8:12])
    return ("proxy", "%s:%d" % (src, sport), "%s:%d" % (dst, dport))


def read_packet(s):
    first = recv_exact(s, 1)[0]
    length, mult = 0, 1
    for _ in range(4):
        b = recv_exact(s, 1)[0]
        length += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            break
    return first >> 4, recv_exact(s, length)


def client_id(connect):
    name_len = struct.unpack("!H", connect[0:2])[0]
    off = 2 + name_len + 4  # protocol name, level, flags, keep-alive
    if connect[2 + name_len] == 5:  # MQTT 5: properties before the payload
        plen, mult = 0, 1
        while True:
            b = connect[off]
            off += 1
            plen += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        off += plen
    id_len = struct.unpack("!H", connect[off:off + 2])[0]
    return connect[off + 2:off + 2 + id_len].decode(errors="replace")


def serve(conn, log, lock):
    line = None
    try:
        conn.settimeout(10)
        try:
            hdr = read_proxy(conn)
        except ValueError as e:
            line = "bad %s" % e
            return
        ptype, body = read_packet(conn)
        if ptype != 1:
            line = "bad first packet type %d" % ptype
            return
        cid = client_id(body) or '""'
        line = "%s %s" % (" ".join(hdr), cid)
        with lock:
            log.write(line + "\n")
            log.flush()
        line = None
        conn.sendall(b"\x20\x02\x00\x00")
        while True:
            ptype, _ = read_packet(conn)
            if ptype == 12:
                conn.sendall(b"\xd0\x00")
            elif ptype == 14:
                return
    except (EOFError, OSError):
        pass
    finally:
        if line:
            with lock:
                log.write(line + "\n")
                log.flush()
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--seconds", type=float, default=300)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(512)
    ls.settimeout(0.2)
    lock = threading.Lock()
    end = time.monotonic() + a.seconds
    with open(a.log, "a") as log:
        while time.monotonic() < end:
            try:
                conn, _ = ls.accept()
            except socket.timeout:
                continue
            threading.Thread(target=serve, args=(conn, log, lock), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
