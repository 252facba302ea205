#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Health checks that log in, against Debian's mosquitto with
# allow_anonymous false and a password_file made by mosquitto_passwd:
#   1. the right user and password-file: CONNACK 0, the check disconnects
#      cleanly (mosquitto logs "disconnected", not "closed its connection")
#      under the configured client-id prefix, and a client with its own
#      login gets through the VIP;
#   2. a wrong password (the file changed, SIGHUP): the backends stay up,
#      `mqlb backend show` says "credentials refused: CONNACK 5", the log
#      has one warning per backend, and clients still get through;
#   3. no login at all (the issue's case: mosquitto 2.0's default): the
#      same, instead of every backend down and every SYN reset;
#   4. the right password again: "accepted again".
# The password appears in no log line, and `mqlbd -t` refuses a missing
# password file with FILE:LINE and warns about one others can read.
. "$(dirname "$0")/lib.sh"
bed_require
command -v mosquitto_passwd >/dev/null || skip "mosquitto_passwd is missing (mosquitto)"
bed_up

USER=mqlb-health
PW='S3cret pass:with#signs'
WRONG='not-the-password'
mosquitto_passwd -b -c "$WORK/passwd" "$USER" "$PW" 2>/dev/null || fail "mosquitto_passwd"
mosquitto_passwd -b "$WORK/passwd" client1 client1pw 2>/dev/null || fail "mosquitto_passwd client1"
chmod 644 "$WORK/passwd"  # mosquitto drops no privileges here (user root), but say it anyway

for i in 1 2 3; do
	cat >"$WORK/mosq-b$i.conf" <<-CONF
	listener 1883 0.0.0.0
	allow_anonymous false
	password_file $WORK/passwd
	user root
	persistence false
	log_dest stderr
	log_type all
	connection_messages true
	CONF
	ip netns exec "${P}b$i" mosquitto -c "$WORK/mosq-b$i.conf" >"$WORK/mosq-b$i.log" 2>&1 &
	CLEANUP_PIDS+=($!)
done
for i in 1 2 3; do wait_port "b$i" 1883 || fail "mosquitto b$i: $(cat "$WORK/mosq-b$i.log")"; done

PWFILE=$WORK/health.pw
printf '%s\n' "$PW" >"$PWFILE"
chmod 600 "$PWFILE"
LOGIN="user $USER password-file $PWFILE client-id-prefix lbtest-hc-"
MQLB=("$BUILD/mqlb" --pin-path "$PIN" --control "$CTL")
mqlb() { nsx lb "${MQLB[@]}" "$@"; }
jpy() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# checks_say MESSAGE: every backend's last check says MESSAGE and it is up (5 s at most).
checks_say() {
	local want=$1 got
	for _ in $(seq 50); do
		got=$(mqlb -j backend show | jpy '" ".join(sorted(set(b["state"] + "/" + str(b["check_message"]) for b in j)))')
		[ "$got" = "up/$want" ] && return 0
		sleep 0.1
	done
	fail "backends: want all 'up/$want', got '$got'"
}

# client_gets_through: a client with its own login publishes through the VIP.
client_gets_through() {
	nsx cli timeout 5 mosquitto_pub -h "$VIP" -p "$VIP_PORT" -u client1 -P client1pw -t t -m x ||
		fail "a client with a valid login did not get through the VIP ($1)"
}

log "== 1. the right login"
HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1 $LOGIN" write_mqlbd_conf generic
out=$(ip netns exec "${P}lb" "$BUILD/mqlbd" -t -c "$WORK/mqlbd.conf" 2>&1) || fail "mqlbd -t: $out"
start_mqlbd
checks_say "CONNACK 0"
client_gets_through "right login"
sleep 1.2  # a few more rounds of checks
for i in 1 2 3; do
	grep -q "as lbtest-hc-b$i (p2, c1, k10, u'$USER')" "$WORK/mosq-b$i.log" ||
		fail "b$i: no check logged in as lbtest-hc-b$i with user $USER: $(tail -5 "$WORK/mosq-b$i.log")"
	grep -q "Client lbtest-hc-b$i disconnected" "$WORK/mosq-b$i.log" ||
		fail "b$i: the checks did not disconnect cleanly: $(tail -5 "$WORK/mosq-b$i.log")"
	! grep -q "Client lbtest-hc-b$i closed its connection" "$WORK/mosq-b$i.log" ||
		fail "b$i: a check closed its connection without DISCONNECT"
