// SPDX-License-Identifier: GPL-2.0
/*
 * Listening sockets. When accept() runs out of descriptors (EMFILE,
 * ENFILE) the pending connection stays queued and a level-triggered
 * listener would wake the loop forever: accepting pauses for a second
 * instead, and the housekeeping tick resumes it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "broker.h"
#include "log.h"
#include "netutil.h"

#define LISTEN_BACKLOG 1024
#define ACCEPT_PAUSE_MS 1000

static void on_accept(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct listener *lst = arg;

	client_accept(lst->b, lst);
}

int listener_open(struct broker *b, const struct sockaddr_in *sa)
{
	char addr[NET_ADDRSTR_LEN];
	struct listener *lst;
	int fd, err;

	net_fmt_ipv4_port(sa->sin_addr.s_addr, sa->sin_port, addr, sizeof(addr));
	if (b->nlisteners == BROKER_MAX_LISTENERS)
		return -E2BIG;
	fd = net_tcp_listen(sa, LISTEN_BACKLOG);
	if (fd < 0) {
		pr_warn("listen on %s: %s\n", addr, strerror(-fd));
		return fd;
	}
	lst = &b->listeners[b->nlisteners];
	lst->b = b;
	lst->fd = fd;
	lst->addr = *sa;
	err = ev_add(b->loop, fd, EV_READ, on_accept, lst);
	if (err) {
		close(fd);
		return err;
	}
	b->nlisteners++;
	pr_info("listening on %s\n", addr);
	return 0;
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
