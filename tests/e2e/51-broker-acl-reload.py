#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Access control and SIGHUP with real clients.

acl_file allow and deny with mosquitto_pub/sub and paho; per_listener_settings
with two listeners, each its own password file and ACL; an IPv6 listener on
::1 beside an IPv4 one; then SIGHUP, as logrotate sends it: the ACL and the
password file are read again and apply at once, no client is dropped, a bad
ACL file or a missing password file keeps the previous one with the reason
in the log, and log_dest file is reopened after the file was moved away.
Last, listener_allow_anonymous: one listener open to anonymous clients, the
other closed by allow_anonymous false, one password file for both."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import (MQBROKER, Broker, Raw, _dirs, check, free_port, paho_client,  # noqa: E402
                        wait_for)


def passwd(path, *users):
    for i, (u, p) in enumerate(users):
        subprocess.run(["mosquitto_passwd"] + (["-c"] if i == 0 else []) + ["-b", path, u, p],
                       check=True, capture_output=True)


def sub_one(port, user, pw, topic, host="127.0.0.1", wait=3):
    """mosquitto_sub for one message; its text, or None when none came."""
    cmd = ["mosquitto_sub", "-h", host, "-p", str(port), "-t", topic, "-C", "1", "-W", str(wait),
           "-q", "1"]
    if user:
        cmd += ["-u", user, "-P", pw]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pub(port, user, pw, topic, msg, host="127.0.0.1", retain=False):
    cmd = ["mosquitto_pub", "-h", host, "-p", str(port), "-t", topic, "-m", msg, "-q", "1"]
    if user:
        cmd += ["-u", user, "-P", pw]
    if retain:
        cmd.append("-r")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10)


def through(port, user, pw, topic, msg, host="127.0.0.1", sub_user=None, sub_pw=None):
    """Does msg published by user reach a subscriber (sub_user) on topic?"""
    s = sub_one(port, sub_user or user, sub_pw or pw, topic, host)
    time.sleep(0.4)
    p = pub(port, user, pw, topic, msg, host)
    out, _ = s.communicate(timeout=10)
    return p.returncode == 0 and out.strip() == msg


