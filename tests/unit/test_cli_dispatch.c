// SPDX-License-Identifier: GPL-2.0
/*
 * mqlb's command dispatch and error paths: prefixes, ambiguity, unknown
 * verbs, help at every level, argument checks, missing pins, and the
 * control socket against a fake mqlbd (a thread on a unix socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "cli.h"

struct capture {
	char *data;
	size_t len;
	FILE *f;
};

struct env {
	struct cli c;
	struct capture out;  /* c.out */
	struct capture json; /* json_wtr's stream */
	char dir[64];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	strcpy(e->dir, "/tmp/test_cli_XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	e->out.f = open_memstream(&e->out.data, &e->out.len);
	e->json.f = open_memstream(&e->json.data, &e->json.len);
	json_wtr = jsonw_new(e->json.f);
	e->c.prog = "mqlb";
	e->c.pin_path = "/nonexistent/mqlb";
	e->c.control_path = "/nonexistent/mqlbd.sock";
	e->c.out = e->out.f;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	jsonw_destroy(&json_wtr);
	fclose(e->out.f);
	fclose(e->json.f);
	free(e->out.data);
	free(e->json.data);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd))
		return -1;
	free(e);
	return 0;
}

/* Everything the JSON writer produced so far (the error object in these tests). */
static const char *json_text(struct env *e)
{
	jsonw_flush(json_wtr);
	return e->json.data ? e->json.data : "";
}

static const char *out_text(struct env *e)
{
	fflush(e->out.f);
	return e->out.data ? e->out.data : "";
}

static int run(struct env *e, int (*obj)(struct cli *, int, char **), const char *line)
{
	char buf[256], *argv[16], *tok;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok(buf, " "); tok && argc < 15; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return obj(&e->c, argc, argv);
}

/* ---- cmd_select over a table of its own ---- */

static char last_cmd[16];
static int last_argc;

static int f_show(struct cli *c, int argc, char **argv)
{
	strcpy(last_cmd, "show");
	last_argc = argc;
	return 0;
}
static int f_del(struct cli *c, int argc, char **argv)
{
	strcpy(last_cmd, "del");
	last_argc = argc;
	return 0;
}
static int f_drain(struct cli *c, int argc, char **argv)
{
	strcpy(last_cmd, "drain");
	last_argc = argc;
	return 0;
}
static int f_dis(struct cli *c, int argc, char **argv)
{
	strcpy(last_cmd, "disable");
	last_argc = argc;
	return 0;
}

static const struct cmd table[] = {
    {"show", f_show},
    {"list", f_show},
    {"del", f_del},
    {"drain", f_drain},
    {"disable", f_dis},
    {"sho", f_del},
    {0},
};

static int t_obj(struct cli *c, int argc, char **argv)
{
	return cmd_select(c, table, argc, argv, "thing");
}

static void test_prefix_and_default(void **state)
{
	struct env *e = *state;

	assert_int_equal(run(e, t_obj, ""), 0);
	assert_string_equal(last_cmd, "show"); /* first row is the default */
	assert_int_equal(run(e, t_obj, "l a b"), 0);
	assert_string_equal(last_cmd, "show");
	assert_int_equal(last_argc, 2);
	assert_int_equal(run(e, t_obj, "dr"), 0);
	assert_string_equal(last_cmd, "drain");
	assert_int_equal(run(e, t_obj, "de"), 0);
	assert_string_equal(last_cmd, "del");
	/* an exact name wins over being a prefix of another row */
	assert_int_equal(run(e, t_obj, "sho"), 0);
	assert_string_equal(last_cmd, "del");
	assert_string_equal(json_text(e), "");
}

static void test_ambiguous(void **state)
{
	struct env *e = *state;

	assert_int_equal(run(e, t_obj, "d"), -EINVAL);
	assert_string_equal(json_text(e),
			    "{\"error\":\"thing: command 'd' is ambiguous: del, drain, disable\"}");
}

static void test_alias_not_ambiguous(void **state)
{
	struct env *e = *state;

	/* "s" matches show and sho: two different functions, so ambiguous */
	assert_int_equal(run(e, t_obj, "s"), -EINVAL);
	assert_non_null(strstr(json_text(e), "is ambiguous: show, sho"));
}

static void test_unknown(void **state)
{
	struct env *e = *state;

	assert_int_equal(run(e, t_obj, "frob"), -EINVAL);
	assert_string_equal(json_text(e),
			    "{\"error\":\"thing: unknown command 'frob', try 'mqlb thing help'\"}");
}

