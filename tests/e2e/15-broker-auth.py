#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""password_file, with a file written by mosquitto_passwd: the right password
gets CONNACK 0 and pub/sub works (raw, mosquitto_pub/sub, paho); a wrong or
missing password, an unknown user, and no user name when allow_anonymous is
false all get CONNACK 5 (not authorised), as Mosquitto 2.0 answers 3.1/3.1.1
clients; with allow_anonymous true anonymous clients get in but a user name
must still authenticate. A bridge connecting in authenticates like any
client. Bad password files stop the start with FILE:LINE."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (MQBROKER, Broker, Raw, check, connect_pkt, paho_client,  # noqa: E402
                        parse_publish, subscribe_pkt, wait_for)

ALICE, ALICE_PW = "alice", "correct horse"
BOB, BOB_PW = "bob", "hunter2"  # the older $6$ (sha512) hash
WRONG_PW = "Tr0ub4dor&3"


def passwd_file(d):
    path = os.path.join(d, "passwd")
    subprocess.run(["mosquitto_passwd", "-c", "-b", path, ALICE, ALICE_PW], check=True)
    subprocess.run(["mosquitto_passwd", "-H", "sha512", "-b", path, BOB, BOB_PW], check=True)
    with open(path) as f:
        text = f.read()
    check(f"{ALICE}:$7$101$" in text and f"{BOB}:$6$" in text,
          "mosquitto_passwd wrote a $7$ and a $6$ hash")
    return path


def raw_rc(port, what, expect_rc, **kw):
    r = Raw(port)
    sp, rc = r.connect(kw.pop("cid", "raw"), **kw)
    check(rc == expect_rc, f"{what}: CONNACK {expect_rc} (got {rc})")
    if rc:
        check(r.closed(), f"{what}: closed after the refusal")
    else:
        r.send(bytes([0xc0, 0]))
        check(r.recv() == (0xd0, b""), f"{what}: PINGREQ answered")
    r.close()


def paho_rc(port, user=None, pw=None):
    c = paho_client()
    res = {}
    if user is not None:
        c.username_pw_set(user, pw)
    c.on_connect = lambda cl, u, flags, rc: res.setdefault("rc", rc)
    c.connect("127.0.0.1", port, 60)
    c.loop_start()
    try:
        wait_for(lambda: "rc" in res, what="paho CONNACK")
    finally:
        c.disconnect()
        c.loop_stop()
    return res["rc"]


def paho_pubsub(port, sub_auth, pub_auth, topic):
    """A paho subscriber and a paho publisher, each with its credentials (or None)."""
    got, subd = [], []
    sub, pub = paho_client(), paho_client()
    for c, auth in ((sub, sub_auth), (pub, pub_auth)):
        if auth:
            c.username_pw_set(*auth)
    sub.on_message = lambda c, u, m: got.append(m.payload)
    sub.on_subscribe = lambda c, u, mid, granted: subd.append(granted)
    sub.connect("127.0.0.1", port, 60)
    sub.loop_start()
    sub.subscribe(topic, 1)
    wait_for(lambda: subd, what="SUBACK")
    pub.connect("127.0.0.1", port, 60)
    pub.loop_start()
    pub.publish(topic, b"p1", qos=1).wait_for_publish()
    try:
        wait_for(lambda: got == [b"p1"], what="paho message")
    finally:
        for c in (sub, pub):
            c.disconnect()
            c.loop_stop()
    return True


def mosq_pub(port, user, pw, topic, msg, retain=False):
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic, "-m", msg]
    if user is not None:
        cmd += ["-u", user, "-P", pw]
    if retain:
        cmd.append("-r")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10)


def mosq_sub_one(port, user, pw, topic):
    cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-C", "1",
           "-W", "5", "-u", user, "-P", pw]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10)


def startup_error(conf, cwd=None, args=()):
    with tempfile.TemporaryDirectory(prefix="mqbroker-auth-") as d:
        path = os.path.join(d, "bad.conf")
        with open(path, "w") as f:
            f.write(conf)
        p = subprocess.run([MQBROKER, *args, "-c", path], capture_output=True, text=True,
                           timeout=5, cwd=cwd)
    return p.returncode, p.stdout + p.stderr


