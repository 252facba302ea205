// SPDX-License-Identifier: GPL-2.0
/*
 * Why not libsystemd's sd_notify(): readiness is one sendto() on a datagram
 * socket, and systemd documents the protocol as a stable interface for
 * programs that do not link it. Linking it would add a build dependency
 * (libsystemd-dev) and a shared-library dependency to the package for a
 * dozen lines, and the unit test can point $NOTIFY_SOCKET at a socket of
 * its own, path or abstract, and read what arrives.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sd_notify.h"

#define SD_NOTIFY_MAX 512

int sd_notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t plen, slen = strlen(state);
	socklen_t salen;
	ssize_t n;
	int fd, err = 0;

	if (!path || !*path)
		return 0;
	plen = strlen(path);
	/* An absolute path, or '@' for the abstract namespace; anything else is not for us. */
	if ((path[0] != '/' && path[0] != '@') || plen < 2 || plen >= sizeof(sa.sun_path))
		return -EAFNOSUPPORT;
	memcpy(sa.sun_path, path, plen);
	/* Abstract: the name is the bytes after a NUL, not a string. */
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != slen)
		err = -EMSGSIZE;
	close(fd);
	return err ? err : 1;
}

int sd_notify_sendf(const char *fmt, ...)
{
	char buf[SD_NOTIFY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -EMSGSIZE;
	return sd_notify_send(buf);
}