/* Text mode: exactly one line on stderr, lowercase, no trailing period. */
static void test_error_line_plain(void **state)
{
	struct env *e = *state;
	json_writer_t *saved = json_wtr;
	char path[96], line[256] = "";
	int fd, saved_err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stderr", e->dir);
	fflush(stderr);
	saved_err = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
	json_wtr = NULL;
	assert_int_equal(run(e, do_backend, "frob"), -EINVAL);
	json_wtr = saved;
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_null(fgets(line + strlen(line), (int)(sizeof(line) - strlen(line)), f));
	fclose(f);
	assert_string_equal(line,
			    "error: backend: unknown command 'frob', try 'mqlb backend help'\n");
}

/* ---- the objects' own verbs ---- */

static void test_help_everywhere(void **state)
{
	struct env *e = *state;
	json_writer_t *saved = json_wtr;
	int (*objs[])(struct cli *, int, char **) = {do_backend, do_flow, do_stats, do_prog,
						      do_maglev};
	const char *names[] = {"backend", "flow", "stats", "prog", "maglev"};
	char want[64];
	size_t i;

	json_wtr = NULL;
	for (i = 0; i < 5; i++) {
		assert_int_equal(run(e, objs[i], "help"), 0);
		assert_int_equal(run(e, objs[i], "h"), 0);
		snprintf(want, sizeof(want), "Usage: mqlb %s ", names[i]);
		assert_non_null(strstr(out_text(e), want));
	}
	json_wtr = saved;
	/* JSON mode: help is null, so stdout stays JSON */
	assert_int_equal(run(e, do_flow, "help"), 0);
	assert_string_equal(json_text(e), "null");
}

static void test_missing_pins(void **state)
{
	struct env *e = *state;

	assert_int_equal(run(e, do_backend, "show"), -ENOENT);
	assert_string_equal(
	    json_text(e), "{\"error\":\"can't open pinned map '/nonexistent/mqlb/config': No such "
			  "file or directory (is mqlbd running? see --pin-path)\"}");
}

static void test_missing_pins_other_objects(void **state)
{
	struct env *e = *state;

	assert_int_equal(run(e, do_flow, "s"), -ENOENT);
	assert_non_null(strstr(json_text(e), "can't open pinned map"));
	assert_int_equal(run(e, do_stats, "show"), -ENOENT);
	assert_int_equal(run(e, do_stats, "watch -c 1"), -ENOENT);
	assert_int_equal(run(e, do_prog, "show"), -ENOENT);
	assert_non_null(strstr(json_text(e), "can't open pin path '/nonexistent/mqlb'"));
	assert_int_equal(run(e, do_maglev, "show sensor-1"), -ENOENT);
	assert_non_null(strstr(json_text(e), "can't open pinned map"));
}

static void test_bad_arguments(void **state)
{
	static const char *const bad[] = {
	    "add",
	    "add b1",
	    "add b1 10.0.0.1",
	    "add b1 10.0.0.300:1883",
	    "add b1 host:1883",
	    "add b1 10.0.0.1:99999",
	    "add b1 10.0.0.1:1883 weight",
	    "add b1 10.0.0.1:1883 weight 0",
	    "add b1 10.0.0.1:1883 weight 257",
	    "add b1 10.0.0.1:1883 weight 1x",
	    "add b1 10.0.0.1:1883 colour 1",
	    "add b;1 10.0.0.1:1883",
	    "add aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 10.0.0.1:1883",
	    "del",
	    "del a b",
	    "drain a/b",
	    "show a b",
	};
	struct env *e = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(run(e, do_backend, bad[i]), -EINVAL);
		/* refused before any connection: the socket path is never mentioned */
		assert_null(strstr(json_text(e), "mqlbd"));
	}
	assert_int_equal(run(e, do_flow, "show bogus"), -EINVAL);
	assert_int_equal(run(e, do_stats, "show x"), -EINVAL);
	assert_int_equal(run(e, do_stats, "watch -i"), -EINVAL);
	assert_int_equal(run(e, do_stats, "watch -i 0"), -EINVAL);
	assert_int_equal(run(e, do_stats, "watch -i abc"), -EINVAL);
	assert_int_equal(run(e, do_stats, "watch -c -1"), -EINVAL);
	assert_int_equal(run(e, do_stats, "watch -x 1"), -EINVAL);
	assert_int_equal(run(e, do_prog, "show x"), -EINVAL);
	/* maglev show needs at least one client id; unknown verbs are refused */
	assert_int_equal(run(e, do_maglev, "show"), -EINVAL);
	assert_non_null(strstr(json_text(e), "maglev show: expected CLIENT-ID"));
	assert_int_equal(run(e, do_maglev, "frob"), -EINVAL);
}

