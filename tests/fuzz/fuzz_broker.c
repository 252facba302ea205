// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the whole broker read path: a fresh struct broker
 * per input, three real loopback TCP clients, and the input replayed as
 * records { client, length, bytes } written to those clients' sockets
 * with a loop iteration after each. This drives the read state machine
 * (packets cut anywhere), every handler, sessions, takeover, wills,
 * retained messages and the output path, under ASan and UBSan.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "broker.h"
#include "log.h"

#define NCLIENTS 3

static int connect_to(uint16_t port_be)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = port_be };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(int fd)
{
	char buf[65536];

	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* As mqbroker's main() does: a peer that went away is an error code, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fds[NCLIENTS] = { -1, -1, -1 };
	struct broker *b = calloc(1, sizeof(*b));
	socklen_t sl = sizeof(sa);
	size_t off = 0;
	int i, spins;

	log_set_level(LOG_LVL_WARN);
	broker_conf_init(&b->conf);
	b->conf.connection_messages = false;
	b->conf.max_inflight_messages = 2;
	b->conf.max_queued_messages = 4;
	b->conf.message_size_limit = size && data[0] & 1 ? 64 : 0;
	b->conf.max_packet_size = size && data[0] & 4 ? 512 : 0;
	/* Counted from the start: the broker's own state takes about 40 KiB of it. */
	b->conf.memory_limit = size && data[0] & 8 ? 256 * 1024 : 0;
	/* enable_proxy_protocol 2: every connection starts with a PROXY v2 header. */
	b->conf.def.proxy_v2 = size && data[0] & 16;
	if (broker_init(b))
		abort();
	if (size && data[0] & 2)
		b->slice_ns = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listener_open_sa(b, (struct sockaddr *)&sa, sizeof(sa), &b->conf.def, &b->sec) ||
	    getsockname(b->listeners[0].fd, (struct sockaddr *)&sa, &sl))
		abort();
	for (i = 0; i < NCLIENTS; i++)
		fds[i] = connect_to(sa.sin_port);
	for (spins = 0; b->nclients < NCLIENTS && spins < 100; spins++)
		ev_run_once(b->loop, spins ? 1 : 0);
	while (off + 2 <= size) {
		int k = data[off] % (NCLIENTS + 1);
		size_t len = data[off + 1];

		off += 2;
		if (len > size - off)
			len = size - off;
		if (k == NCLIENTS) {
			/* a housekeeping sweep and a $SYS round, as the 1 s tick would */
			client_housekeeping(b);
			sys_publish(b);
		} else if (fds[k] >= 0) {
			if (len && write(fds[k], data + off, len) < 0 && errno != EAGAIN)
				; /* the broker closed it: fine */
		}
		off += len;
		ev_run_once(b->loop, 0);
		for (i = 0; i < NCLIENTS; i++)
			drain(fds[i]);
	}
	for (i = 0; i < NCLIENTS; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	for (spins = 0; b->nclients && spins < 50; spins++)
		ev_run_once(b->loop, spins > 10 ? 1 : 0);
	ev_run_once(b->loop, 0); /* before_sleep frees closed clients */
	broker_fini(b);
	broker_conf_free(&b->conf);
	free(b);
	return 0;
}
