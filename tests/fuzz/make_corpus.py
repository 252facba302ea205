#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Write the seed corpus for fuzz_codec: valid packets of every type and the
malformed cases the broker must refuse (bad remaining length, truncation,
wrong fixed-header flags, invalid UTF-8, NUL in a topic, oversize claims).
Run from the repository root: tests/fuzz/make_corpus.py"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def s(b):
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


def pkt(first, body):
    return bytes([first]) + varint(len(body)) + body


def ack(first, pid):
    return pkt(first, struct.pack(">H", pid))


connect = pkt(0x10, s("MQTT") + b"\x04\xee\x00\x3c" + s("cid") + s("will/t") + s("bye") + s("u") + s("p"))
cases = {
    "connect_full": connect,
    "connect_v31": pkt(0x10, s("MQIsdp") + b"\x03\x02\x00\x0a" + s("c31")),
    "connect_v5": pkt(0x10, s("MQTT") + b"\x05\x02\x00\x0a\x00" + s("c5")),
    "connack": pkt(0x20, b"\x01\x00"),
    "publish_q0": pkt(0x30, s("a/b") + b"payload"),
    "publish_q1_retain": pkt(0x33, s("a/b") + b"\x00\x01" + b"x" * 200),
    "publish_q2_dup": pkt(0x3c, s("a/\xc3\xa9") + b"\x12\x34"),
    "puback": pkt(0x40, b"\x00\x01"),
    "pubrec": pkt(0x50, b"\x00\x01"),
    "pubrel": pkt(0x62, b"\x00\x01"),
    "pubcomp": pkt(0x70, b"\x00\x01"),
    "subscribe": pkt(0x82, b"\x00\x02" + s("a/+") + b"\x01" + s("#") + b"\x02"),
    "suback": pkt(0x90, b"\x00\x02\x00\x01\x02\x80"),
    "unsubscribe": pkt(0xa2, b"\x00\x03" + s("a/+") + s("$SYS/#")),
    "unsuback": pkt(0xb0, b"\x00\x03"),
    "pingreq": pkt(0xc0, b""),
    "pingresp": pkt(0xd0, b""),
    "disconnect": pkt(0xe0, b""),
    "stream": connect + pkt(0x82, b"\x00\x01" + s("t") + b"\x01") + pkt(0x32, s("t") + b"\x00\x07hi") + pkt(0xc0, b"") + pkt(0xe0, b""),
    # malformed
    "bad_rl_5th_byte": b"\x30\xff\xff\xff\xff\x01",
    "bad_rl_overclaim": b"\x30\xff\xff\xff\x7f" + s("a"),
    "truncated_connect": connect[: len(connect) // 2],
    "truncated_publish": pkt(0x30, s("abc") + b"payload")[:5],
    "flags_pubrel": pkt(0x60, b"\x00\x01"),
    "flags_subscribe": pkt(0x80, b"\x00\x01" + s("a") + b"\x00"),
    "flags_connect": pkt(0x11, s("MQTT") + b"\x04\x02\x00\x0a" + s("c")),
    "flags_disconnect": pkt(0xe2, b""),
    "publish_qos3": pkt(0x36, s("a") + b"\x00\x01"),
    "publish_pid0": pkt(0x32, s("a") + b"\x00\x00"),
    "utf8_invalid": pkt(0x30, s(b"\xc3\x28") + b"x"),
    "utf8_surrogate": pkt(0x30, s(b"\xed\xa0\x80") + b"x"),
    "utf8_overlong_nul": pkt(0x30, s(b"\xc0\x80") + b"x"),
    "topic_nul": pkt(0x30, s(b"a\x00b") + b"x"),
    "connect_reserved": pkt(0x10, s("MQTT") + b"\x04\x03\x00\x0a" + s("c")),
    "connect_pass_no_user": pkt(0x10, s("MQTT") + b"\x04\x42\x00\x0a" + s("c") + s("p")),
    "connect_will_qos3": pkt(0x10, s("MQTT") + b"\x04\x1e\x00\x0a" + s("c") + s("w") + s("m")),
    "subscribe_empty": pkt(0x82, b"\x00\x01"),
    "subscribe_qos3": pkt(0x82, b"\x00\x01" + s("a") + b"\x03"),
    "unsubscribe_empty": pkt(0xa2, b"\x00\x01"),
    "reserved_type0": b"\x00\x00",
    "reserved_type15": b"\xf0\x00",
    "ping_body": b"\xc0\x01\x00",
    "trailing_bytes": pkt(0x40, b"\x00\x01\x02"),
    "string_overrun": pkt(0x30, b"\xff\xff" + b"abc"),
}

os.makedirs(OUT, exist_ok=True)
for name, data in cases.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(cases)} seeds in {OUT}")


# fuzz_broker: records { client 0..2 (3: housekeeping), length, bytes }
def rec(client, data):
    out = b""
    while True:
        chunk, data = data[:255], data[255:]
        out += bytes([client, len(chunk)]) + chunk
        if not data:
            return out


def conn(cid, clean=True, will=None, ka=60):
    flags = 0x02 if clean else 0
    pl = s(cid)
    if will:
        flags |= 0x04 | (will[2] << 3) | (0x20 if will[3] else 0)
        pl += s(will[0]) + s(will[1])
    return pkt(0x10, s("MQTT") + bytes([4, flags]) + struct.pack(">H", ka) + pl)


def sub(pid, *filters):
    return pkt(0x82, struct.pack(">H", pid) + b"".join(s(f) + bytes([q]) for f, q in filters))


