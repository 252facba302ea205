// SPDX-License-Identifier: GPL-2.0
/* Peer addresses of either family, as the log and $SYS show them. */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "broker.h"

void peer_addr_set(struct peer_addr *p, const struct sockaddr *sa)
{
	memset(p, 0, sizeof(*p));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(p->ip, &s4->sin_addr, 4);
		p->port = s4->sin_port;
		p->family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(p->ip, &s6->sin6_addr, 16);
		p->port = s6->sin6_port;
		p->family = AF_INET6;
	}
}

/*
 * IPv6 in brackets (RFC 3986's form; Mosquitto writes "::1:port", which
 * cannot be read back). A socketpair has no address: "0.0.0.0:0".
 */
const char *peer_addr_fmt(const struct peer_addr *p, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (p->family == AF_INET6) {
		inet_ntop(AF_INET6, p->ip, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(p->port));
	} else {
		inet_ntop(AF_INET, p->ip, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(p->port));
	}
	return buf;
}
