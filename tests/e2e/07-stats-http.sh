#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mqlbd's stats listener: the HTML page and /metrics behind basic auth (401
# without credentials, also on /metrics), the page lists every backend with
# its state, /metrics passes `promtool check metrics`, and its per-backend
# active flows match what the brokers see.
. "$(dirname "$0")/lib.sh"
bed_require
command -v curl >/dev/null || skip "curl is not installed (make deps)"
command -v promtool >/dev/null || skip "promtool is not installed (make deps: prometheus)"
bed_up
start_brokers_star

STATS=127.0.0.1:9000
HEALTH_LINE="health mqtt interval 1s timeout 500ms rise 2 fall 2" \
	write_mqlbd_conf generic "stats $STATS admin:s3cret"
start_mqlbd
grep -q "stats page on http://$STATS/" "$WORK/mqlbd.log" || fail "no stats listener: $(cat "$WORK/mqlbd.log")"
for _ in $(seq 50); do
	[ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 3 ] && break
	sleep 0.1
done

code() { nsx lb curl -s -o /dev/null -w '%{http_code}' "$@"; }
for path in / /metrics; do
	c=$(code "http://$STATS$path")
	[ "$c" = 401 ] || fail "$path without credentials: HTTP $c, want 401"
	c=$(code -u admin:wrong "http://$STATS$path")
	[ "$c" = 401 ] || fail "$path with a wrong password: HTTP $c, want 401"
	c=$(code -u admin:s3cret "http://$STATS$path")
	[ "$c" = 200 ] || fail "$path with credentials: HTTP $c, want 200"
done
log "401 without or with wrong credentials, 200 with them, on / and /metrics"

ready=$WORK/ready
mqttc_bg hold --target $VIP:$VIP_PORT --count 12 --hold 60 --ready-file "$ready"
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
grep -q "connected 12/12" "$ready" || fail "clients: $(cat "$ready")"
sleep 1.5 # the collector counts live flows once a second

page=$(nsx lb curl -s -u admin:s3cret "http://$STATS/")
for i in 1 2 3; do
	grep -q ">b$i<" <<<"$page" || fail "the page does not list backend b$i"
done
grep -qi "refresh" <<<"$page" || fail "the page does not refresh by itself"
log "the page lists b1, b2, b3 and refreshes by itself"

nsx lb curl -s -u admin:s3cret "http://$STATS/metrics" >"$WORK/metrics.txt"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 ||
	fail "promtool check metrics: $(cat "$WORK/promtool.out")"
log "promtool check metrics: ok ($(grep -c '^mqlb_' "$WORK/metrics.txt") samples)"
for i in 1 2 3; do
	up=$(awk -v b="mqlb_backend_up{backend=\"b$i\"}" '$1 == b { print $2 }' "$WORK/metrics.txt")
	active=$(awk -v b="mqlb_backend_flows_active{backend=\"b$i\"}" '$1 == b { print $2 }' "$WORK/metrics.txt")
	seen=$(broker_conns "$i")
	[ "$up" = 1 ] || fail "mqlb_backend_up for b$i is '$up'"
	[ "$active" = "$seen" ] || fail "b$i: mqlb_backend_flows_active $active, broker sees $seen"
	grep -q "^mqlb_backend_flows_total{backend=\"b$i\"} [1-9]" "$WORK/metrics.txt" || fail "flows_total b$i"
	grep -q "^mqlb_backend_bytes_total{backend=\"b$i\",direction=\"in\"} [1-9]" "$WORK/metrics.txt" ||
		fail "bytes_total in b$i"
done
grep -q '^mqlb_packets_total{action="' "$WORK/metrics.txt" || fail "no mqlb_packets_total"
log "per-backend active flows in /metrics match the brokers: $(broker_conns 1)/$(broker_conns 2)/$(broker_conns 3)"
kill "$BG_PID"
stop_mqlbd
log "PASS"
