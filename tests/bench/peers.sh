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

# HAProxy choosing the broker by the CONNECT's client id, as its manual shows it:
# wait for a whole CONNECT (inspect delay), hash its client id, consistent hashing
# (a broker going away moves only its own clients), the same health checks.
haproxy_cid_conf() {
	haproxy_conf | sed -e 's/^\tbalance roundrobin$/\ttcp-request inspect-delay 5s\n\ttcp-request content reject unless { req.payload(0,0),mqtt_is_valid }\n\tbalance hash req.payload(0,0),mqtt_field_value(connect,client_identifier)\n\thash-type consistent/'
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