static void test_daemon_not_running(void **state)
{
	struct env *e = *state;

	assert_int_equal(run(e, do_backend, "drain b1"), -ENOENT);
	assert_string_equal(json_text(e), "{\"error\":\"mqlbd is not running (can't connect to "
					  "/nonexistent/mqlbd.sock: No such file or directory)\"}");
}

static void test_daemon_refused(void **state)
{
	struct env *e = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char want[256];

	/* A socket file nobody listens on, as a crashed daemon leaves behind. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead.sock", e->dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	e->c.control_path = sa.sun_path;
	assert_int_equal(run(e, do_backend, "enable b1"), -ECONNREFUSED);
	snprintf(want, sizeof(want),
		 "{\"error\":\"mqlbd is not running (can't connect to %s: Connection refused)\"}",
		 sa.sun_path);
	assert_string_equal(json_text(e), want);
}

/* ---- a fake mqlbd ---- */

struct fake_daemon {
	int lfd;
	const char *answer;
	char request[256];
	pthread_t thr;
};

static void *fake_serve(void *arg)
{
	struct fake_daemon *d = arg;
	size_t len = 0;
	ssize_t n;
	int fd = accept(d->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	while (len < sizeof(d->request) - 1 &&
	       (n = read(fd, d->request + len, sizeof(d->request) - 1 - len)) > 0) {
		len += (size_t)n;
		if (memchr(d->request, '\n', len))
			break;
	}
	d->request[len] = '\0';
	if (write(fd, d->answer, strlen(d->answer)) < 0)
		perror("fake mqlbd write");
	close(fd);
	return NULL;
}

static void fake_start(struct env *e, struct fake_daemon *d, const char *answer)
{
	static struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(d, 0, sizeof(*d));
	d->answer = answer;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/mqlbd.sock", e->dir);
	unlink(sa.sun_path);
	d->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(d->lfd, 1), 0);
	assert_int_equal(pthread_create(&d->thr, NULL, fake_serve, d), 0);
	e->c.control_path = sa.sun_path;
}

static void fake_join(struct fake_daemon *d)
{
	pthread_join(d->thr, NULL);
	close(d->lfd);
}

static void test_ctl_ok(void **state)
{
	struct env *e = *state;
	struct fake_daemon d;

	fake_start(e, &d, "ok backend b4 added\n");
	assert_int_equal(run(e, do_backend, "a b4 10.201.2.14:1883 w 3"), 0);
	fake_join(&d);
	assert_string_equal(d.request, "backend add b4 10.201.2.14:1883 weight 3\n");
	assert_string_equal(json_text(e), "{\"result\":\"ok\",\"message\":\"backend b4 added\"}");
}

static void test_ctl_ok_plain(void **state)
{
	struct env *e = *state;
	json_writer_t *saved = json_wtr;
	struct fake_daemon d;

	json_wtr = NULL;
	fake_start(e, &d, "ok draining b2\n");
	assert_int_equal(run(e, do_backend, "dr b2"), 0);
	fake_join(&d);
	json_wtr = saved;
	assert_string_equal(d.request, "backend drain b2\n");
	assert_string_equal(out_text(e), "draining b2\n");
}

static void test_ctl_error(void **state)
{
	struct env *e = *state;
	struct fake_daemon d;

	fake_start(e, &d, "error: backend 'zz' not found\n");
	assert_int_equal(run(e, do_backend, "del zz"), -EINVAL);
	fake_join(&d);
	assert_string_equal(d.request, "backend del zz\n");
	assert_string_equal(json_text(e), "{\"error\":\"backend 'zz' not found\"}");
}

static void test_ctl_garbage(void **state)
{
	struct env *e = *state;
	struct fake_daemon d;

	fake_start(e, &d, "\x01\x02weird\n");
	assert_int_equal(run(e, do_backend, "disable b1"), -EPROTO);
	fake_join(&d);
	assert_non_null(strstr(json_text(e), "unexpected answer from mqlbd"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_prefix_and_default),	 T(test_ambiguous),
	    T(test_alias_not_ambiguous), T(test_unknown),
	    T(test_error_line_plain),	 T(test_help_everywhere),
	    T(test_missing_pins),	 T(test_missing_pins_other_objects),
	    T(test_bad_arguments),	 T(test_daemon_not_running),
	    T(test_daemon_refused),	 T(test_ctl_ok),
	    T(test_ctl_ok_plain),	 T(test_ctl_error),
	    T(test_ctl_garbage),
	};

	return cmocka_run_group_tests_name("cli_dispatch", tests, NULL, NULL);
}
