// SPDX-License-Identifier: GPL-2.0
/*
 * Host names of bridge addresses, resolved off the event loop.
 *
 * A numeric address, the usual case, is converted with AI_NUMERICHOST:
 * no lookup and no thread. A name goes to a short-lived detached thread
 * that calls getaddrinfo() and nothing else, then hands its request back
 * by sending the request's pointer over a datagram socketpair whose other
 * end is registered in the loop. Ownership moves with the pointer: until
 * the send the request is the thread's (the loop only reads the fields it
 * set before starting it and writes only cb), after it the loop's. No lock,
 * and the thread never sees the broker's state.
 *
 * getaddrinfo() cannot be interrupted, so the bound on a lookup is the
 * caller's: bridge.c gives up after BRIDGE_RESOLVE_MS and cancels, and the
 * late answer is freed unread when it arrives. The thread itself lives as
 * long as the resolver's own timeouts (resolv.conf: timeout x attempts);
 * at most RESOLVE_MAX_PENDING threads may be pending at once, so a dead
 * name server cannot pile them up.
 *
 * Each thread sends through its own dup() of the write end, so the loop
 * may close its copies at any time without a thread writing into a reused
 * descriptor number; once the loop is gone the send fails (EPIPE, no
 * signal) and the thread frees its request itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "broker.h"

#define RESOLVE_MAX_PENDING	16
#define RESOLVE_DRAIN_BATCH	64

struct bridge_resolver {
	struct ev_loop *loop;
	int rfd;		/* the loop's end: request pointers come back here */
	int wfd;		/* dup()ed for each thread */
	int pending;		/* threads started and not yet answered */
};

struct bridge_lookup {
	/* Set by the loop before the thread starts; read-only afterwards. */
	char *host;
	uint16_t port;
	int wfd;
	/* The thread's until the pointer is sent back. */
	int rc;			/* getaddrinfo()'s */
	int sys_errno;		/* errno, for EAI_SYSTEM */
	struct sockaddr_in sa;
	/* The loop's alone. */
	bridge_resolved_fn cb;	/* NULL once cancelled */
	void *arg;
};

static void lookup_free(struct bridge_lookup *lk)
{
	free(lk->host);
	free(lk);
}

static int addrinfo_to_sin(const char *host, uint16_t port, int flags, struct sockaddr_in *sa,
			   int *sys_errno)
{
	struct addrinfo hints = {
		.ai_family = AF_INET,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = flags,
	};
	struct addrinfo *res = NULL;
	int rc;

	rc = getaddrinfo(host, NULL, &hints, &res);
	if (sys_errno)
		*sys_errno = errno;
	if (!rc && (!res || res->ai_addrlen != sizeof(*sa)))
		rc = EAI_NONAME;
	if (!rc) {
		memcpy(sa, res->ai_addr, sizeof(*sa));
		sa->sin_port = htons(port);
	}
	if (res)
		freeaddrinfo(res);
	return rc;
}

int bridge_resolve_numeric(const char *host, uint16_t port, struct sockaddr_in *sa)
{
	/* AI_NUMERICHOST: parsed in place, never a query, safe on the loop. */
	return addrinfo_to_sin(host, port, AI_NUMERICHOST, sa, NULL) ? -EINVAL : 0;
}

static void *lookup_thread(void *arg)
{
	struct bridge_lookup *lk = arg;
	int wfd = lk->wfd;

	lk->rc = addrinfo_to_sin(lk->host, lk->port, 0, &lk->sa, &lk->sys_errno);
	/* From the send on, lk is the loop's and may already be freed: only wfd is ours. */
	if (send(wfd, &lk, sizeof(lk), MSG_NOSIGNAL) != (ssize_t)sizeof(lk))
		lookup_free(lk); /* the loop is gone */
	close(wfd);
	return NULL;
}

static void answer(struct bridge_lookup *lk)
{
	const char *why = NULL;

	if (!lk->cb)
		return; /* cancelled: the caller gave up on it */
	if (lk->rc == EAI_SYSTEM)
		why = strerror(lk->sys_errno);
	else if (lk->rc)
		why = gai_strerror(lk->rc);
	lk->cb(lk->arg, lk->rc ? NULL : &lk->sa, why);
}

static void on_answer(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct bridge_resolver *r = arg;
	struct bridge_lookup *lk;
	int i;

	for (i = 0; i < RESOLVE_DRAIN_BATCH; i++) {
		if (recv(fd, &lk, sizeof(lk), MSG_DONTWAIT) != (ssize_t)sizeof(lk))
			return;
		r->pending--;
		answer(lk);
		lookup_free(lk);
	}
}

struct bridge_resolver *bridge_resolver_new(struct ev_loop *l)
{
	struct bridge_resolver *r = calloc(1, sizeof(*r));
	int sv[2], err;

	if (!r)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err = errno;
		free(r);
		errno = err;
		return NULL;
	}
	r->loop = l;
	r->rfd = sv[0];
	r->wfd = sv[1];
	err = ev_add(l, r->rfd, EV_READ, on_answer, r);
	if (err) {
		close(sv[0]);
		close(sv[1]);
		free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

void bridge_resolver_free(struct bridge_resolver *r)
{
	struct bridge_lookup *lk;

	if (!r)
		return;
	/*
	 * Threads that answer from now on get EPIPE and free their own
	 * request; the answers already queued are freed here, unread.
	 */
	shutdown(r->rfd, SHUT_RD);
	while (recv(r->rfd, &lk, sizeof(lk), MSG_DONTWAIT) == (ssize_t)sizeof(lk))
		lookup_free(lk);
	ev_del(r->loop, r->rfd);
	close(r->rfd);
	close(r->wfd);
	free(r);
}

struct bridge_lookup *bridge_resolve_start(struct bridge_resolver *r, const char *host,
					   uint16_t port, bridge_resolved_fn cb, void *arg)
{
	struct bridge_lookup *lk;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int err;

	if (r->pending >= RESOLVE_MAX_PENDING) {
		errno = EAGAIN;
		return NULL;
	}
	lk = calloc(1, sizeof(*lk));
	if (!lk)
		return NULL;
	lk->port = port;
	lk->cb = cb;
	lk->arg = arg;
	lk->host = strdup(host);
	if (!lk->host) {
		err = ENOMEM;
		goto out_free;
	}
	lk->wfd = fcntl(r->wfd, F_DUPFD_CLOEXEC, 0);
	if (lk->wfd < 0) {
		err = errno;
		goto out_free;
	}
	err = pthread_attr_init(&attr);
	if (err)
		goto out_close;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Every signal stays with the loop thread (signalfd); the lookup thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&tid, &attr, lookup_thread, lk);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err)
		goto out_close;
	r->pending++;
	return lk;

out_close:
	close(lk->wfd);
out_free:
	free(lk->host);
	free(lk);
	errno = err;
	return NULL;
}

void bridge_resolve_cancel(struct bridge_lookup *lk)
{
	if (lk)
		lk->cb = NULL;
}
