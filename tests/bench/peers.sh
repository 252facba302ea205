# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The balancers mqlb is measured against, as configured in the e2e test bed
# (tests/e2e/lib.sh): HAProxy as the original study ran it, and nftables
# round-robin DNAT with SNAT (Linux conntrack). Sourced by bench.sh and attack.sh.

haproxy_conf() {
	# The study's balancer (docs/study.md): mode tcp, roundrobin, TCP checks, a stats page.
	cat <<EOF
global
	maxconn 9000
defaults
	mode tcp
	timeout connect 5s
	timeout client 1m
	timeout server 1m
listen mqtt
	bind $VIP:$VIP_PORT
	mode tcp
	balance roundrobin
	server broker1 $(broker_addr 1):1883 check
	server broker2 $(broker_addr 2):1883 check
	server broker3 $(broker_addr 3):1883 check
listen stats
	bind 127.0.0.1:9000
	mode http
	stats enable
	stats uri /
	stats auth admin:secret
EOF
}

nft_conf() {
	# Round-robin DNAT in the balancer; SNAT toward the brokers so replies come back.
	cat <<EOF
table ip mqlbbench {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $VIP tcp dport $VIP_PORT dnat to numgen inc mod 3 map { 0 : $(broker_addr 1), 1 : $(broker_addr 2), 2 : $(broker_addr 3) }
	}
	chain post {
		type nat hook postrouting priority srcnat;
		ct status dnat oifname "lbb" snat to $SNAT
	}
}
EOF
}
