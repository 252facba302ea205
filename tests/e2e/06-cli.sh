#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mqlb, the CLI, against a live mqlbd: backend/stats/flow/prog show in text
# and JSON with counts that match what the brokers see, abbreviations, the
# ambiguity and unknown-verb errors, help, -V, mutating verbs through the
# control socket, and clear errors once the daemon is gone.
. "$(dirname "$0")/lib.sh"
bed_require
[ -x "$BUILD/mqlb" ] || fail "$BUILD/mqlb is not built"
bed_up
start_brokers_star

mode=${XDP_MODES%% *}
write_mqlbd_conf "$mode" "persist yes"
start_mqlbd
MQLB=("$BUILD/mqlb" --pin-path "$PIN" --control "$CTL")
mqlb() { "${MQLB[@]}" "$@"; }
# jpy EXPR: evaluate a python expression over the JSON on stdin (bound to j)
jpy() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
# one_error CMD...: fails unless CMD exits non-zero with exactly one line on stderr; prints it
one_error() {
	local out rc
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc -ne 0 ] || fail "'$*' succeeded"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "'$*': expected one error line, got: $out"
	printf '%s\n' "$out"
}

log "== version and help"
mqlb -V | grep -q '^mqlb v[0-9]' || fail "-V: $(mqlb -V)"
[ "$(mqlb -j version | jpy 'j["version"] != ""')" = True ] || fail "-j version"
for obj in "" backend flow stats prog; do
	# shellcheck disable=SC2086
	mqlb $obj help | grep -q "^Usage: mqlb $obj" || fail "'mqlb $obj help' has no usage"
done
[ "$(mqlb -j backend help)" = null ] || fail "-j help should print null"

log "== the control socket's state request answers valid JSON"
/usr/bin/python3 - "$CTL" <<'PY' || fail "state request"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"state\n")
ans = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    ans += d
head, body = ans.decode().split("\n", 1)
assert head == "ok", ans
j = json.loads(body)
assert sorted(b["name"] for b in j["backends"]) == ["b1", "b2", "b3"], j
assert all(b["admin"] == "enabled" and b["weight"] == 1 for b in j["backends"]), j
PY

log "== backend show before any client"
mqlb backend show >"$WORK/bs.txt" || fail "backend show failed"
head -1 "$WORK/bs.txt" | grep -q '^NAME  *ADDRESS  *STATE  *ACTIVE' || fail "header: $(head -1 "$WORK/bs.txt")"
for i in 1 2 3; do
	grep -Eq "^b$i +$(broker_addr $i):1883 +up " "$WORK/bs.txt" || fail "b$i not up: $(cat "$WORK/bs.txt")"
done

ready=$WORK/ready
mqttc_bg hold --target $VIP:$VIP_PORT --count 30 --hold 120 --ready-file "$ready"
holder=$BG_PID
for _ in $(seq 200); do [ -s "$ready" ] && break; sleep 0.1; done
grep -q "connected 30/30" "$ready" 2>/dev/null || fail "not all connected: $(cat "$ready" 2>/dev/null)"

log "== counters match what the brokers see"
# flows_active comes from the daemon's once-a-second flow collector
for _ in $(seq 50); do
	[ "$(mqlb -j backend show | jpy 'sum(b["active"] for b in j)')" = 30 ] && break
	sleep 0.2
done
mqlb -j backend show >"$WORK/bs.json" || fail "backend show -j failed"
for i in 1 2 3; do
	seen=$(broker_conns $i)
	got=$(jpy "[(b['active'], b['total'], b['address'], b['state']) for b in j if b['name'] == 'b$i'][0]" <"$WORK/bs.json")
	[ "$got" = "($seen, $seen, '$(broker_addr $i):1883', 'up')" ] ||
		fail "b$i: broker sees $seen connections, mqlb -j says (active, total, address, state) = $got"
	[ "$(jpy "[b['packets_in'] > 0 and b['bytes_out'] > 0 for b in j if b['name'] == 'b$i'][0]" <"$WORK/bs.json")" = True ] ||
		fail "b$i: no packets counted"
done
log "per broker: $(broker_conns 1)/$(broker_conns 2)/$(broker_conns 3), mqlb agrees"
mqlb -p backend show b2 | jpy 'len(j) == 1 and j[0]["name"] == "b2"' | grep -q True || fail "backend show b2 -p"
one_error mqlb backend show nosuch | grep -qx "error: backend 'nosuch' not found" || fail "unknown backend name"

log "== abbreviations"
[ "$(mqlb -j b s | jpy '[b["name"] for b in j]')" = "['b1', 'b2', 'b3']" ] || fail "'mqlb -j b s'"
mqlb b l | grep -q '^b1 ' || fail "'mqlb b l'"
msg=$(one_error mqlb backend d b1)
[ "$msg" = "error: backend: command 'd' is ambiguous: del, drain, disable" ] || fail "ambiguity: $msg"
msg=$(one_error mqlb backend frob)
[ "$msg" = "error: backend: unknown command 'frob', try 'mqlb backend help'" ] || fail "unknown verb: $msg"
msg=$(one_error mqlb frob show)
[ "$msg" = "error: unknown object 'frob', try 'mqlb help'" ] || fail "unknown object: $msg"
[ "$(mqlb -j backend frob | jpy '"error" in j')" = True ] || fail "-j error is not a JSON error object"

