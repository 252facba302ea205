#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make bench's report: medians over rounds, per-round ratios, gnuplot PNGs.

    report.py RESULTS_DIR     reads raw.jsonl and meta.txt, writes report.md and *.png

CPU figures come from mqbench's own samples over its measured window: the
run's CPU = its processes (/proc/PID/stat: mqbench, brokers, balancer, mqlbd,
ksoftirqd), whose times include the softirq work done while they ran (tick
accounting charges it to the current task), falling back to the whole
machine's busy time in older results; balancer = HAProxy's process, or mqlb's
XDP program run time (kernel.bpf_stats_enabled) plus mqlbd's process. "Added" CPU is the run's CPU
per connection minus the no-balancer limit's (clients spreading themselves
over the brokers) in the same round.
"""
import json
import os
import statistics
import subprocess
import sys

VARIANTS = ["direct1", "spread", "haproxy", "nftables", "mqlb-native", "mqlb-generic",
            "haproxy-cid", "mqlb-cid"]
DESC = {
    "direct1": "straight to broker1",
    "spread": "clients spread over 3 brokers (no-balancer limit)",
    "haproxy": "HAProxy, the study's config (mode tcp, roundrobin)",
    "nftables": "nftables DNAT numgen inc mod 3 + SNAT",
    "mqlb-native": "mqlb, native XDP",
    "mqlb-generic": "mqlb, generic XDP",
    "haproxy-cid": "HAProxy choosing by client id (inspect delay, balance hash on "
                   "mqtt_field_value(connect,client_identifier), hash-type consistent)",
    "mqlb-cid": "mqlb, balance client-id (SYN cookies, delayed binding, translated), native XDP",
}
REF = "spread"
BROKERS = ["mosquitto", "mqbroker"]


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec=",.0f", none="–"):
    return none if v is None else format(v, spec)


class Data:
    def __init__(self, rows):
        self.rows = rows
        self.rounds = sorted({r["round"] for r in rows})
        # the balancer variants this run measured, in the report's order
        seen = {r["variant"] for r in rows if r["kind"] == "lb"}
        self.variants = [v for v in VARIANTS if v in seen]

    def get(self, kind, variant, workload, rnd):
        for r in self.rows:
            if (r["kind"], r["variant"], r["workload"], r["round"]) == (kind, variant, workload, rnd):
                return r["r"]
        return None

    def per_round(self, kind, variant, workload, fn):
        out = []
        for rnd in self.rounds:
            r = self.get(kind, variant, workload, rnd)
            try:
                out.append(fn(r, rnd) if r else None)
            except (KeyError, ZeroDivisionError, TypeError):
                out.append(None)
        return out


def per_k(r, key):
    """ms of CPU per 1,000 counted events (= µs per event)."""
    if key == "cpu":
        # the run's own CPU (its processes) where mqbench measured it
        key = "run_cpu_ms" if "run_cpu_ms" in r else "machine_cpu_ms"
    if key not in r or not r["count"]:
        return None
    return r[key] / r["count"] * 1000


def bal_ms(r):
    """The balancer's own CPU in ms: HAProxy's process; mqlb's XDP program run time plus mqlbd."""
    parts = [r["proc_cpu_ms"]] if "proc_cpu_ms" in r else []
    if "bpf_run_ns" in r:
        parts.append(r["bpf_run_ns"] / 1e6)
    return sum(parts) if parts else None


def xdp_per_k(r, count_key="count"):
    """mqlb's XDP program alone, µs per counted event."""
    if "bpf_run_ns" not in r or not r[count_key]:
        return None
    return r["bpf_run_ns"] / 1e6 / r[count_key] * 1000


def bal_per_k(r, count_key="count"):
    b = bal_ms(r)
    return None if b is None or not r[count_key] else b / r[count_key] * 1000


def ns_per_pkt(r):
    if not r.get("bpf_run_cnt"):
        return None
    return r["bpf_run_ns"] / r["bpf_run_cnt"]


def rounds_str(vals, spec):
    return " / ".join(fmt(v, spec) for v in vals)


