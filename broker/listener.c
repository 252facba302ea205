// SPDX-License-Identifier: GPL-2.0
/*
 * Listening sockets. A listener block opens one socket per address: its
 * address if it has a numeric one, every address of its host name, or,
 * without an address, the wildcard of each family (socket_domain limits
 * it to one), as Mosquitto binds them. IPv6 sockets are IPV6_V6ONLY, so
 * the IPv4 wildcard can be bound beside them.
 *
 * When accept() runs out of descriptors (EMFILE, ENFILE) the pending
 * connection stays queued and a level-triggered listener would wake the
 * loop forever: accepting pauses for a second instead, and the
 * housekeeping tick resumes it.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "broker.h"
#include "log.h"

#define LISTEN_BACKLOG 1024
#define ACCEPT_PAUSE_MS 1000

static void on_accept(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct listener *lst = arg;

	client_accept(lst->b, lst);
}

static int tcp_listen(const struct sockaddr *sa, socklen_t len)
{
	int fd, one = 1, err;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (sa->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, sa, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int listener_open_sa(struct broker *b, const struct sockaddr *sa, socklen_t len,
		     const struct listener_conf *lc, struct security *sec)
{
	char addr[PEER_ADDRSTR_LEN], why[200];
	struct listener *lst;
	int fd, err;

	if (b->nlisteners == BROKER_MAX_SOCKETS)
		return -E2BIG;
	lst = &b->listeners[b->nlisteners];
	memset(lst, 0, sizeof(*lst));
	peer_addr_set(&lst->addr, sa);
	peer_addr_fmt(&lst->addr, addr, sizeof(addr));
	/* Each socket its own context: certificates loaded and checked before anything listens. */
	err = tls_listener_ctx(lc, &lst->tls, why, sizeof(why));
	if (err) {
		pr_warn("listener on %s: %s\n", addr, why);
		return err;
	}
	fd = tcp_listen(sa, len);
	if (fd < 0) {
		pr_warn("listen on %s: %s\n", addr, strerror(-fd));
		tls_ctx_free(lst->tls);
		return fd;
	}
	lst->b = b;
	lst->fd = fd;
	lst->conf = lc;
	lst->sec = sec;
	err = ev_add(b->loop, fd, EV_READ, on_accept, lst);
	if (err) {
		close(fd);
		tls_ctx_free(lst->tls);
		return err;
	}
	b->nlisteners++;
	pr_info("listening on %s%s\n", addr, lst->tls ? " (TLS)" : "");
	return 0;
}

/* The wildcard of one family. */
static int open_any(struct broker *b, int family, const struct listener_conf *lc,
		    struct security *sec)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(lc->port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(lc->port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };

	if (family == AF_INET6)
		return listener_open_sa(b, (struct sockaddr *)&s6, sizeof(s6), lc, sec);
	return listener_open_sa(b, (struct sockaddr *)&s4, sizeof(s4), lc, sec);
}

/*
 * Without an address: both wildcards. A host without IPv6 (the module
 * off, or disabled) still gets its IPv4 listener, as Mosquitto does.
 */
static int open_wildcards(struct broker *b, const struct listener_conf *lc, struct security *sec)
{
	int err;

	if (lc->family != AF_UNSPEC)
		return open_any(b, lc->family, lc, sec);
	err = open_any(b, AF_INET, lc, sec);
	if (err)
		return err;
	err = open_any(b, AF_INET6, lc, sec);
	if (err == -EAFNOSUPPORT || err == -EADDRNOTAVAIL) {
		pr_info("port %u: no IPv6 on this host, IPv4 only\n", lc->port);
		return 0;
	}
	return err;
}

int listener_open(struct broker *b, const struct listener_conf *lc, struct security *sec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	char port[8];
	int rc, err = 0, n = 0;

	if (!lc->host)
		return open_wildcards(b, lc, sec);
	hints.ai_family = lc->family;
	snprintf(port, sizeof(port), "%u", lc->port);
	/* Start-up only: a name in the configuration may block here, not on the loop. */
	rc = getaddrinfo(lc->host, port, &hints, &res);
	if (rc) {
		pr_warn("listener %s %s: %s\n", port, lc->host,
			rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -EADDRNOTAVAIL;
	}
	for (ai = res; ai && !err; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		err = listener_open_sa(b, ai->ai_addr, ai->ai_addrlen, lc, sec);
		n++;
	}
	freeaddrinfo(res);
	return err ? err : n ? 0 : -EADDRNOTAVAIL;
}

void listener_pause(struct broker *b, int err)
{
	int i;

	if (b->accept_paused_until)
		return;
	pr_warn("accept: %s: no new connections for %d ms\n", strerror(-err), ACCEPT_PAUSE_MS);
	for (i = 0; i < b->nlisteners; i++)
		ev_mod(b->loop, b->listeners[i].fd, 0);
	b->accept_paused_until = ev_now_ms(b->loop) + ACCEPT_PAUSE_MS;
}

void listener_tick(struct broker *b)
{
	int i;

	if (!b->accept_paused_until || ev_now_ms(b->loop) < b->accept_paused_until)
		return;
	b->accept_paused_until = 0;
	for (i = 0; i < b->nlisteners; i++)
		ev_mod(b->loop, b->listeners[i].fd, EV_READ);
}
