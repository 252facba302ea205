// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "ctl_client.h"

int ctl_connect(const char *path, int timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_s };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int send_line(int fd, const char *line)
{
	size_t len = strlen(line);

	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return errno ? -errno : -EIO;
	return 0;
}

static int read_answer(int fd, char **answer)
{
	char *ans = malloc(CTL_MAX_ANSWER + 1);
	size_t len = 0;
	ssize_t n;

	if (!ans)
		return -ENOMEM;
	while (len < CTL_MAX_ANSWER && (n = read(fd, ans + len, CTL_MAX_ANSWER - len)) != 0) {
		if (n < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			free(ans);
			return err;
		}
		len += (size_t)n;
	}
	while (len && (ans[len - 1] == '\n' || ans[len - 1] == '\r'))
		len--;
	ans[len] = '\0';
	*answer = ans;
	return 0;
}

int ctl_call(const char *path, const char *line, int timeout_s, char **answer,
	     enum ctl_stage *stage)
{
	int fd, err;

	*answer = NULL;
	*stage = CTL_STAGE_CONNECT;
	fd = ctl_connect(path, timeout_s);
	if (fd < 0)
		return fd;
	*stage = CTL_STAGE_SEND;
	err = send_line(fd, line);
	if (!err) {
		*stage = CTL_STAGE_RECV;
		err = read_answer(fd, answer);
	}
	close(fd);
	return err;
}

int ctl_answer_split(char *answer, char **msg)
{
	if (!strncmp(answer, "ok", 2) && (!answer[2] || answer[2] == ' ' || answer[2] == '\n')) {
		*msg = answer[2] ? answer + 3 : answer + 2;
		return 0;
	}
	if (!strncmp(answer, "error: ", 7)) {
		*msg = answer + 7;
		return -EINVAL;
	}
	*msg = answer;
	return -EPROTO;
}