def unsub(pid, *filters):
    return pkt(0xa2, struct.pack(">H", pid) + b"".join(s(f) for f in filters))


def pub(topic, payload, qos=0, pid=1, retain=False, dup=False):
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    return pkt(first, s(topic) + (struct.pack(">H", pid) if qos else b"") + payload)


SIG = b"\r\n\r\n\x00\r\nQUIT\n"
PROXY4 = SIG + b"\x21\x11\x00\x0c" + bytes([203, 0, 113, 7, 198, 51, 100, 1]) + b"\x15\xb3\x07\x5b"
PROXY6 = SIG + b"\x21\x21\x00\x27" + b"\x20\x01\x0d\xb8" + bytes(28) + b"\xc3\x50\x07\x5b" + b"\x04\x00\x00"
LOCAL = SIG + b"\x20\x00\x00\x00"
BOUT = os.path.join(os.path.dirname(OUT), "corpus_broker")
seeds = {
    "pubsub": rec(0, conn("a") + sub(1, ("t/#", 2), ("$SYS/#", 0))) + rec(1, conn("b"))
    + rec(1, pub("t/1", b"x", 1, 5) + pub("t/2", b"y", 2, 6, retain=True) + ack(0x62, 6))
    + rec(0, ack(0x40, 1) + ack(0x50, 2)) + rec(3, b""),
    "persist": rec(0, conn("p", clean=False) + sub(2, ("q", 1))) + rec(0, pkt(0xe0, b""))
    + rec(1, conn("b") + pub("q", b"1", 1, 1) + pub("q", b"2", 1, 2) + pub("q", b"3", 1, 3))
    + rec(2, conn("p", clean=False)),
    "takeover_will": rec(0, conn("t", will=("w", b"bye", 1, True))) + rec(1, conn("s") + sub(1, ("w", 1)))
    + rec(2, conn("t")) + rec(3, b""),
    "split": rec(0, conn("x")[:3]) + rec(0, conn("x")[3:]) + rec(0, sub(1, ("a", 0))[:4])
    + rec(0, sub(1, ("a", 0))[4:] + pub("a", b"z" * 300)),
    "malformed": rec(0, conn("m")) + rec(0, b"\x30\xff\xff\xff\xff\x01") + rec(1, conn("n") + pkt(0x20, b"\0\0")),
    "retained": rec(0, conn("r") + pub("r/a", b"v", 1, 1, retain=True) + pub("r/a", b"", 0, retain=True))
    + rec(1, conn("r2") + sub(1, ("r/+", 2), ("#", 1))),
    # First byte 2: slices of zero time, so these SUBSCRIBE/UNSUBSCRIBE become jobs that
    # interleave with the other clients' packets and with what follows on their own connection.
    "many_filters": bytes([2, 0]) + rec(0, conn("m") + sub(1, *[(f"m/{i}", i % 3) for i in range(300)])
                                     + pub("m/7", b"after", 1, 9))
    + rec(1, conn("o") + pub("m/1", b"x", 1, 3) + pkt(0xc0, b""))
    + rec(0, unsub(2, *[f"m/{i}" for i in range(0, 300, 2)]) + pkt(0xc0, b"")) + rec(3, b""),
    "many_filters_bad_last": bytes([2, 0]) + rec(0, conn("b") + sub(1, *[(f"b/{i}", 0) for i in range(200)],
                                                               ("b/#/x", 0)))
    + rec(1, conn("c") + pub("b/1", b"x")),
    "many_filters_takeover": bytes([2, 0]) + rec(0, conn("t") + sub(1, *[(f"t/{i}", 1) for i in range(400)]))
    + rec(1, conn("t")) + rec(1, pub("t/3", b"y", 1, 1)),
    "v31_pubrel_dup": rec(0, pkt(0x10, s("MQIsdp") + b"\x03\x02\x00\x0a" + s("v31"))
                          + pub("q", b"2", 2, 4) + ack(0x6a, 4) + pkt(0x8a, b"\x00\x05" + s("q") + b"\x02")),
    "qos2_inbound": rec(0, conn("q", clean=False) + sub(1, ("q2", 2))) + rec(1, conn("p")
    + pub("q2", b"1", 2, 1) + pub("q2", b"1", 2, 1, dup=True) + pub("q2", b"2", 2, 1) + ack(0x62, 1)
    + pub("q2", b"3", 2, 2) + pub("q2", b"4", 2, 3) + pub("q2", b"5", 2, 4) + ack(0x62, 9)),
    "limits": bytes([12, 0]) + rec(0, conn("l") + sub(1, ("l", 1))) + rec(1, conn("k") + pub("l", b"z" * 600, 1, 1)
    + b"\x30\xff\xff\xff\x7f" + pub("$SYS/broker/version", b"f", 1, 2, retain=True)),
    # First byte 16: the listener wants a PROXY v2 header first (enable_proxy_protocol 2).
    "proxy_v2": bytes([16, 0]) + rec(0, PROXY4 + conn("p4") + sub(1, ("p/#", 1)))
    + rec(1, PROXY6[:9]) + rec(1, PROXY6[9:] + conn("p6") + pub("p/x", b"v", 1, 1))
    + rec(2, LOCAL + conn("hc")) + rec(3, b""),
    "proxy_v2_bad": bytes([16, 0]) + rec(0, conn("nohdr")) + rec(1, PROXY4[:13] + b"\x12" + PROXY4[14:])
    + rec(2, b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + conn("v1")),
}
os.makedirs(BOUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(BOUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {BOUT}")
