#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mqlbd as a service: --version and --help; `mqlbd -t` (a valid file,
# every refusal with FILE:LINE: reason, nothing attached); the readiness
# protocol as systemd speaks it (READY=1 only after XDP is attached and
# every backend had its first check, RELOADING=1 then READY=1 around
# SIGHUP, STOPPING=1 on SIGTERM) against a socket of the test's own; and
# the journal's log format (a "<N>" priority on every line, no timestamp),
# chosen by -L journal and found by itself through $JOURNAL_STREAM.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_brokers_star

log "== --version and --help"
out=$("$BUILD/mqlbd" --version) || fail "mqlbd --version"
grep -qE '^mqlbd [0-9]+\.[0-9]+\.[0-9]+( \(git [0-9a-z.-]+\))?$' <<<"$out" || fail "--version: $out"
if git rev-parse --git-dir >/dev/null 2>&1; then
	# Built in this checkout: its describe names a commit of it (the build may predate HEAD).
	desc=$(sed -n 's/.*(git \(.*\))$/\1/p' <<<"$out")
	hash=$(sed -e 's/-dirty$//' -e 's/.*-g\([0-9a-f]*\)$/\1/' <<<"$desc")
	[ -n "$desc" ] && git rev-parse -q --verify "$hash^{commit}" >/dev/null ||
		fail "--version does not carry git describe of this checkout: $out"
fi
[ "$("$BUILD/mqlbd" -V)" = "$out" ] || fail "-V differs from --version"
"$BUILD/mqlbd" --help | grep -q -- "-t, --test" || fail "--help does not describe -t"
"$BUILD/mqlbd" --frobnicate >/dev/null 2>&1; [ $? = 2 ] || fail "an unknown option must exit 2"
"$BUILD/mqlbd" -t >/dev/null 2>&1; [ $? = 2 ] || fail "-t without -c must exit 2"
"$BUILD/mqlbd" -L jornal -c /dev/null >/dev/null 2>&1; [ $? = 2 ] || fail "a bad --log must exit 2"
log "$out"

log "== mqlbd -t"
lbt() { ip netns exec "${P}lb" "$BUILD/mqlbd" -t "$@" -c "$WORK/mqlbd.conf"; }
HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1" write_mqlbd_conf generic
out=$(lbt 2>&1) || fail "mqlbd -t on a good file: $out"
grep -q "mqlbd.conf: configuration is valid (3 backend(s), snat $SNAT, health mqtt)" <<<"$out" || fail "-t: $out"
[ -z "$(lbt -q 2>&1)" ] || fail "-t -q printed something"
# expect_t NAME SED PATTERN: apply SED to a good file; -t must exit 1 with PATTERN, attach nothing
expect_t() {
	local name=$1 sedexpr=$2 pattern=$3 out rc
	HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1" write_mqlbd_conf generic
	sed -i "$sedexpr" "$WORK/mqlbd.conf"
	out=$(lbt 2>&1); rc=$?
	[ $rc = 1 ] || fail "-t $name: exit $rc, want 1: $out"
	grep -qE -- "^$WORK/mqlbd.conf$pattern" <<<"$out" || fail "-t $name: '$out' does not match '$pattern'"
	log "-t $name: $(head -1 <<<"$out" | sed "s|$WORK/||")"
}
expect_t "unknown directive" '3a frobnicate yes' ":4: unknown directive 'frobnicate'"
expect_t "bad duration" 's/^close-timeout .*/close-timeout soon/' ":[0-9]+: 'close-timeout' needs a duration"
expect_t "vip not local" 's/^vip .*/vip 10.201.1.99:1883/' ":1: vip 10.201.1.99 is not an address of lbc"
expect_t "interface missing" 's/^interface .*/interface nosuchif/' ":2: interface 'nosuchif' does not exist"
expect_t "backend-interface missing" 's/^backend-interface .*/backend-interface nosuchif/' \
	":3: backend-interface 'nosuchif' does not exist"
expect_t "snat not local" 's/^snat .*/snat 10.201.2.99/' ":5: snat 10.201.2.99 is not an address of lbb"
expect_t "snat-ports in the ephemeral range" '$a snat-ports 40000-50000' \
	":[0-9]+: snat-ports 40000-50000 overlaps this machine's ephemeral ports"
nsx lb sysctl -qw net.ipv4.ip_forward=0
expect_t "forwarding off" 's/x/x/' ": IPv4 forwarding is off in this network namespace"
nsx lb sysctl -qw net.ipv4.ip_forward=1
nsx lb ip -d link show lbc | grep -q xdp && fail "-t attached XDP"
[ -z "$(ls -A "$PIN" 2>/dev/null)" ] || fail "-t pinned something: $(ls "$PIN")"