def main():
    d = tempfile.mkdtemp(prefix="mqbroker-acl-")
    _dirs.append(d)  # removed at exit, on every path (broker_lib's atexit)
    pw1, pw2, acl1, acl2 = (os.path.join(d, n) for n in ("pw1", "pw2", "acl1", "acl2"))
    log = os.path.join(d, "broker.log")
    passwd(pw1, ("alice", "a-pw"), ("bob", "b-pw"))
    passwd(pw2, ("carol", "c-pw"))
    with open(acl1, "w") as f:
        f.write("user alice\ntopic readwrite sensors/#\ntopic deny sensors/secret\n"
                "user bob\ntopic read sensors/#\ntopic write cmd/#\n"
                "pattern readwrite home/%u/#\n")
    with open(acl2, "w") as f:
        f.write("user carol\ntopic readwrite #\n")
    p6 = free_port()
    conf = (f"per_listener_settings true\nlog_dest file {log}\nlog_dest stderr\n"
            f"allow_anonymous false\npassword_file {pw1}\nacl_file {acl1}\n"
            f"listener {p6} ::1\nallow_anonymous false\npassword_file {pw2}\nacl_file {acl2}\n")
    # Broker() writes 'listener PORT 127.0.0.1' first: with per_listener_settings the options
    # after it are that block's, those after 'listener P6 ::1' the IPv6 block's.
    with Broker(conf) as b:
        port = b.port
        check(through(port, "alice", "a-pw", "sensors/t", "21.5", sub_user="bob", sub_pw="b-pw"),
              "alice writes sensors/t, bob reads it")
        check(not through(port, "bob", "b-pw", "sensors/t", "x", sub_user="alice",
                          sub_pw="a-pw"), "bob may not write sensors/t: dropped")
        check(not through(port, "alice", "a-pw", "sensors/secret", "s", sub_user="alice",
                          sub_pw="a-pw"), "deny: sensors/secret neither written nor read")
        check(through(port, "alice", "a-pw", "home/alice/lamp", "on"),
              "pattern home/%u/#: alice's own")
        check(not through(port, "bob", "b-pw", "home/alice/lamp", "off", sub_user="alice",
                          sub_pw="a-pw"), "pattern: bob may not write alice's")
        r = Raw(port)
        check(r.connect("anon") == (0, 5), "anonymous refused on the IPv4 listener (CONNACK 5)")
        r.close()
        # The IPv6 listener: its own users and ACL.
        c6 = socket.create_connection(("::1", p6), timeout=3)
        c6.close()
        check(True, f"listener {p6} ::1 accepts IPv6")
        check(through(p6, "carol", "c-pw", "any/thing", "v6", host="::1"),
              "carol, a user of the IPv6 listener's file, reads and writes there")
        rc = pub(p6, "alice", "a-pw", "x", "y", host="::1").returncode
        check(rc != 0, "alice is not a user of the IPv6 listener (per_listener_settings)")
        check("new client connected from [::1]:" in b.read_log(), "IPv6 peers logged as [::1]:port")

        # A client that stays connected across every reload below.
        keep = paho_client("keeper")
        got = []
        keep.on_message = lambda c, u, m: got.append(m.payload.decode())
        keep.username_pw_set("bob", "b-pw")
        keep.connect("127.0.0.1", port, 60)
        keep.loop_start()
        keep.subscribe("sensors/#", 1)
        time.sleep(0.3)

        # 1. ACL change: bob loses read on sensors/#, gains it on other/#.
        with open(acl1, "w") as f:
            f.write("user alice\ntopic readwrite sensors/#\ntopic readwrite other/#\n"
                    "user bob\ntopic read other/#\n")
        os.kill(b.proc.pid, signal.SIGHUP)
        wait_for(lambda: f"reload: acl_file {acl1}: 3 rules" in b.read_log(), what="acl reload")
        check(True, "SIGHUP: acl_file read again (3 rules)")
        check(pub(port, "alice", "a-pw", "sensors/t", "after").returncode == 0, "alice publishes")
        time.sleep(0.5)
        check("after" not in got, "the connected bob no longer reads sensors/# (at once)")
        check(keep.is_connected(), "and bob was not disconnected")
        keep.subscribe("other/#", 1)
        time.sleep(0.3)
        pub(port, "alice", "a-pw", "other/1", "fresh")
        wait_for(lambda: "fresh" in got, what="other/1 to bob")
        check(True, "bob reads other/# without reconnecting")

        # 2. A bad ACL file: the previous rules stay, the reason is logged.
        with open(acl1, "w") as f:
            f.write("user alice\ntopic sometimes sensors/#\n")
        os.kill(b.proc.pid, signal.SIGHUP)
        wait_for(lambda: "keeping the acl_file loaded before" in b.read_log(), what="bad acl")
        check(f"{acl1}:2: invalid topic access type 'sometimes'" in b.read_log(),
              "the bad line is named FILE:LINE in the log")
        pub(port, "alice", "a-pw", "other/2", "still")
        wait_for(lambda: "still" in got, what="old rules still in force")
        check(True, "the old rules are still in force")

        # 3. Password file: a new user, then the file removed (kept, logged).
        passwd(pw1, ("alice", "a-pw"), ("bob", "b-pw"), ("dave", "d-pw"))
        with open(acl1, "w") as f:
            f.write("user alice\ntopic readwrite other/#\nuser bob\ntopic read other/#\n"
                    "user dave\ntopic readwrite other/#\n")
        r = Raw(port)
        check(r.connect("dave1", user="dave", password="d-pw") == (0, 5),
              "dave unknown before the reload")
        r.close()
        os.kill(b.proc.pid, signal.SIGHUP)
        wait_for(lambda: f"reload: password_file {pw1}: 3 users" in b.read_log(),
                 what="pw reload")
        r = Raw(port)
        check(r.connect("dave2", user="dave", password="d-pw") == (0, 0),
              "dave logs in after SIGHUP")
        r.close()
        os.rename(pw1, pw1 + ".gone")
        os.kill(b.proc.pid, signal.SIGHUP)
        wait_for(lambda: "keeping the password_file loaded before" in b.read_log(),
                 what="missing pw")
        check(f"{pw1}: No such file or directory" in b.read_log(), "the reason is logged")
        r = Raw(port)
        check(r.connect("dave3", user="dave", password="d-pw") == (0, 0),
              "the previous password file is still in force")
        r.close()

        # 4. logrotate: the log is moved away, SIGHUP, a new file is written.
        os.rename(log, log + ".1")
        os.kill(b.proc.pid, signal.SIGHUP)
        wait_for(lambda: os.path.exists(log), what="new log file")
        r = Raw(port)
        r.connect("after-rotate", user="alice", password="a-pw")
        r.close()
        wait_for(lambda: "as after-rotate" in open(log).read(), what="line in the new file")
        check("log_dest file" in open(log).read(), "the reopened file has the reload line")
        check("as after-rotate" not in open(log + ".1").read(), "the moved file gets no more")
        check(keep.is_connected(), "bob stayed connected through four SIGHUPs")
        keep.loop_stop()
        keep.disconnect()
        check(b.alive(), "broker alive")

    # listener_allow_anonymous: one listener's own answer, without per_listener_settings.
    p2, pw3 = free_port(), os.path.join(d, "pw3")
    passwd(pw3, ("alice", "a-pw"))
    conf = (f"listener_allow_anonymous true\nlistener {p2} 127.0.0.1\n"
            f"allow_anonymous false\npassword_file {pw3}\n")
    with Broker(conf) as b:
        r = Raw(b.port)
        check(r.connect("local-anon") == (0, 0),
              "listener_allow_anonymous true: anonymous in on its listener")
        r.close()
        r = Raw(p2)
        check(r.connect("public-anon") == (0, 5), "the other listener: allow_anonymous false")
        r.close()
        r = Raw(p2)
        check(r.connect("public-alice", user="alice", password="a-pw") == (0, 0),
              "and a user of the shared password file in there")
        r.close()
    bad = os.path.join(d, "bad.conf")
    with open(bad, "w") as f:
        f.write("listener 1883\nlistener_allow_anonymous perhaps\n")
    out = subprocess.run([MQBROKER, "-t", "-c", bad],
                         capture_output=True, text=True)
    check(out.returncode != 0 and f"{bad}:2:" in out.stderr and "true or false" in out.stderr,
          "listener_allow_anonymous perhaps: refused with FILE:LINE")


main()