done
log "checks log in as lbtest-hc-bN with user $USER and disconnect cleanly"

log "== 2. a wrong password in the file, then SIGHUP"
printf '%s\n' "$WRONG" >"$PWFILE"
kill -HUP "$MQLBD_PID"
checks_say "credentials refused: CONNACK 5"
for _ in $(seq 30); do
	[ "$(grep -c "broker up, health check credentials refused (CONNACK 5: not authorized) for user $USER" "$WORK/mqlbd.log")" = 3 ] && break
	sleep 0.1
done
[ "$(grep -c "broker up, health check credentials refused (CONNACK 5: not authorized) for user $USER" "$WORK/mqlbd.log")" = 3 ] ||
	fail "want one warning per backend: $(grep -c "credentials refused" "$WORK/mqlbd.log") in $(cat "$WORK/mqlbd.log")"
mqlb backend show | grep -q "ok (credentials refused: CONNACK 5)" || fail "backend show: $(mqlb backend show)"
client_gets_through "check refused"
log "refused credentials: backends up, 'credentials refused: CONNACK 5' in backend show, one warning each"

log "== 3. no login at all (mosquitto 2.0's default refuses anonymous clients)"
stop_mqlbd
HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1" write_mqlbd_conf generic
start_mqlbd
checks_say "credentials refused: CONNACK 5"
grep -q "credentials refused (CONNACK 5: not authorized) for no user name" "$WORK/mqlbd.log" ||
	fail "no warning for the anonymous check"
client_gets_through "anonymous check"
log "anonymous checks: backends up, clients pass (before: every backend down, every SYN reset)"

log "== 4. the right login again"
printf '%s\n' "$PW" >"$PWFILE"
HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1 $LOGIN" write_mqlbd_conf generic
kill -HUP "$MQLBD_PID"
checks_say "CONNACK 0"
for _ in $(seq 30); do
	[ "$(grep -c "the health check's credentials are accepted again" "$WORK/mqlbd.log")" = 3 ] && break
	sleep 0.1
done
[ "$(grep -c "the health check's credentials are accepted again" "$WORK/mqlbd.log")" = 3 ] ||
	fail "no 'accepted again' for each backend: $(tail -8 "$WORK/mqlbd.log")"
cp "$WORK/mqlbd.log" "$WORK/mqlbd-run.log"
stop_mqlbd

log "== the password in no log line, and mqlbd -t on the password file"
for f in "$WORK/mqlbd-run.log" "$WORK"/mosq-b*.log; do
	! grep -qF "$PW" "$f" || fail "the password is in $f"
	! grep -qF "$WRONG" "$f" || fail "the wrong password is in $f"
done
chmod 644 "$PWFILE"
out=$(ip netns exec "${P}lb" "$BUILD/mqlbd" -t -c "$WORK/mqlbd.conf" 2>&1) || fail "mqlbd -t: $out"
line=$(grep -n '^health' "$WORK/mqlbd.conf" | cut -d: -f1)
grep -q "mqlbd.conf:$line: health: password-file $PWFILE is open to other users (mode 0644); chmod 600" <<<"$out" ||
	fail "no warning about a readable password file: $out"
rm -f "$PWFILE"
out=$(ip netns exec "${P}lb" "$BUILD/mqlbd" -t -c "$WORK/mqlbd.conf" 2>&1) && fail "mqlbd -t passed without the password file"
grep -q "^$WORK/mqlbd.conf:$line: health: can't read password-file $PWFILE: No such file or directory$" <<<"$out" ||
	fail "mqlbd -t: want FILE:LINE: reason, got: $out"
log "mqlbd -t: warns about a readable password file, refuses a missing one with FILE:LINE"
log "PASS"