log "== stats show"
mqlb stats show >"$WORK/ss.txt" || fail "stats show failed"
grep -Eq '^flow_table +30/[0-9]+ ' "$WORK/ss.txt" || fail "flow table use: $(grep flow_table "$WORK/ss.txt")"
[ "$(mqlb -j stats show | jpy 'j["flow_new"] >= 30 and j["flow_entries"] == 30 and j["rx_packets"] > 0')" = True ] ||
	fail "stats -j: $(mqlb -j stats show)"
[ "$(mqlb -j s w -i 0.2 -c 2 | jpy 'len(j) == 2 and "rx_packets" in j[0]["rates"]')" = True ] ||
	fail "stats watch -j"
mqlb stats watch -i 0.2 -c 2 | grep -c '^rx_packets' | grep -qx 2 || fail "stats watch text"

log "== flow show"
[ "$(mqlb flow show | tail -n +2 | wc -l)" = 30 ] || fail "flow show: $(mqlb flow show)"
mqlb flow show | head -1 | grep -q '^CLIENT  *BACKEND  *TRANSLATED  *AGE  *IDLE  *STATE  *MQTT  *CLIENT-ID' ||
	fail "flow header"
mqlb flow show | grep -Eq "^$NET_CLI\.[0-9]+:[0-9]+ +b[123] +$SNAT:[0-9]+ -> $NET_BRK\.1[123]:1883 +[0-9].* established " ||
	fail "flow row: $(mqlb flow show | sed -n 2p)"
[ "$(mqlb -j flow show backend b2 | jpy "len(j) == $(broker_conns 2) and all(f['backend'] == 'b2' for f in j)")" = True ] ||
	fail "flow show backend b2"

log "== prog show (in mqlbd's namespace, where the ifindexes mean something)"
nsx lb "${MQLB[@]}" -j prog show >"$WORK/ps.json" || fail "prog show -j"
[ "$(jpy "sorted((p['interface'], p['mode']) for p in j)" <"$WORK/ps.json")" = "[('lbb', '$mode'), ('lbc', '$mode')]" ] ||
	fail "prog show: $(cat "$WORK/ps.json")"
[ "$(jpy 'all(p["prog_id"] > 0 and p["link_id"] > 0 and p["ifindex"] > 0 for p in j)' <"$WORK/ps.json")" = True ] ||
	fail "prog show ids"
BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled) # bed_cleanup restores it on any exit
sysctl -qw kernel.bpf_stats_enabled=0
nsx lb "${MQLB[@]}" prog show | grep -q "enable with: sysctl -w kernel.bpf_stats_enabled=1" || fail "prog show hint"
sysctl -qw kernel.bpf_stats_enabled=1
mqttc hold --target $VIP:$VIP_PORT --count 1 >/dev/null 2>&1 || true
nsx lb "${MQLB[@]}" -j prog show | jpy 'all(p["bpf_stats_enabled"] and p["run_cnt"] > 0 for p in j if p["interface"] == "lbc")' |
	grep -q True || fail "prog show run counts"
sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
BPF_STATS_OLD=

log "== mutating verbs through the control socket"
mqlb backend drain b1 || fail "drain b1"
[ "$(mqlb -j backend show b1 | jpy 'j[0]["state"]')" = drain ] || fail "b1 not draining"
mqlb b en b1 || fail "enable b1"
[ "$(mqlb -j backend show b1 | jpy 'j[0]["state"]')" = up ] || fail "b1 not back up"
mqlb backend add b4 $NET_BRK.14:1883 weight 2 || fail "add b4"
[ "$(mqlb -j backend show b4 | jpy '(j[0]["address"], j[0]["weight"])')" = "('$NET_BRK.14:1883', 2)" ] || fail "b4 not added"
mqlb backend del b4 || fail "del b4"
one_error mqlb backend show b4 | grep -q "not found" || fail "b4 still there"
msg=$(one_error mqlb backend del nosuch)
log "daemon refusal: $msg"
one_error mqlb backend add b5 10.0.0.300:1883 | grep -q "address '10.0.0.300:1883' is invalid" || fail "bad address"

kill "$holder"; wait "$holder" 2>/dev/null
for _ in $(seq 100); do
	[ "$(mqlb -j stats show | jpy 'j["flow_entries"]')" = 0 ] && break
	sleep 0.1
done
[ "$(mqlb flow show | wc -l)" = 1 ] || fail "flows left: $(mqlb flow show)"

log "== mqlbd stopped (persist yes): show still works, changes say the daemon is down"
stop_mqlbd
mqlb backend show | grep -q '^b1 ' || fail "backend show without the daemon"
msg=$(one_error mqlb backend drain b1)
[[ $msg == "error: mqlbd is not running (can't connect to $CTL: "* ]] || fail "not running: $msg"
[ "$(mqlb -j backend drain b1 | jpy 'j["error"].startswith("mqlbd is not running")')" = True ] || fail "-j not running"

ip netns exec "${P}lb" "$BUILD/mqlbd" --stop -c "$WORK/mqlbd.conf" >>"$WORK/mqlbd.log" 2>&1 || fail "mqlbd --stop"
msg=$(one_error mqlb stats show)
[ "$msg" = "error: can't open pinned map '$PIN/config': No such file or directory (is mqlbd running? see --pin-path)" ] ||
	fail "missing pins: $msg"
log "PASS"