def main():
    d = tempfile.mkdtemp(prefix="mqbroker-auth-")
    atexit.register(shutil.rmtree, d, True)
    pw = passwd_file(d)

    with Broker(f"sys_interval 0\nallow_anonymous false\npassword_file {pw}") as b:
        raw_rc(b.port, "alice, right password ($7$)", 0, user=ALICE, password=ALICE_PW)
        raw_rc(b.port, "bob, right password ($6$)", 0, user=BOB, password=BOB_PW)
        raw_rc(b.port, "MQTT 3.1, right password", 0, user=ALICE, password=ALICE_PW, level=3,
               name="MQIsdp")
        raw_rc(b.port, "alice, wrong password", 5, user=ALICE, password=WRONG_PW)
        raw_rc(b.port, "alice, bob's password", 5, user=ALICE, password=BOB_PW)
        raw_rc(b.port, "alice, no password", 5, user=ALICE)
        raw_rc(b.port, "alice, empty password", 5, user=ALICE, password="")
        raw_rc(b.port, "unknown user", 5, user="mallory", password=ALICE_PW)
        raw_rc(b.port, "user name case matters", 5, user="Alice", password=ALICE_PW)
        raw_rc(b.port, "MQTT 3.1, wrong password", 5, user=ALICE, password=WRONG_PW, level=3,
               name="MQIsdp")
        raw_rc(b.port, "no user name, allow_anonymous false", 5)
        r = Raw(b.port)
        r.send(connect_pkt("pw-only", password=ALICE_PW))
        check(r.closed(), "password flag without user name: closed without CONNACK")

        # A refused client must not take over the session of the real one.
        a = Raw(b.port)
        check(a.connect("owned", user=ALICE, password=ALICE_PW)[1] == 0, "alice connected")
        raw_rc(b.port, "same id, wrong password", 5, cid="owned", user=ALICE, password=WRONG_PW)
        a.send(bytes([0xc0, 0]))
        check(a.recv() == (0xd0, b""), "refused client did not take the session over")
        a.close()

        res = mosq_pub(b.port, ALICE, ALICE_PW, "auth/retained", "hello", retain=True)
        check(res.returncode == 0, f"mosquitto_pub -u alice: accepted ({res.stderr.strip()})")
        res = mosq_sub_one(b.port, BOB, BOB_PW, "auth/retained")
        check(res.returncode == 0 and res.stdout.strip() == "hello",
              f"mosquitto_sub -u bob gets alice's message ({res.stdout!r} {res.stderr.strip()})")
        res = mosq_pub(b.port, ALICE, WRONG_PW, "auth/x", "no")
        check(res.returncode != 0 and "not authorised" in res.stderr,
              f"mosquitto_pub wrong password: 'not authorised' ({res.stderr.strip()})")
        res = mosq_pub(b.port, "mallory", ALICE_PW, "auth/x", "no")
        check(res.returncode != 0 and "not authorised" in res.stderr,
              "mosquitto_pub unknown user: 'not authorised'")
        res = mosq_pub(b.port, None, None, "auth/x", "no")
        check(res.returncode != 0 and "not authorised" in res.stderr,
              f"mosquitto_pub without credentials: 'not authorised' ({res.stderr.strip()})")

        check(paho_rc(b.port, ALICE, ALICE_PW) == 0, "paho alice: rc 0")
        check(paho_rc(b.port, ALICE, WRONG_PW) == 5, "paho wrong password: rc 5")
        check(paho_rc(b.port, "mallory", "x") == 5, "paho unknown user: rc 5")
        check(paho_rc(b.port) == 5, "paho without credentials: rc 5")
        check(paho_pubsub(b.port, (ALICE, ALICE_PW), (BOB, BOB_PW), "auth/paho"),
              "paho pub/sub between authenticated clients")

        time.sleep(0.2)
        log = b.read_log()
        check(f"wrong password for user '{ALICE}' (CONNACK 5)" in log, "wrong password logged")
        check("unknown user 'mallory' (CONNACK 5)" in log, "unknown user logged")
        check(f"no password for user '{ALICE}' (CONNACK 5)" in log, "missing password logged")
        check("anonymous clients not allowed (CONNACK 5)" in log, "anonymous refusal logged")
        check(f"u'{BOB}')" in log, "accepted clients logged with their user name")
        check(WRONG_PW not in log and ALICE_PW not in log and BOB_PW not in log,
              "no password in the log")
        check(b.alive(), "broker still running")

    with Broker(f"sys_interval 0\nallow_anonymous true\npassword_file {pw}") as b:
        raw_rc(b.port, "allow_anonymous true: anonymous accepted", 0)
        raw_rc(b.port, "allow_anonymous true: alice, right password", 0, user=ALICE,
               password=ALICE_PW)
        raw_rc(b.port, "allow_anonymous true: wrong password still refused", 5, user=ALICE,
               password=WRONG_PW)
        raw_rc(b.port, "allow_anonymous true: unknown user still refused", 5, user="mallory",
               password="x")
        check(paho_rc(b.port) == 0, "paho anonymous: rc 0")
        check(paho_rc(b.port, ALICE, WRONG_PW) == 5, "paho wrong password: rc 5")
        check(paho_pubsub(b.port, None, (ALICE, ALICE_PW), "auth/anon"),
              "paho pub/sub, anonymous subscriber, authenticated publisher")

    # A relative path is opened from the working directory, as Mosquitto does.
    with Broker("sys_interval 0\nallow_anonymous false\npassword_file passwd",
                preexec_fn=lambda: os.chdir(d)) as b:
        raw_rc(b.port, "relative password_file from the working directory", 0, user=BOB,
               password=BOB_PW)

    # A bridge connecting to this broker is a client like any other: it authenticates.
    with Broker(f"sys_interval 0\nallow_anonymous false\npassword_file {pw}") as remote:
        sub = Raw(remote.port)
        check(sub.connect("bridge-sub", user=ALICE, password=ALICE_PW)[1] == 0,
              "subscriber on the remote")
        sub.send(subscribe_pkt(1, ("br/#", 0)))
        check(sub.recv()[0] == 0x90, "SUBACK")
        conf = (f"connection good\naddress 127.0.0.1:{remote.port}\ntopic br/# out 0\n"
                f"remote_username {BOB}\nremote_password {BOB_PW}\n")
        with Broker(conf) as local:
            wait_for(lambda: "connected (session" in local.read_log(), timeout=10,
                     what="bridge up")
            c = paho_client()
            c.connect("127.0.0.1", local.port)
            c.loop_start()
            c.publish("br/x", b"over", qos=1).wait_for_publish()
            c.disconnect()
            c.loop_stop()
            while True:
                first, body = sub.recv()
                if first >> 4 == 3:
                    break
            m = parse_publish(first, body)
            check((m["topic"], m["payload"]) == ("br/x", b"over"),
                  "bridge with remote_username/remote_password: message crosses")
        sub.close()
        conf = (f"connection bad\naddress 127.0.0.1:{remote.port}\ntopic br/# out 0\n"
                f"remote_username {BOB}\nremote_password {WRONG_PW}\n")
        with Broker(conf) as local:
            check(wait_for(lambda: "refused by the remote (CONNACK 5)" in local.read_log(),
                           timeout=10, what="bridge refused"),
                  "bridge with a wrong remote_password: CONNACK 5")
        conf = f"connection anon\naddress 127.0.0.1:{remote.port}\ntopic br/# out 0\n"
        with Broker(conf) as local:
            check(wait_for(lambda: "refused by the remote (CONNACK 5)" in local.read_log(),
                           timeout=10, what="bridge refused"),
                  "bridge without remote_username: CONNACK 5")
        check(f"wrong password for user '{BOB}'" in remote.read_log(),
              "remote logged the bridge's wrong password")

    missing = os.path.join(d, "nope")
    rc, out = startup_error(f"password_file {missing}\n")
    check(rc == 1 and f"{missing}: No such file or directory" in out,
          f"missing password file refused ({out.strip()})")
    plain = os.path.join(d, "plain")
    with open(plain, "w") as f:
        f.write(f"# plain text, as mosquitto 1.x allowed\n{ALICE}:{ALICE_PW}\n")
    # As Mosquitto: a line that is no valid entry is skipped with a warning, the rest loads.
    rc, out = startup_error(f"password_file {plain}\n", args=("-t",))
    check(rc == 0 and f"{plain}:2: bad password hash for user '{ALICE}': not a $7$ or $6$ hash"
          in out and "line skipped" in out,
          f"plain-text password skipped with a FILE:LINE warning ({out.strip()})")
    check(ALICE_PW not in out, "the plain-text password is not echoed")
    with Broker(f"allow_anonymous false\npassword_file {plain}") as b:
        raw_rc(b.port, "the skipped user cannot log in", 5, user=ALICE, password=ALICE_PW)
    dup = os.path.join(d, "dup")
    with open(pw) as src, open(dup, "w") as f:
        lines = src.read()
        f.write(lines + lines)
    rc, out = startup_error(f"password_file {dup}\n", args=("-t",))
    check(rc == 0 and f"{dup}:3: duplicate user '{ALICE}' (first on line 1): line skipped" in out,
          f"a user listed again: the later line skipped ({out.strip()})")
    rc, out = startup_error("password_file passwd\n", cwd="/")
    check(rc == 1 and "passwd: No such file or directory" in out,
          "relative path resolved from the working directory, not the config's")


if __name__ == "__main__":
    main()