log "== readiness (Type=notify) against the test's own socket"
NOTIFY=$WORK/notify.sock
NOTES=$WORK/notes
timeout 60 /usr/bin/python3 - "$NOTIFY" "$NOTES" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write("%d %s\n" % (time.time_ns() // 1000000, msg.replace("\n", "|")))
PY
CLEANUP_PIDS+=($!)
for _ in $(seq 50); do [ -S "$NOTIFY" ] && break; sleep 0.1; done
# A fourth backend that never answers: its first check ends only at its 1 s timeout,
# and READY must wait for it.
HEALTH_LINE="health mqtt interval 2s timeout 1s rise 1 fall 1" \
	write_mqlbd_conf generic "backend b9 $NET_BRK.99:1883"
t0=$(date +%s%3N)
NOTIFY_SOCKET=$NOTIFY ip netns exec "${P}lb" "$BUILD/mqlbd" -c "$WORK/mqlbd.conf" >"$WORK/mqlbd.log" 2>&1 &
MQLBD_PID=$!
CLEANUP_PIDS+=($MQLBD_PID)
for _ in $(seq 100); do grep -q "READY=1" "$NOTES" 2>/dev/null && break; sleep 0.1; done
grep -q "READY=1|STATUS=balancing $VIP:$VIP_PORT: 3 of 4 backend(s) up" "$NOTES" ||
	fail "no READY=1 with 3 of 4 up: $(cat "$NOTES")"
t_ready=$(grep "READY=1" "$NOTES" | head -1 | cut -d' ' -f1)
[ $((t_ready - t0)) -ge 900 ] || fail "READY $((t_ready - t0)) ms after start, before b9's first check timed out"
grep -q "backend b9: health check failed (timeout)" "$WORK/mqlbd.log" || fail "b9: $(cat "$WORK/mqlbd.log")"
[ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 3 ] || fail "READY before the first checks: $(cat "$WORK/mqlbd.log")"
nsx lb ip -d link show lbc | grep -q xdpgeneric || fail "READY but XDP is not attached"
log "READY=1 $((t_ready - t0)) ms after start, once b9's first check timed out: $(grep READY "$NOTES" | cut -d' ' -f2-)"
kill -HUP $MQLBD_PID
for _ in $(seq 50); do [ "$(grep -c "READY=1" "$NOTES")" = 2 ] && break; sleep 0.1; done
grep -A1 "RELOADING=1" "$NOTES" | tail -1 | grep -q "READY=1|STATUS=" || fail "SIGHUP: want RELOADING=1 then READY=1: $(cat "$NOTES")"
# A backend going down changes the status line.
kill "${CLEANUP_PIDS[1]}" # b1's mosquitto (start_brokers_star: b3, b1, b2)
for _ in $(seq 60); do grep -q "STATUS=balancing $VIP:$VIP_PORT: 2 of 4 backend(s) up" "$NOTES" && break; sleep 0.1; done
grep -q "STATUS=balancing $VIP:$VIP_PORT: 2 of 4 backend(s) up" "$NOTES" || fail "no STATUS for b1 down: $(cat "$NOTES")"
kill $MQLBD_PID
for _ in $(seq 50); do grep -q "STOPPING=1" "$NOTES" && break; sleep 0.1; done
grep -q "STOPPING=1" "$NOTES" || fail "no STOPPING=1: $(cat "$NOTES")"
wait $MQLBD_PID 2>/dev/null
log "SIGHUP: RELOADING=1, READY=1; b1 down: STATUS 2 of 4; SIGTERM: STOPPING=1"

log "== the journal's format"
check_journal_format() {
	local how=$1
	grep -q '^<6>balancing ' "$WORK/mqlbd.log" || fail "$how: no '<6>balancing': $(head -5 "$WORK/mqlbd.log")"
	grep -q '^<4>backend b1: health check failed (' "$WORK/mqlbd.log" ||
		fail "$how: b1's failure is not a warning: $(cat "$WORK/mqlbd.log")"
	grep -vqE '^<[3-7]>' "$WORK/mqlbd.log" && fail "$how: a line without a priority: $(grep -vE '^<[3-7]>' "$WORK/mqlbd.log" | head -3)"
	grep -qE '^<[0-9]>[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$WORK/mqlbd.log" && fail "$how: timestamps in the journal"
	log "$how: $(grep -c . "$WORK/mqlbd.log") lines, each with its priority, none with a timestamp"
}
ip netns exec "${P}lb" "$BUILD/mqlbd" -L journal -c "$WORK/mqlbd.conf" >"$WORK/mqlbd.log" 2>&1 &
MQLBD_PID=$!
CLEANUP_PIDS+=($MQLBD_PID)
for _ in $(seq 100); do grep -q "health check failed" "$WORK/mqlbd.log" && break; sleep 0.1; done
stop_mqlbd
check_journal_format "-L journal"
: >"$WORK/mqlbd.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/mqlbd.log") \
	ip netns exec "${P}lb" "$BUILD/mqlbd" -c "$WORK/mqlbd.conf" 2>>"$WORK/mqlbd.log" &
MQLBD_PID=$!
CLEANUP_PIDS+=($MQLBD_PID)
for _ in $(seq 100); do grep -q "health check failed" "$WORK/mqlbd.log" && break; sleep 0.1; done
stop_mqlbd
check_journal_format "JOURNAL_STREAM"
grep -q "^<6>mqlbd .* starting, logging to journal" "$WORK/mqlbd.log" || fail "auto did not choose the journal"

log "== syslog"
# A private mount namespace whose /dev/log is the test's own socket: syslog(3)
# writes there, facility daemon (3) times 8 plus the priority.
cat >"$WORK/syslog.sh" <<'SH'
set -e
mount -t tmpfs none /dev
mknod -m 666 /dev/null c 1 3
timeout 20 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1], "w").close()
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode() + "\n")
' "$1.ready" "$1" &
for _ in $(seq 50); do [ -e "$1.ready" ] && break; sleep 0.1; done
"$2" -L syslog -t -c "$3" || true
sleep 0.3
kill $! 2>/dev/null
SH
printf 'vip 10.201.1.1\ninterface lbc\nfrobnicate 1\n' >"$WORK/bad.conf"
unshare -m bash "$WORK/syslog.sh" "$WORK/syslog.out" "$BUILD/mqlbd" "$WORK/bad.conf" ||
	fail "the syslog run: $(cat "$WORK/syslog.out" 2>&1)"
grep -qE "^<27>.*mqlbd\[[0-9]+\]: $WORK/bad.conf:3: unknown directive 'frobnicate'" "$WORK/syslog.out" ||
	fail "syslog got: $(cat "$WORK/syslog.out")"
log "-L syslog: $(head -1 "$WORK/syslog.out" | cut -c1-100)"
log "PASS"
