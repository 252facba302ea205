#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Sum mqlb's per-CPU counters from pinned maps (bpftool -j), for tests and the demo.

    mapsum.py stats PIN_DIR              non-zero global counters, "name value"
    mapsum.py backends PIN_DIR           per backend id: flows_total pkts/bytes in/out
    mapsum.py stat PIN_DIR NAME          one counter's value
"""
import json
import os
import re
import subprocess
import sys

ABI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../include/mqlb_abi.h")


def dump(pin, name):
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", os.path.join(pin, name)],
                         check=True, capture_output=True, text=True).stdout
    return [e["formatted"] for e in json.loads(out)]


def stat_names():
    """The names in enum order, from the ABI's X-macro list MQLB_STATS."""
    return re.findall(r'^\tX\(\w+, (\w+)\)', open(ABI).read(), re.M)


def summed_stats(pin):
    names = stat_names()
    return {names[e["key"]]: sum(v["value"] for v in e["values"]) for e in dump(pin, "stats")}


def main():
    cmd, pin = sys.argv[1], sys.argv[2]
    if cmd == "stats":
        for k, v in summed_stats(pin).items():
            if v:
                print("%-22s %d" % (k, v))
    elif cmd == "stat":
        print(summed_stats(pin)[sys.argv[3]])
    elif cmd == "backends":
        for e in dump(pin, "backend_stats"):
            tot = {}
            for v in e["values"]:
                for k, x in v["value"].items():
                    tot[k] = tot.get(k, 0) + x
            if any(tot.values()):
                print("%d %s" % (e["key"], " ".join("%s=%d" % kv for kv in tot.items())))
    else:
        sys.exit("usage: mapsum.py stats|stat|backends PIN_DIR [NAME]")


if __name__ == "__main__":
    main()
