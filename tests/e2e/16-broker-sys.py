#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""$SYS/broker/... topics, retained, refreshed every sys_interval, not
matched by '#', with counts that follow what happened."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_lib import Broker, Collector, check, wait_for  # noqa: E402

TOPICS = ["version", "uptime", "clients/connected", "clients/total", "clients/disconnected",
          "clients/maximum", "messages/received", "messages/sent", "publish/messages/received",
          "publish/messages/sent", "publish/messages/dropped", "bytes/received", "bytes/sent",
          "subscriptions/count", "retained messages/count"]


def main():
    with Broker("sys_interval 1") as b:
        hold = Collector(b.port, [("x/#", 1), ("y", 0)], cid="holder")
        subprocess.run(["mosquitto_pub", "-p", str(b.port), "-h", "127.0.0.1", "-t", "x/1", "-m", "hi",
                        "-q", "1"], check=True, timeout=10)
        time.sleep(1.3)
        col = Collector(b.port, [("$SYS/#", 0)], cid="sys")
        wait_for(lambda: len({m.topic for m in col.msgs}) >= len(TOPICS), what="all $SYS topics")
        vals = {m.topic[len("$SYS/broker/"):]: m.payload.decode() for m in col.msgs}
        missing = [t for t in TOPICS if t not in vals]
        check(not missing, f"$SYS topics present (missing: {missing})")
        check(all(m.retain for m in col.msgs[:len(TOPICS)]), "$SYS values are retained")
        check(vals["version"].startswith("mqbroker version "), f"version: {vals['version']}")
        check(vals["uptime"].endswith(" seconds"), f"uptime: {vals['uptime']}")
        check(int(vals["clients/connected"]) >= 1, f"clients connected: {vals['clients/connected']}")
        check(int(vals["subscriptions/count"]) >= 2, f"subscriptions: {vals['subscriptions/count']}")
        check(int(vals["publish/messages/received"]) >= 1, "publish received counted")
        check(int(vals["bytes/received"]) > 0 and int(vals["bytes/sent"]) > 0, "bytes counted")
        n = len(col.msgs)
        wait_for(lambda: len(col.msgs) >= n + len(TOPICS), timeout=3, what="next $SYS round")
        check(True, "$SYS republished every sys_interval")
        col.stop()
        wild = Collector(b.port, [("#", 0)], cid="wild")
        time.sleep(1.5)
        check(not any(m.topic.startswith("$") for m in wild.msgs), "'#' does not receive $SYS")
        wild.stop()
        hold.stop()
        check(b.alive(), "broker still running")

    # log_dest topic: log lines become messages on $SYS/broker/log
    with Broker("sys_interval 0\nlog_dest topic\nconnection_messages true") as b:
        logs = Collector(b.port, [("$SYS/broker/log", 0)], cid="logger")
        subprocess.run(["mosquitto_pub", "-p", str(b.port), "-h", "127.0.0.1", "-i", "hello-log",
                        "-t", "x", "-m", "y"], check=True, timeout=10)
        wait_for(lambda: any(b"as hello-log" in m.payload for m in logs.msgs), what="log line on topic")
        check(True, "log_dest topic publishes log lines on $SYS/broker/log")
        check("as hello-log" not in b.read_log(), "log_dest topic alone: nothing on stderr")
        logs.stop()


if __name__ == "__main__":
    main()
