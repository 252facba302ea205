#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Drop-in for Debian's mosquitto (issue 16, item 4): the stock
# /etc/mosquitto/mosquitto.conf, and an include_dir of conf.d files.
#
# The stock file is checked as it is (mqbroker -t, which only reads it and its
# include_dir). To run it, its content is copied into a temporary directory with
# only its four absolute paths moved there (pid_file /run/mosquitto/,
# persistence_location /var/lib/mosquitto/, log_dest file /var/log/mosquitto/,
# include_dir /etc/mosquitto/conf.d): the test must not write to the system's
# directories nor race a real mosquitto for them. Every directive and value
# other than those paths is the stock file's, which the test checks.
#
# conf.d holds what a Debian admin puts there: a plain listener with
# allow_anonymous, a TLS listener, a limit, a README that is not *.conf and a
# *.conf.disabled file (both ignored). Then: pid_file written and removed, the
# log in the log file, retained messages and a persistent session's queued QoS 1
# message survive a restart through persistence_location, and a directive
# Mosquitto has and mqbroker does not is refused with its conf.d FILE:LINE.
set -u
BUILD=${BUILD:-build}
MQB=$BUILD/mqbroker
STOCK=/etc/mosquitto/mosquitto.conf
[ -x "$MQB" ] || { echo "SKIP: $MQB not built"; exit 77; }
[ -r "$STOCK" ] || { echo "SKIP: no $STOCK (mosquitto not installed)"; exit 77; }
for t in mosquitto_pub mosquitto_sub openssl; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
tmp=$(mktemp -d /tmp/mqbroker-debconf.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*"
	[ -f "$tmp/log/mosquitto.log" ] && tail -20 "$tmp/log/mosquitto.log"
	[ -f "$tmp/stderr" ] && tail -20 "$tmp/stderr"
	exit 1
}
ok() { echo "ok: $*"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# 1. The stock file as it is.
out=$("$MQB" -t -c "$STOCK" 2>&1) || fail "stock $STOCK refused: $out"
ok "the stock $STOCK loads as it is ($out)"

# 2. Its content, with the four system paths moved into $tmp.
mkdir -p "$tmp/run" "$tmp/lib" "$tmp/log" "$tmp/conf.d"
sed -e "s#/run/mosquitto/#$tmp/run/#" -e "s#/var/lib/mosquitto/#$tmp/lib/#" \
	-e "s#/var/log/mosquitto/#$tmp/log/#" -e "s#/etc/mosquitto/conf.d#$tmp/conf.d#" \
	"$STOCK" >"$tmp/mosquitto.conf"
# Moved back, the copy must be the stock file byte for byte.
sed -e "s#$tmp/run/#/run/mosquitto/#" -e "s#$tmp/lib/#/var/lib/mosquitto/#" \
	-e "s#$tmp/log/#/var/log/mosquitto/#" -e "s#$tmp/conf.d#/etc/mosquitto/conf.d#" \
	"$tmp/mosquitto.conf" | cmp -s - "$STOCK" ||
	fail "the copy differs from the stock file in more than its paths"
grep -q '^include_dir' "$tmp/mosquitto.conf" && grep -q '^persistence true' "$tmp/mosquitto.conf" ||
	fail "the stock file has no include_dir or persistence any more: update this test"
ok "the copy differs from the stock file only in its paths"

P=$(free_port)
PT=$(free_port)
(
	cd "$tmp" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
		-out ca.crt -days 2 -subj "/CN=test CA" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout s.key \
		-out s.csr -subj "/CN=localhost" &&
	echo "subjectAltName=IP:127.0.0.1" >san.ext &&
	openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out s.crt -days 2 \
		-extfile san.ext
) >/dev/null 2>&1 || fail "cannot make certificates"
cp /etc/mosquitto/conf.d/README "$tmp/conf.d/README" 2>/dev/null || echo "not a .conf" >"$tmp/conf.d/README"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$P" >"$tmp/conf.d/10-listener.conf"
printf 'listener %s 127.0.0.1\ncertfile %s\nkeyfile %s\n' "$PT" "$tmp/s.crt" "$tmp/s.key" \
	>"$tmp/conf.d/20-tls.conf"
printf 'max_queued_messages 500\nautosave_interval 1\n' >"$tmp/conf.d/30-limits.conf"
echo "this is not configuration" >"$tmp/conf.d/40-old.conf.disabled"

start() {
	"$MQB" -c "$tmp/mosquitto.conf" >"$tmp/stderr" 2>&1 &
	pid=$!
	wait_port "$P" && wait_port "$PT" || fail "mqbroker did not start"
}
stop() {
	kill "$pid"
	wait "$pid" 2>/dev/null
	pid=
}

out=$("$MQB" -t -c "$tmp/mosquitto.conf" 2>&1) || fail "refused with conf.d: $out"
start
ok "runs with the stock content and conf.d (plain $P, TLS $PT)"
[ "$(cat "$tmp/run/mosquitto.pid" 2>/dev/null)" = "$pid" ] || fail "pid_file not written"
ok "pid_file $tmp/run/mosquitto.pid holds its pid"
sleep 0.3
grep -q "listening on 127.0.0.1:$PT (TLS)" "$tmp/log/mosquitto.log" ||
	fail "log_dest file: no log in $tmp/log/mosquitto.log"
ok "log_dest file: the log is in $tmp/log/mosquitto.log"

# A persistent session with a subscription, then offline.
timeout 5 mosquitto_sub -p "$P" -i keeper -c -q 1 -t q/# -W 1 >/dev/null 2>&1
mosquitto_pub -p "$P" -t r/1 -m "kept" -r -q 1 || fail "retained publish"
mosquitto_pub -p "$P" -t q/1 -m "queued" -q 1 || fail "queued publish"
got=$(timeout 5 mosquitto_sub -p "$PT" --cafile "$tmp/ca.crt" -t r/1 -C 1 -W 3)
[ "$got" = kept ] || fail "retained over the conf.d TLS listener: got '$got'"
ok "conf.d's TLS listener serves what the plain one took"
sleep 1.5 # autosave_interval 1 (30-limits.conf)
stop
# mqbroker.db, not mosquitto.db: mqbroker's own format (broker/README.md), so a
# mosquitto.db left by Debian's mosquitto in the same place is never read or overwritten.
[ -s "$tmp/lib/mqbroker.db" ] || fail "no $tmp/lib/mqbroker.db after stopping"
[ -e "$tmp/run/mosquitto.pid" ] && fail "pid_file left behind"
ok "persistence_location holds mqbroker.db; pid_file removed at exit"

start
got=$(timeout 5 mosquitto_sub -p "$P" -t r/1 -C 1 -W 3)
[ "$got" = kept ] || fail "retained message lost across the restart: got '$got'"
got=$(timeout 5 mosquitto_sub -p "$P" -i keeper -c -q 1 -t q/# -C 1 -W 3)
[ "$got" = queued ] || fail "queued QoS 1 message lost across the restart: got '$got'"
ok "after a restart: the retained message, and the session's queued QoS 1 message"
stop

# What Mosquitto has and mqbroker does not: refused with the conf.d file's line.
printf '# mine\npsk_hint fleet\n' >"$tmp/conf.d/50-psk.conf"
out=$("$MQB" -c "$tmp/mosquitto.conf" 2>&1) && fail "psk_hint in conf.d accepted"
[[ $out == *"$tmp/conf.d/50-psk.conf:2: 'psk_hint' is not supported"* ]] ||
	fail "psk_hint: got '$out'"
ok "an unimplemented directive in conf.d: $tmp/conf.d/50-psk.conf:2: 'psk_hint' is not supported"
echo PASS
