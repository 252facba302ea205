#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""N paho MQTT clients with automatic reconnection, for failover tests.

    mqtt_reconnect.py --target IP:PORT --count N --hold SECONDS [--ready-file F]

Each client connects through the target (MQTT 3.1.1, keep-alive 60 s, so
that nothing but the balancer can make it notice a dead broker quickly) and
reconnects every second after a loss, as mosquitto_sub does. Writes
"connected N" to the ready file once all are connected, then keeps them
until --hold seconds pass or SIGTERM, and prints how many losses it saw.
"""
import argparse
import os
import signal
import sys
import threading
import time

import paho.mqtt.client as mqtt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--hold", type=float, default=60)
    ap.add_argument("--ready-file", default="")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)

    lock = threading.Lock()
    state = {"connected": set(), "losses": 0}

    def on_connect(c, userdata, flags, rc):
        if rc == 0:
            with lock:
                state["connected"].add(userdata)

    def on_disconnect(c, userdata, rc):
        with lock:
            state["connected"].discard(userdata)
            state["losses"] += 1

    clients = []
    for i in range(a.count):
        c = mqtt.Client(client_id="mqlbt-rc-%d-%d" % (os.getpid(), i), userdata=i,
                        clean_session=True)
        c.reconnect_delay_set(min_delay=1, max_delay=1)
        c.on_connect = on_connect
        c.on_disconnect = on_disconnect
        c.connect_async(host, int(port), keepalive=60)
        c.loop_start()
        clients.append(c)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = time.monotonic() + 30
    while len(state["connected"]) < a.count and time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.05)
    line = "connected %d/%d" % (len(state["connected"]), a.count)
    print(line, flush=True)
    if a.ready_file:
        with open(a.ready_file + ".tmp", "w") as f:
            f.write(line + "\n")
        os.rename(a.ready_file + ".tmp", a.ready_file)
    stop.wait(a.hold)
    for c in clients:
        c.disconnect()
        c.loop_stop()
    print("losses %d, connected at exit %d" % (state["losses"], len(state["connected"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
