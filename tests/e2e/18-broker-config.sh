#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mqbroker command line and configuration: bad files refused with FILE:LINE,
# malformed bridge blocks and bridges without an address or a topic refused,
# -p on loopback only, several listeners, pid_file, log_dest file,
# connection_messages.
set -u
BUILD=${BUILD:-build}
MQB=$BUILD/mqbroker
[ -x "$MQB" ] || { echo "SKIP: $MQB not built"; exit 77; }
tmp=$(mktemp -d /tmp/mqbroker-conf.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# refused: CONFIG-TEXT EXPECTED-MESSAGE
refused() {
	printf '%b' "$1" > "$tmp/bad.conf"
	out=$(timeout 5 "$MQB" -c "$tmp/bad.conf" 2>&1)
	rc=$?
	[ $rc -ne 0 ] || fail "accepted: $1"
	[[ $out == *"$2"* ]] || fail "'$1': got '$out', want '$2'"
	ok "refused with '$2'"
}
refused 'listener 1883\nbogus_option 1\n' "$tmp/bad.conf:2: unknown directive 'bogus_option'"
refused '# c\nlistener 99999\n' "$tmp/bad.conf:2: invalid port '99999'"
refused 'max_inflight_messages lots\n' "$tmp/bad.conf:1: 'max_inflight_messages' needs an integer"
refused 'connection bridge-to-broker3\naddress 192.168.159.113:1883\ntopic # sideways 0\n' \
	"$tmp/bad.conf:3: bridge topic direction must be in, out or both, got 'sideways'"
# Mosquitto refuses a bridge that carries nothing: the line of its 'connection'.
refused '# the study block, topics left out\nconnection bridge-to-broker3\naddress 127.0.0.1:1\nnotifications true\n' \
	"$tmp/bad.conf:2: connection 'bridge-to-broker3' has no topic"
refused 'connection b\ntopic # both 0\n' "$tmp/bad.conf:1: connection 'b' has no address"
refused 'listener 1883\nmount_point a/\n' "$tmp/bad.conf:2: 'mount_point' is not supported"
refused 'log_dest carrier_pigeon\n' "unknown log_dest 'carrier_pigeon'"
out=$("$MQB" -c /nonexistent.conf 2>&1) && fail "missing file accepted"
[[ $out == *"/nonexistent.conf: No such file or directory"* ]] || fail "missing file: $out"
ok "missing config file reported"
"$MQB" -h 2>&1 | grep -q "Usage:" || fail "-h prints usage"
ok "-h prints usage"
"$MQB" -x >/dev/null 2>&1 && fail "unknown option accepted"
ok "unknown option refused"

# -p PORT: loopback only
p1=$(free_port)
"$MQB" -p "$p1" >"$tmp/p.log" 2>&1 &
pids+=($!)
wait_port "$p1" || fail "-p $p1 not listening"
ss -ltnH "sport = :$p1" | grep -q "127.0.0.1:$p1" || fail "-p is not on loopback: $(ss -ltnH "sport = :$p1")"
ok "-p listens on 127.0.0.1 only"
mosquitto_pub -p "$p1" -t t -m x || fail "publish via -p broker"
ok "-p broker works"

# a full config: two listeners, pid_file, log_dest file, connection_messages
p2=$(free_port)
p3=$(free_port)
cat >"$tmp/ok.conf" <<CONF
# Mosquitto style
listener $p2 127.0.0.1
listener $p3
allow_anonymous true
max_connections 100
max_inflight_messages 10
max_queued_messages 100
message_size_limit 0
persistent_client_expiration 1d
sys_interval 5
log_dest file $tmp/broker.log
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp false
set_tcp_nodelay true
pid_file $tmp/mqbroker.pid
persistence false
CONF
"$MQB" -c "$tmp/ok.conf" >"$tmp/stderr.log" 2>&1 &
pid=$!
pids+=($pid)
wait_port "$p2" || fail "listener $p2"
wait_port "$p3" || fail "listener $p3"
ok "two listeners"
ss -ltnH "sport = :$p3" | grep -Eq "(0.0.0.0|\*):$p3" || fail "listener without address binds all"
ok "listener PORT binds every address"
[ "$(cat "$tmp/mqbroker.pid")" = "$pid" ] || fail "pid_file"
ok "pid_file written"
mosquitto_pub -p "$p3" -i conf-client -t t -m x || fail "publish"
sleep 0.3
grep -q "new client connected from 127.0.0.1:[0-9]* as conf-client" "$tmp/broker.log" ||
	fail "connection message in log_dest file: $(cat "$tmp/broker.log")"
ok "log_dest file gets connection messages"
grep -Eq '^[0-9]{4}-' "$tmp/broker.log" && fail "log_timestamp false still stamps lines"
ok "log_timestamp false"
[ -s "$tmp/stderr.log" ] && fail "log_dest file still writes stderr: $(cat "$tmp/stderr.log")"
ok "only the configured log destination is used"
kill "$pid"
wait "$pid"
[ -e "$tmp/mqbroker.pid" ] && fail "pid_file not removed on exit"
ok "SIGTERM: clean exit, pid_file removed"

# user: drop root after binding (only testable as root)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	p4=$(free_port)
	printf 'listener %s 127.0.0.1\nuser nobody\npid_file %s/u.pid\n' "$p4" "$tmp" >"$tmp/user.conf"
	"$MQB" -c "$tmp/user.conf" >"$tmp/user.log" 2>&1 &
	upid=$!
	pids+=($upid)
	wait_port "$p4" || fail "user broker did not start: $(cat "$tmp/user.log")"
	# listening comes before dropping privileges: give it a moment
	for _ in $(seq 20); do
		uid=$(awk '/^Uid:/ {print $2}' /proc/$upid/status)
		[ "$uid" = "$(id -u nobody)" ] && break
		sleep 0.1
	done
	[ "$uid" = "$(id -u nobody)" ] || fail "still uid $uid after 'user nobody'"
	ok "user nobody: privileges dropped after binding (uid $uid)"
	mosquitto_pub -p "$p4" -t t -m x || fail "publish to the unprivileged broker"
	ok "unprivileged broker serves clients"
	printf 'listener %s 127.0.0.1\nuser no-such-user-here\n' "$(free_port)" >"$tmp/nouser.conf"
	out=$(timeout 5 "$MQB" -c "$tmp/nouser.conf" 2>&1) && fail "unknown user accepted"
	[[ $out == *"user 'no-such-user-here' does not exist"* ]] || fail "unknown user: $out"
	ok "unknown user refused"
fi
exit 0