def balancer_tables(d, md, plots):
    lb = lambda v, w, fn: d.per_round("lb", v, w, fn)
    ref_rate = lb(REF, "conn-rate", lambda r, _: r["rate"])
    ref_cpu = lb(REF, "conn-rate", lambda r, _: per_k(r, "cpu"))
    md.append("## Balancers: connection rate and CPU per connection (conn-rate)\n")
    md.append("Each variant in front of the same three Debian mosquitto brokers (the study's star), "
              "64 connection attempts in flight from two client addresses; a connection is "
              "TCP + CONNECT/CONNACK + DISCONNECT. Ratios are against the no-balancer limit "
              "(`spread`) of the same round, median of the per-round ratios (each round's in brackets); "
              "CPU is µs per connection (= ms per 1,000), over the measured window, of the run's own "
              "processes (load generator, brokers, balancer, mqlbd, ksoftirqd), whose times hold the "
              "interrupt and softirq work (forwarding, XDP) done while they ran, so that others' work "
              "on a shared machine does not count; *machine* is every CPU's busy time, others' work "
              "included; the balancer's own "
              "is HAProxy's process, or mqlb's XDP program run time (bpf_stats) plus mqlbd's process "
              "(its flow collector and the RSTs that end the brokers' TIME_WAITs), the XDP part in "
              "brackets; what mqlb adds beyond its own is spent outside it (the redirect and "
              "delivery between the veths, among others) or is noise.\n")
    md.append("| variant | conn/s | × no-balancer (per round) | p50 / p99 µs | CPU µs/conn | "
              "machine µs/conn | added µs/conn (per round) | balancer's own µs/conn (XDP) | "
              "XDP ns/packet |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    plot_rows = []
    for v in d.variants:
        rate = lb(v, "conn-rate", lambda r, _: r["rate"])
        ratio = [a / b if a and b else None for a, b in zip(rate, ref_rate)]
        cpu = lb(v, "conn-rate", lambda r, _: per_k(r, "cpu"))
        added = [a - b if a is not None and b is not None else None for a, b in zip(cpu, ref_cpu)]
        own = lb(v, "conn-rate", lambda r, _: bal_per_k(r))
        xdp = med(lb(v, "conn-rate", lambda r, _: xdp_per_k(r)))
        mach = lb(v, "conn-rate", lambda r, _: per_k(r, "machine_cpu_ms"))
        nspp = lb(v, "conn-rate", lambda r, _: ns_per_pkt(r))
        p50 = med(lb(v, "conn-rate", lambda r, _: r["p50_us"]))
        p99 = med(lb(v, "conn-rate", lambda r, _: r["p99_us"]))
        own_s = fmt(med(own), '.1f') + (f" ({fmt(xdp, '.1f')})" if xdp is not None else "")
        added_s = (f"{fmt(med(added), '+.1f')} ({rounds_str(added, '+.0f')})" if v != REF else "0")
        md.append(f"| {v} | {fmt(med(rate))} | {fmt(med(ratio), '.2f')}× ({rounds_str(ratio, '.2f')}) "
                  f"| {fmt(p50)} / {fmt(p99)} | {fmt(med(cpu), '.1f')} | {fmt(med(mach), '.1f')} | "
                  f"{added_s} | {own_s} | {fmt(med(nspp), '.0f')} |")
        plot_rows.append((v, med(rate), med(ratio), med(added), med(own)))
    md.append("")
    md.append("Targets (ratios, not assertions): mqlb ≥ 0.97× the no-balancer limit and ≤ 10 µs CPU "
              "added per connection; measured earlier on this machine: HAProxy 0.69× / 184 µs, "
              "nftables 0.86× / 36 µs.\n")
    plots["conn_rate"] = plot_rows

    for w, title, unit in (("fanout", "fanout: 1 publisher on broker1 → 100 subscribers through the "
                            "variant, QoS 0, closed loop (20 messages in flight)", "msg/s"),
                           ("seed", "seed: the study's scenario, subscribers on `kuliah` through "
                            "the variant, publishers straight to broker1, one message each", "msg/s")):
        md.append(f"## Balancers: {title}\n")
        ref = lb(REF, w, lambda r, _: r["rate"])
        ref_cpu = lb(REF, w, lambda r, _: per_k(r, "cpu"))
        md.append(f"| variant | deliveries/s | × no-balancer | p50 / p99 ms | delivered / expected, "
                  f"duplicates (all rounds) | CPU ms/1k msgs | added ms/1k msgs | balancer's own ms/1k msgs "
                  f"| XDP ns/packet |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        rows = []
        for v in d.variants:
            rate = lb(v, w, lambda r, _: r["rate"])
            ratio = [a / b if a and b else None for a, b in zip(rate, ref)]
            cpu = lb(v, w, lambda r, _: per_k(r, "cpu"))
            added = [a - b if a is not None and b is not None else None for a, b in zip(cpu, ref_cpu)]
            own = lb(v, w, lambda r, _: bal_per_k(r))
            nspp = lb(v, w, lambda r, _: ns_per_pkt(r))
            p50 = med(lb(v, w, lambda r, _: r["p50_us"] / 1000))
            p99 = med(lb(v, w, lambda r, _: r["p99_us"] / 1000))
            dl = [x for x in lb(v, w, lambda r, _: (r["delivered"], r["expected"], r["duplicates"])) if x]
            dl = (f"{sum(x[0] for x in dl):,}/{sum(x[1] for x in dl):,}, {sum(x[2] for x in dl)}"
                  if dl else "–")
            md.append(f"| {v} | {fmt(med(rate))} | {fmt(med(ratio), '.2f')}× | {fmt(p50, '.1f')} / "
                      f"{fmt(p99, '.1f')} | {dl} | "
                      f"{fmt(med(cpu), '.1f')} | {fmt(med(added), '+.1f') if v != REF else '0'} | "
                      f"{fmt(med(own), '.2f')} | {fmt(med(nspp), '.0f')} |")
            rows.append((v, med(rate), p50, p99, med(cpu)))
        md.append("")
        plots[w] = rows
    client_id_table(d, md)


def client_id_table(d, md):
    """balance client-id against round-robin mqlb and HAProxy hashing, round by round."""
    if "mqlb-cid" not in d.variants:
        return
    lb = lambda v, w, fn: d.per_round("lb", v, w, fn)
    rate = lambda v, w: lb(v, w, lambda r, _: r["rate"])
    ratio = lambda a, b: [x / y if x and y else None for x, y in zip(a, b)]
    md.append("## Choosing the broker by client id\n")
    md.append("mqlb's `balance client-id` (the balancer answers the handshake with SYN cookies, "
              "reads the CONNECT, then opens the broker's connection and translates every "
              "segment) against mqlb round-robin and HAProxy hashing the same client id, per "
              "round; connect latency is mqbench's, TCP connect to CONNACK.\n")
    md.append("| comparison | ratio (per round) | target |")
    md.append("|---|---:|---:|")
    cid_cr, cid_fan = rate("mqlb-cid", "conn-rate"), rate("mqlb-cid", "fanout")
    for label, a, b, target in (
            ("conn/s, client-id ÷ mqlb round-robin", cid_cr, rate("mqlb-native", "conn-rate"),
             "≥ 0.90"),
            ("conn/s, client-id ÷ HAProxy hash on client id", cid_cr,
             rate("haproxy-cid", "conn-rate"), "≥ 1.5"),
            ("fan-out deliveries/s, client-id ÷ mqlb round-robin", cid_fan,
             rate("mqlb-native", "fanout"), "≥ 0.97")):
        r = ratio(a, b)
        md.append(f"| {label} | {fmt(med(r), '.2f')}× ({rounds_str(r, '.2f')}) | {target} |")
    md.append("")
    md.append("| variant | connect p50 µs | connect p99 µs |")
    md.append("|---|---:|---:|")
    for v in ("mqlb-native", "mqlb-cid", "haproxy-cid"):
        if v in d.variants:
            p50 = med(lb(v, "conn-rate", lambda r, _: r["p50_us"]))
            p99 = med(lb(v, "conn-rate", lambda r, _: r["p99_us"]))
            md.append(f"| {v} | {fmt(p50)} | {fmt(p99)} |")
    md.append("")


SCEN_DESC = {
    "p2p": "p2p, 100 pairs (one topic each)",
    "fanout100": "fan-out, 1 publisher → 100 subscribers",
    "fanout1000": "fan-out, 1 publisher → 1,000 subscribers",
    "fanin100": "fan-in, 100 publishers → 1 subscriber on `fanin/#`",
}


def not_delivered(r):
    """(lost, undelivered): dropped (a sequence number skipped), and still missing at the end."""
    lost = r.get("lost", 0)
    return lost, max(r["expected"] - r["delivered"] - lost, 0)


def loss_str(rows):
    """Lost and undelivered over all rounds, as a share of what was expected."""
    rows = [r for r in rows if r]
    if not rows:
        return "–"
    exp = sum(r["expected"] for r in rows)
    lost = sum(not_delivered(r)[0] for r in rows)
    und = sum(not_delivered(r)[1] for r in rows)
    if not lost and not und:
        return "0"
    parts = []
    if lost:
        parts.append(f"{lost:,} lost ({100 * lost / exp:.2g}%)" if exp else f"{lost:,} lost")
    if und:
        parts.append(f"{und:,} undelivered")
    return ", ".join(parts)


def rounds_met(vals):
    """'k/n': rounds where the check held, of the rounds where both brokers have a figure."""
    vals = [v for v in vals if v is not None]
    return f"{sum(vals)}/{len(vals)}" if vals else "–"


def broker_tables(d, md, plots):
    br = lambda b, w, fn: d.per_round("broker", b, w, fn)
    raw = lambda b, w: [d.get("broker", b, w, rnd) for rnd in d.rounds]
    labels = [l for l in dict.fromkeys(r["workload"] for r in d.rows if r["kind"] == "broker")
              if l != "idle"]
    flood = [l for l in labels if not l.startswith("lat-")]
    paced = [l for l in labels if l.startswith("lat-")]
    if not labels:
        return
    both = lambda a, b, f: [f(x, y) if x is not None and y is not None else None for x, y in zip(a, b)]
    ms = lambda key: (lambda r, _: r[key] / 1000)
    issue = []

    md.append("## Brokers: mosquitto against mqbroker, closed loop (loopback)\n")
    md.append("Debian's mosquitto (`mosquitto -p PORT`, default settings) and `build/mqbroker -p PORT`, "
              "a fresh broker per measurement, the same load generator (`build/mqbench`). Scenarios: "
              + "; ".join(f"`{k}` {v}" for k, v in SCEN_DESC.items()) + "; `-q0`/`-q1` is the QoS "
              "of both publish and subscription. Payloads are 64 bytes; msg/s counts deliveries to "
              "subscribers.\n")
    if any(l.startswith("tls-") for l in labels):
        md.append("`tls-` rows: the same closed loop over TLS 1.3, each broker with one TLS listener "
                  "and nothing else (`listener PORT`, `certfile`, `keyfile`; mosquitto also "
                  "`allow_anonymous true`, which its `-p` rows have by default), the same ECDSA "
                  "P-256 certificate made by the run for both; mqbench verifies it against the "
                  "run's CA (`--tls-cafile`).\n")
    md.append("Closed loop: each publisher keeps at most 20 messages unsettled (fan-in: 5), so these rows "
              "are the most each broker sustains at that concurrency, and their latency is mostly "
              "queueing (Little's law). Ratio is mqbroker ÷ mosquitto of the same round, median (each "
              "round's in brackets); latency is publish to delivery, over the messages delivered in the "
              "measured window, the median of the rounds' percentiles; broker CPU is the broker "
              "process's own. *Lost* messages are ones a broker dropped (a sequence number its "
              "subscriber never saw); a publisher whose window holds only dropped messages sends one "
              "past it after 250 ms to find out, so a broker that drops is still measured at the "
              "concurrency asked for, with its losses counted.\n")
    md.append("| scenario | mosquitto msg/s | mqbroker msg/s | ratio (per round) | ≥ 1.5× (rounds) "
              "| mosquitto p50 / p99 ms | mqbroker p50 / p99 ms | mqbroker p99 ≤ mosquitto's (rounds) "
              "| broker CPU ms/1k msgs (mosq / mqb) | not delivered, all rounds (mosq / mqb) |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for l in flood:
        rm = br("mosquitto", l, lambda r, _: r["rate"])
        rq = br("mqbroker", l, lambda r, _: r["rate"])
        ratio = both(rq, rm, lambda a, b: a / b if b else None)
        p99 = {b: br(b, l, ms("p99_us")) for b in BROKERS}
        p50 = {b: br(b, l, ms("p50_us")) for b in BROKERS}
        p99_ok = both(p99["mqbroker"], p99["mosquitto"], lambda a, b: a <= b)
        fast = [x >= 1.5 if x is not None else None for x in ratio]
        cpu = {b: med(br(b, l, lambda r, _: per_k(r, "proc_cpu_ms"))) for b in BROKERS}
        lossy = {b: any(r and sum(not_delivered(r)) for r in raw(b, l)) for b in BROKERS}
        mark = {b: " †" if lossy[b] else "" for b in BROKERS}
        md.append(f"| {l} | {fmt(med(rm))}{mark['mosquitto']} | {fmt(med(rq))}{mark['mqbroker']} | "
                  f"{fmt(med(ratio), '.2f')}× ({rounds_str(ratio, '.2f')}) | {rounds_met(fast)} | "
                  f"{fmt(med(p50['mosquitto']), '.1f')} / {fmt(med(p99['mosquitto']), '.1f')} | "
                  f"{fmt(med(p50['mqbroker']), '.1f')} / {fmt(med(p99['mqbroker']), '.1f')} | "
                  f"{rounds_met(p99_ok)} | {fmt(cpu['mosquitto'], '.1f')} / {fmt(cpu['mqbroker'], '.1f')} "
                  f"| {loss_str(raw('mosquitto', l))} / {loss_str(raw('mqbroker', l))} |")
        rows.append((l, med(rm), med(rq)))
        issue.append((l, "≥ 1.5×", fast))
        issue.append((l, "p99 no worse", p99_ok))
    md.append("")
    if any(r["kind"] == "broker" and r["r"] and not r["workload"].startswith("lat-")
           and sum(not_delivered(r["r"])) for r in d.rows):
        md.append("† this broker did not deliver everything in at least one round (last column): its "
                  "rate counts what it delivered, and its latency only the messages it did not drop. "
                  "A publisher whose messages were dropped waits 250 ms before its probe, so a "
                  "broker that drops has fewer messages in flight than the windows allow, and its "
                  "latency in that row is not comparable (nor bound by Little's law to the "
                  "windows).\n")
    plots["brokers"] = rows

    if paced:
        offered = {l: med(br("mosquitto", l, lambda r, _: r["target_rate"] *
                             (r["subscribers"] if r["scenario"] == "fanout" else 1))) for l in paced}
        md.append("## Brokers: latency at the same load (paced)\n")
        md.append("The publishers together offer the same delivery rate to both brokers (column 2), "
                  "phase-shifted so that messages go out one at a time rather than in bursts, with a "
                  "window (1,000) that does not bind: the fair latency comparison, at a load "
                  "mosquitto sustains. A fan-out's message is one publish delivered to all its "
                  "subscribers, so its latency includes the time to get through the fan (and "
                  "mqbench's own reading of 100 or 1,000 sockets). Latency in ms; p50, p99 and max are "
                  "medians of the rounds' figures; each round's p99 follows, mosquitto first.\n")
        md.append("| scenario | offered deliveries/s | delivered/s (mosq / mqb) | mosquitto p50 / p99 / max "
                  "| mqbroker p50 / p99 / max | p99 per round (mosquitto; mqbroker) "
                  "| mqbroker p99 ≤ mosquitto's (rounds) | not delivered, all rounds (mosq / mqb) |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        prow = []
        for l in paced:
            rate = {b: med(br(b, l, lambda r, _: r["rate"])) for b in BROKERS}
            p = {b: {k: br(b, l, ms(k + "_us")) for k in ("p50", "p99", "max")} for b in BROKERS}
            p99_ok = both(p["mqbroker"]["p99"], p["mosquitto"]["p99"], lambda a, b: a <= b)
            lat = {b: " / ".join(fmt(med(p[b][k]), ".2f") for k in ("p50", "p99", "max"))
                   for b in BROKERS}
            md.append(f"| {l} | {fmt(offered[l])} | {fmt(rate['mosquitto'])} / {fmt(rate['mqbroker'])} "
                      f"| {lat['mosquitto']} | {lat['mqbroker']} | "
                      f"{rounds_str(p['mosquitto']['p99'], '.2f')}; "
                      f"{rounds_str(p['mqbroker']['p99'], '.2f')} | {rounds_met(p99_ok)} | "
                      f"{loss_str(raw('mosquitto', l))} / {loss_str(raw('mqbroker', l))} |")
            prow.append((l, med(p["mosquitto"]["p99"]), med(p["mqbroker"]["p99"])))
            issue.append((l, "p99 no worse", p99_ok))
        md.append("")
        plots["brokers_p99"] = prow

    idle = {b: br(b, "idle", lambda r, _: r["bytes_per_conn"]) for b in BROKERS}
    bm, bq = med(idle["mosquitto"]), med(idle["mqbroker"])
    n = med(br("mosquitto", "idle", lambda r, _: r["subscribers"]))
    md.append(f"Idle connections ({fmt(n)}, one subscription each), broker RSS growth per connection, "
              f"median (rounds): mosquitto {fmt(bm)} B ({rounds_str(idle['mosquitto'], ',.0f')}), "
              f"mqbroker {fmt(bq)} B ({rounds_str(idle['mqbroker'], ',.0f')})"
              + (f", {bq / bm:.2f}×" if bm and bq else "") + ". Kernel socket memory is in neither.\n")

    # Issue 5's bars, held in every round or not: the numbers above, counted.
    ok = lambda v: any(x is not None for x in v) and all(x for x in v if x is not None)
    missed = [f"{l} ({what}: {rounds_met(v)} rounds)" for l, what, v in issue if not ok(v)]
    md.append(f"Issue 5's bars held in every round: {len(issue) - len(missed)} of {len(issue)} "
              f"(closed loop: mqbroker ≥ 1.5× mosquitto and its p99 no worse; paced: its p99 no "
              f"worse)"
              + (". Not in every round: " + ", ".join(missed) if missed else "")
              + (f"; idle RSS per connection {'met' if bm and bq and bq <= bm else 'not met'}"
                 if bm and bq else "") + ".\n")
    missing = [r for r in d.rows if r["kind"] == "broker" and not r["r"]]
    if missing:
        md.append(f"{len(missing)} broker measurement(s) failed or were missing: "
                  + ", ".join(f"{r['variant']}/{r['workload']} (round {r['round']})" for r in missing)
                  + "; they show as –.\n")


def base_tables(d, md, meta):
    """build/mqbroker against BENCH_BROKER_BASE, an older build, measured in the same rounds."""
    br = lambda b, w, fn: d.per_round("broker", b, w, fn)
    labels = [l for l in dict.fromkeys(r["workload"] for r in d.rows
                                       if r["kind"] == "broker" and r["variant"] == "mqbroker-base")]
    if not labels:
        return
    both = lambda a, b, f: [f(x, y) if x is not None and y is not None else None for x, y in zip(a, b)]
    ratio = lambda a, b: a / b if b else None
    md.append("## mqbroker against an older build of itself\n")
    md.append(f"`BENCH_BROKER_BASE`: {meta.get('broker_base', '?')}, run beside `build/mqbroker` and "
              "mosquitto in every round of the tables above (a fresh broker each, the order rotated "
              "from round to round). Ratios are this build ÷ the base of the same round: the median, "
              "each round's in brackets. Closed-loop rows compare msg/s (within 5%: ratio ≥ 0.95) and "
              "p99 (no worse: ratio ≤ 1); paced rows run at the same offered rate for both, so only "
              "their p99; the broker's own CPU per message is the column that moves least from round "
              "to round.\n")
    md.append("| scenario | base msg/s | mqbroker msg/s | msg/s ratio (per round) | ≥ 0.95 (rounds) "
              "| p99 ms base / mqbroker | p99 ratio (per round) | ≤ 1 (rounds) "
              "| CPU µs/msg base / mqbroker (ratio) |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for l in labels:
        if l == "idle":
            continue
        rate = {b: br(b, l, lambda r, _: r["rate"]) for b in ("mqbroker", "mqbroker-base")}
        p99 = {b: br(b, l, lambda r, _: r["p99_us"] / 1000) for b in ("mqbroker", "mqbroker-base")}
        cpu = {b: med(br(b, l, lambda r, _: per_k(r, "proc_cpu_ms"))) for b in ("mqbroker", "mqbroker-base")}
        paced = l.startswith("lat-")
        rr = both(rate["mqbroker"], rate["mqbroker-base"], ratio)
        pr = both(p99["mqbroker"], p99["mqbroker-base"], ratio)
        rate_cols = ("| – | – | – | – " if paced else
                     f"| {fmt(med(rate['mqbroker-base']))} | {fmt(med(rate['mqbroker']))} | "
                     f"{fmt(med(rr), '.3f')} ({rounds_str(rr, '.2f')}) | "
                     f"{rounds_met([x >= 0.95 if x is not None else None for x in rr])} ")
        cr = ratio(cpu["mqbroker"], cpu["mqbroker-base"]) if cpu["mqbroker"] is not None else None
        md.append(f"| {l} {rate_cols}| {fmt(med(p99['mqbroker-base']), '.2f')} / "
                  f"{fmt(med(p99['mqbroker']), '.2f')} | {fmt(med(pr), '.2f')} ({rounds_str(pr, '.2f')}) | "
                  f"{rounds_met([x <= 1 if x is not None else None for x in pr])} | "
                  f"{fmt(cpu['mqbroker-base'], '.2f')} / {fmt(cpu['mqbroker'], '.2f')} "
                  f"({fmt(cr, '.2f')}) |")
    idle = {b: med(br(b, "idle", lambda r, _: r["bytes_per_conn"])) for b in ("mqbroker", "mqbroker-base")}
    if idle["mqbroker"] and idle["mqbroker-base"]:
        md.append(f"\nIdle, RSS per connection: base {fmt(idle['mqbroker-base'])} B, "
                  f"mqbroker {fmt(idle['mqbroker'])} B.")
    md.append("")


def gnuplot(out, name, data, script):
    dat = os.path.join(out, name + ".dat")
    with open(dat, "w") as f:
        for row in data:
            f.write(" ".join("NaN" if x is None else (f'"{x}"' if isinstance(x, str) else str(x))
                             for x in row) + "\n")
    head = (f'set terminal pngcairo size 900,480 noenhanced font ",10"\n'
            f'set output "{os.path.join(out, name + ".png")}"\n'
            'set style data histograms\nset style histogram clustered gap 1\n'
            'set style fill solid 0.8 border -1\nset boxwidth 0.9\nset grid ytics\n'
            'set key top right\nset yrange [0:*]\nset xtics nomirror\n')
    try:
        subprocess.run(["gnuplot"], input=head + script.replace("DAT", dat), text=True, check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report: gnuplot {name}: {getattr(e, 'stderr', e)}", file=sys.stderr)
        return None
    os.unlink(dat)
    return name + ".png"


def main():
    out = sys.argv[1]
    rows = [json.loads(l) for l in open(os.path.join(out, "raw.jsonl")) if l.strip()]
    meta = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(out, "meta.txt")) if "=" in l)
    d = Data(rows)
    md = [f"# mqlb benchmark, {meta.get('date', '?')}\n",
          f"Machine: {meta.get('cpus', '?')} CPUs ({meta.get('cpu_model', '?')}), kernel "
          f"{meta.get('kernel', '?')}; mosquitto {meta.get('mosquitto', '?')}, HAProxy "
          f"{meta.get('haproxy', '?')}, nftables {meta.get('nft', '?')}; mqlb {meta.get('git', '?')}. "
          f"{meta.get('rounds', '?')} interleaved round(s){' (quick mode)' if meta.get('quick') == '1' else ''}, "
          f"medians. Workloads: {meta.get('params', '')}. Load generator: `build/mqbench`, "
          f"in the client namespace; load generator, brokers and balancer share the same "
          f"{meta.get('cpus', '?')} CPUs.\n",
          "Variants: " + "; ".join(f"`{v}` {DESC[v]}" for v in d.variants) + ".\n"]
    busy = [r.get("pre_busy", 0) for r in rows]
    noisy = sum(1 for b in busy if b >= 15)
    md.append(f"The machine is shared with other work: before each measurement the script waits up to "
              f"10 s for the machine to fall under 15% busy. {noisy} of {len(busy)} measurements "
              f"started above that (at most {max(busy, default=0)}%); load average "
              f"{meta.get('loadavg_start', '?')} at the start, {meta.get('loadavg_end', '?')} at the "
              f"end. Other work during a run lowers the rates of that round's variants, which is why "
              f"rounds are interleaved and CPU is counted for the run's own processes only.\n")
    failed = [f"{r['variant']}/{r['workload']} (round {r['round']})" for r in rows if not r["r"]]
    if failed:
        md.append("Failed measurements (no result): " + ", ".join(failed) + ".\n")
    plots = {}
    xdp = [r["r"] for r in rows if r["kind"] == "xdp" and r["r"]]
    if xdp:
        x = xdp[0]
        md.append("## The XDP program alone\n")
        if x.get("method") == "repeat":
            md.append("`make bench-xdp`: BPF_PROG_TEST_RUN in a scratch namespace with `repeat` "
                      "(the kernel's time divided by the repetitions; flows built so that each "
                      "segment sent on is the next flow's), medians of 9 runs; new flows are single "
                      "runs timed by the kernel's run-time statistics (the end-to-end figures below "
                      "add the veths and the stacks). A busy flow keeps its records in cache; "
                      f"random flows of a {x['table_flows']:,}-flow table (262,144 entries) pay the "
                      "hash tables' cache misses.\n")
        else:
            md.append("`make bench-xdp`: BPF_PROG_TEST_RUN in a scratch namespace, the kernel's "
                      "time for single runs, medians, each including the measurement's own clock "
                      f"read; random flows of a {x['table_flows']:,}-flow table.\n")
        md.append("| path | ns/packet |")
        md.append("|---|---:|")
        for k, label in (("client_to_backend_ns", "one busy flow, client → backend"),
                         ("backend_to_client_ns", "one busy flow, backend → client"),
                         ("table_client_to_backend_ns", "random flow, client → backend"),
                         ("table_backend_to_client_ns", "random flow, backend → client"),
                         ("new_flow_ns", "new flow (SYN: backend, SNAT port, two inserts)"),
                         ("not_ours_ns", "not ours (passed to the kernel)"),
                         ("xlate_client_to_backend_ns", "translated (client-id), one busy flow, "
                          "client → backend"),
                         ("xlate_backend_to_client_ns", "translated, one busy flow, backend → client"),
                         ("xlate_table_client_to_backend_ns", "translated, random flow, client → backend"),
                         ("xlate_table_backend_to_client_ns", "translated, random flow, backend → client"),
                         ("cookie_synack_ns", "SYN answered with a cookie (client-id: nothing stored)")):
            if k in x:
                md.append(f"| {label} | {fmt(x.get(k))} |")
        md.append("")
    if any(r["kind"] == "lb" for r in rows):
        balancer_tables(d, md, plots)
    broker_tables(d, md, plots)
    base_tables(d, md, meta)

    pngs = []
    if "conn_rate" in plots:
        pngs.append(gnuplot(out, "conn_rate", [(v, r) for v, r, *_ in plots["conn_rate"]],
                            'set title "connections per second (median)"\nset ylabel "conn/s"\n'
                            'plot "DAT" using 2:xtic(1) title "conn/s" lc rgb "#4477aa"\n'))
        pngs.append(gnuplot(out, "cpu_per_conn",
                            [(v, a, o) for v, _, _, a, o in plots["conn_rate"]],
                            'set title "CPU per connection, µs (median)"\nset ylabel "µs"\n'
                            'set yrange [*:*]\n'
                            'plot "DAT" using 2:xtic(1) title "CPU added vs spread" '
                            'lc rgb "#cc6677", "" using 3 title "balancer\'s own" lc rgb "#117733"\n'))
    if "fanout" in plots:
        pngs.append(gnuplot(out, "fanout", [(v, r) for v, r, *_ in plots["fanout"]],
                            'set title "fanout deliveries per second (median)"\nset ylabel "msg/s"\n'
                            'plot "DAT" using 2:xtic(1) title "msg/s" lc rgb "#4477aa"\n'))
    if "seed" in plots:
        pngs.append(gnuplot(out, "seed_latency", [(v, a, b) for v, _, a, b, _ in plots["seed"]],
                            'set title "seed latency, ms (median of rounds)"\nset ylabel "ms"\n'
                            'plot "DAT" using 2:xtic(1) title "p50" lc rgb "#4477aa", '
                            '"" using 3 title "p99" lc rgb "#cc6677"\n'))
    if "brokers" in plots:
        pngs.append(gnuplot(out, "brokers", plots["brokers"],
                            'set title "broker deliveries per second, closed loop (median)"\n'
                            'set ylabel "msg/s"\nset logscale y\nset yrange [*:*]\n'
                            'set xtics rotate by -30\n'
                            'plot "DAT" using 2:xtic(1) title "mosquitto" lc rgb "#999933", '
                            '"" using 3 title "mqbroker" lc rgb "#117733"\n'))
    if "brokers_p99" in plots:
        pngs.append(gnuplot(out, "brokers_p99", plots["brokers_p99"],
                            'set title "broker p99 latency at the same paced load, ms (median)"\n'
                            'set ylabel "ms"\nset xtics rotate by -30\n'
                            'plot "DAT" using 2:xtic(1) title "mosquitto" lc rgb "#999933", '
                            '"" using 3 title "mqbroker" lc rgb "#117733"\n'))
    pngs = [p for p in pngs if p]
    if pngs:
        md.append("## Plots\n")
        md.extend(f"![{p[:-4]}]({p})" for p in pngs)
        md.append("")
    md.append("Raw numbers: `raw.jsonl` (one mqbench JSON object per measurement); "
              "`counters-VARIANT-roundN.txt`: `mqlb stats show` at the end of each mqlb run.")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
