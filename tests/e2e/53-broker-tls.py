#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""TLS listeners and bridges, with certificates this test makes (openssl CLI).

One mqbroker with a plain listener and four TLS ones at once: server
certificate only; require_certificate with use_identity_as_username and a
CRL; use_subject_as_username pinned to TLS 1.3; and ciphers limited to one
suite. mosquitto_pub/sub with --cafile across plain and TLS listeners, a
server certificate from an unknown CA refused by the client, client
certificates accepted, missing, from the wrong CA or revoked, paho with TLS
(a 300 KB message and 800 small ones at QoS 1 arrive whole and in order), a
client that sends half a ClientHello and stalls does not hold anyone up
and is closed at the CONNECT deadline, and bridges to Debian's mosquitto
over TLS (client certificate required there) carry messages both ways,
while one with the wrong bridge_cafile never connects."""
import os
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Mosquitto, check, free_port, paho_client, wait_for  # noqa: E402
from broker_tls import make_certs  # noqa: E402


def mosq(tool, port, certs, *args, cafile="ca.crt", cert=None, timeout=10):
    cmd = [tool, "-h", "127.0.0.1", "-p", str(port)]
    if cafile:
        cmd += ["--cafile", os.path.join(certs, cafile)]
    if cert:
        cmd += ["--cert", os.path.join(certs, cert + ".crt"),
                "--key", os.path.join(certs, cert + ".key")]
    cmd += list(args)
    if tool == "mosquitto_sub":
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


_nsub = [0]


def through(certs, sub_port, pub_port, topic, msg, sub_kw=None, pub_kw=None, broker=None):
    """mosquitto_sub on sub_port gets msg published on pub_port? With broker
    (the subscriber's mqbroker), the publisher waits for its CONNECT."""
    _nsub[0] += 1
    cid = f"sub-{_nsub[0]}"
    s = mosq("mosquitto_sub", sub_port, certs, "-i", cid, "-t", topic, "-C", "1", "-W", "8",
             "-q", "1", **(sub_kw or {}))
    if broker:
        wait_for(lambda: f" as {cid} " in broker.read_log(), what=f"{cid} connected")
        time.sleep(0.2)  # its SUBSCRIBE
    else:
        time.sleep(1)
    p = mosq("mosquitto_pub", pub_port, certs, "-t", topic, "-m", msg, "-q", "1",
             **(pub_kw or {}))
    out, err = s.communicate(timeout=10)
    return p.returncode == 0 and out.strip() == msg


def paho_tls(certs, port, cid):
    c = paho_client(cid)
    c.tls_set(ca_certs=os.path.join(certs, "ca.crt"))
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    return c


def client_hello():
    """The first flight of a real TLS client, taken from a memory BIO."""
    ctx = ssl.create_default_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tls_connects(port, certs, maxver=None):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    if maxver:
        ctx.maximum_version = maxver
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                return t.version()
    except (ssl.SSLError, OSError):
        return None


def main():
    certs = make_certs()
    c = lambda n: os.path.join(certs, n)  # noqa: E731
    p_tls, p_cert, p_subj, p_cipher = (free_port() for _ in range(4))
    conf = f"""
listener {p_tls} 127.0.0.1
certfile {c('server.crt')}
keyfile {c('server.key')}

listener {p_cert} 127.0.0.1
certfile {c('server.crt')}
keyfile {c('server.key')}
cafile {c('ca.crt')}
require_certificate true
use_identity_as_username true
crlfile {c('crl.pem')}

listener {p_subj} 127.0.0.1
certfile {c('server.crt')}
keyfile {c('server.key')}
capath {certs}
cafile {c('ca.crt')}
use_subject_as_username true
tls_version tlsv1.3

listener {p_cipher} 127.0.0.1
certfile {c('server.crt')}
keyfile {c('server.key')}
tls_version tlsv1.2
ciphers ECDHE-ECDSA-AES128-GCM-SHA256
"""
    with Broker(conf) as b:
        plain = b.port
        # Broker() waits for its first (plain) listener; the TLS ones open after it.
        wait_for(lambda: all(f"127.0.0.1:{p} (TLS)" in b.read_log()
                             for p in (p_tls, p_cert, p_subj, p_cipher)), what="TLS listeners")
        check(through(certs, p_tls, plain, "x/1", "plain-to-tls", pub_kw={"cafile": None}, broker=b),
              "mosquitto_pub on the plain listener reaches mosquitto_sub --cafile on TLS")
        check(through(certs, plain, p_tls, "x/2", "tls-to-plain", sub_kw={"cafile": None}, broker=b),
              "mosquitto_pub --cafile on TLS reaches mosquitto_sub on the plain listener")
        r = mosq("mosquitto_pub", p_tls, certs, "-t", "x", "-m", "m", cafile="other.crt")
        check(r.returncode != 0, "a client trusting another CA refuses the server")
        r = mosq("mosquitto_pub", plain, certs, "-t", "x", "-m", "m")
        check(r.returncode != 0, "TLS to the plain listener fails")

        # Client certificates: require_certificate, use_identity_as_username, crlfile.
        check(through(certs, p_cert, plain, "x/3", "alice", sub_kw={"cert": "alice"},
                      pub_kw={"cafile": None}, broker=b),
              "alice's certificate is accepted where one is required")
        wait_for(lambda: "u'alice'" in b.read_log(), what="alice in the log")
        check(True, "use_identity_as_username: the user name is the certificate's CN")
        r = mosq("mosquitto_pub", p_cert, certs, "-t", "x", "-m", "m")
        check(r.returncode != 0, "no client certificate: refused")
        r = mosq("mosquitto_pub", p_cert, certs, "-t", "x", "-m", "m", cert="mallory")
        check(r.returncode != 0, "a client certificate from another CA: refused")
        r = mosq("mosquitto_pub", p_cert, certs, "-t", "x", "-m", "m", cert="bob")
        check(r.returncode != 0, "a revoked client certificate (crlfile): refused")
        # The client may be gone before the broker has logged why.
        in_log = lambda t: wait_for(lambda: t in b.read_log(), what=repr(t))  # noqa: E731
        check(in_log("certificate revoked"), "the log says the certificate was revoked")
        check(in_log("TLS handshake failed"), "the log says why a handshake failed")
        r = mosq("mosquitto_pub", p_cert, certs, "-t", "x", "-m", "m", "-u", "root", "-P", "x",
                 cert="alice")
        check(r.returncode == 0 and "u'root'" not in b.read_log(),
              "the CONNECT's user name is replaced by the certificate's")

        # use_subject_as_username, TLS 1.3 only.
        check(through(certs, p_subj, plain, "x/4", "subj", sub_kw={"cert": "alice"},
                      pub_kw={"cafile": None}, broker=b),
              "use_subject_as_username listener (capath) takes alice")
        wait_for(lambda: "u'CN=alice,O=mqlb tests'" in b.read_log(), what="subject in the log")
        check(True, "use_subject_as_username: the user name is the RFC 2253 subject")
        r = mosq("mosquitto_pub", p_subj, certs, "-t", "x", "-m", "m")
        check(r.returncode != 0 and in_log("no client certificate"),
              "use_subject_as_username without require_certificate: no certificate, CONNACK 4")
        check(tls_connects(p_subj, certs) == "TLSv1.3", "tls_version tlsv1.3: 1.3 spoken")
        check(tls_connects(p_subj, certs, ssl.TLSVersion.TLSv1_2) is None,
              "tls_version tlsv1.3: a TLS 1.2-only client refused")
        check(tls_connects(p_cipher, certs) == "TLSv1.2", "tls_version tlsv1.2: 1.2 spoken")
        ctx = ssl.create_default_context(cafile=c("ca.crt"))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
        try:
            with socket.create_connection(("127.0.0.1", p_cipher), timeout=5) as s:
                ctx.wrap_socket(s, server_hostname="localhost").close()
            ok = False
        except ssl.SSLError:
            ok = True
        check(ok, "ciphers: a client without the listener's cipher refused")

        # paho with TLS: a big message and a burst, whole and in order.
        got = []
        sub = paho_tls(certs, p_tls, "paho-sub")
        sub.on_message = lambda cl, u, m: got.append(m.payload)
        done = []
        sub.on_subscribe = lambda *a: done.append(1)
        sub.subscribe("big/#", qos=1)
        wait_for(lambda: done, what="paho SUBACK over TLS")
        pub = paho_tls(certs, p_tls, "paho-pub")
        big = bytes((i * 7) & 0xff for i in range(300 * 1024))
        pub.publish("big/one", big, qos=1)
        for i in range(800):
            pub.publish("big/burst", b"%d" % i, qos=1)
        wait_for(lambda: len(got) >= 801, timeout=20, what=f"801 messages over TLS (got {len(got)})")
        check(got[0] == big, "paho over TLS: a 300 KB message arrives whole")
        check([int(x) for x in got[1:]] == list(range(800)) and len(got) == 801,
              "paho over TLS: 800 small QoS 1 messages in order, none lost")
        pub.disconnect()
        pub.loop_stop()
        sub.disconnect()
        sub.loop_stop()

        # Half a ClientHello, then silence: nobody waits for it.
        hello = client_hello()
        staller = socket.create_connection(("127.0.0.1", p_tls))
        staller.sendall(hello[:len(hello) // 2])
        t0 = time.time()
        check(through(certs, p_tls, p_tls, "x/5", "not-blocked", broker=b),
              "a stalled handshake does not block another TLS client")
        check(time.time() - t0 < 4, "the other client was served at once")
        staller.settimeout(10)
        try:
            closed = staller.recv(100) == b""
        except ConnectionResetError:
            closed = True
        check(closed and time.time() - t0 < 9, "the staller is closed at the CONNECT deadline")
        staller.close()
        check(b.alive(), "mqbroker still running")

    # Bridges over TLS to Debian's mosquitto, which wants a client certificate.
    mconf = (f"cafile {c('ca.crt')}\ncertfile {c('server.crt')}\nkeyfile {c('server.key')}\n"
             "require_certificate true\n")
    with Mosquitto(mconf) as m:
        bconf = f"""
connection good
address 127.0.0.1:{m.port}
topic up/# out 1
topic down/# in 1
bridge_cafile {c('ca.crt')}
bridge_certfile {c('alice.crt')}
bridge_keyfile {c('alice.key')}
restart_timeout 1

connection badca
address 127.0.0.1:{m.port}
topic never/# out 1
bridge_cafile {c('other.crt')}
restart_timeout 1
"""
        with Broker(bconf) as b:
            wait_for(lambda: "bridge good: connected" in b.read_log() or
                     "good" in b.read_log() and "CONNACK" in b.read_log(), timeout=10,
                     what="the TLS bridge to come up")
            time.sleep(0.5)
            ms = mosq("mosquitto_sub", m.port, certs, "-t", "up/#", "-C", "1", "-W", "5",
                      cert="alice")
            time.sleep(0.5)
            mosq("mosquitto_pub", b.port, certs, "-t", "up/a", "-m", "to-mosquitto", "-q", "1",
                 cafile=None)
            out, _ = ms.communicate(timeout=10)
            check(out.strip() == "to-mosquitto", "mqbroker -> mosquitto over a TLS bridge")
            check(through(certs, b.port, m.port, "down/b", "from-mosquitto",
                          sub_kw={"cafile": None}, pub_kw={"cert": "alice"}, broker=b),
                  "mosquitto -> mqbroker over the TLS bridge")
            wait_for(lambda: "certificate verify failed" in b.read_log(), what="badca refused")
            log = b.read_log()
            check("bridge badca" in log and "certificate verify failed" in log,
                  "a bridge with the wrong bridge_cafile refuses the remote")
            check(b.alive(), "mqbroker still running")

    # A TLS bridge whose remote accepts and never answers the ClientHello: the
    # bridge waits for input without spinning on a writable socket.
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    bconf = (f"connection mute\naddress 127.0.0.1:{silent.getsockname()[1]}\ntopic a/# out 0\n"
             f"bridge_cafile {c('ca.crt')}\nrestart_timeout 30\n")
    with Broker(bconf) as b:
        peer, _ = silent.accept()
        time.sleep(0.3)

        def cpu_s():
            with open(f"/proc/{b.proc.pid}/stat") as f:
                v = f.read().rsplit(")", 1)[1].split()
            return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
        t0 = cpu_s()
        time.sleep(2)
        used = cpu_s() - t0
        check(used < 0.5, f"a TLS bridge waiting for the server's hello does not spin ({used:.2f} s CPU in 2 s)")
        peer.close()
    silent.close()

    # Configuration mistakes stop the start with the reason.
    for bad, why in ((f"listener {free_port()}\nkeyfile {c('server.key')}\n",
                      "certfile and keyfile go together"),
                     (f"listener {free_port()}\ncertfile {c('server.crt')}\n"
                      f"keyfile {c('alice.key')}\n", "key values mismatch"),
                     (f"listener {free_port()}\ncertfile {c('server.crt')}\n"
                      f"keyfile {c('server.key')}\ntls_version sslv3\n",
                      "tls_version must be")):
        try:
            # Its plain listener may answer before the TLS one fails: wait for the exit.
            with Broker(bad) as bb:
                bb.proc.wait(10)
                ok = why in bb.read_log()
        except RuntimeError as e:
            ok = why in str(e)
        check(ok, f"refused at start: {why}")
    print("PASS")


if __name__ == "__main__":
    main()
