// SPDX-License-Identifier: GPL-2.0
/*
 * mqlbd's stats page and /metrics: the renderers over the fixture snapshot
 * (no sockets), promtool's verdict on the exposition when it is installed,
 * and the real server on 127.0.0.1 with a free port: 401 without or with
 * wrong credentials, 200 with them, 404/405/503.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include "stats_http.h"
#include "test_cli_fixture.h"

#define PROMTOOL "/usr/bin/promtool"

static char *render(int (*fn)(FILE *, const struct snapshot *), const struct snapshot *s)
{
	char *data = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&data, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, s), 0);
	fclose(f);
	return data;
}

static int setup(void **state)
{
	struct snapshot *s = snapshot_new();

	if (!s)
		return -1;
	fixture_fill(s);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	snapshot_free(*state);
	return 0;
}

static void test_html(void **state)
{
	char *html = render(stats_render_html, *state);

	assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"5\">"));
	assert_non_null(strstr(html, "VIP <b>10.201.1.1:1883</b>"));
	assert_non_null(strstr(html, "uptime <b>1h2m</b>"));
	assert_non_null(strstr(html, "flow table <b>3 / 262144</b>"));
	/* names and check messages come from a map: escaped, never markup */
	assert_non_null(strstr(html, "<td class=\"l\">b&lt;2&gt;</td>"));
	assert_null(strstr(html, "b<2>"));
	assert_non_null(strstr(html, "FAILED: connection &quot;refused&quot;"));
	assert_non_null(strstr(html, "<tr class=\"up\"><td class=\"l\">b1</td>"
				     "<td class=\"l\">10.201.2.11:1883</td><td class=\"l\">up</td>"
				     "<td>1m5s</td><td>1</td><td>10</td><td>12</td><td>30</td>"
				     "<td>6400</td><td>5000</td><td>100</td><td>90</td>"
				     "<td class=\"l\">OK: CONNACK 0</td><td>1.234 ms</td></tr>"));
	assert_non_null(strstr(html, "<tr class=\"drain\"><td class=\"l\">#5</td>"));
	assert_non_null(strstr(html, "<tr class=\"unknown\"><td class=\"l\">weird</td>"));
	assert_non_null(strstr(html, "<td class=\"l\">fwd_to_backend</td><td>10</td>"));
	assert_non_null(strstr(html, "</html>\n"));
	assert_non_null(strstr(html, "balance <b>roundrobin</b>"));
	assert_null(strstr(html, "By client id"));
	free(html);
}

/* balance client-id: the header says so and the total is split by how flows were placed. */
static void test_html_client_id(void **state)
{
	struct snapshot *s = *state;
	char *html;

	s->cfg.flags |= MQLB_CFG_CLIENT_ID;
	html = render(stats_render_html, s);
	assert_non_null(strstr(html, "balance <b>client-id</b>"));
	assert_non_null(strstr(html, "<th>Total flows</th><th>By client id</th><th>By round-robin</th>"));
	assert_non_null(strstr(html, "<td>12</td><td>30</td><td>28</td><td>2</td><td>6400</td>"));
	free(html);
}

static void test_metrics_samples(void **state)
{
	static const char *const want[] = {
	    "# HELP mqlb_backend_up ",
	    "# TYPE mqlb_backend_up gauge\n",
	    "\nmqlb_backend_up{backend=\"b1\"} 1\n",
	    "\nmqlb_backend_up{backend=\"b<2>\"} 0\n",
	    "\nmqlb_backend_flows_active{backend=\"b1\"} 10\n",
	    "\nmqlb_backend_flows_total{backend=\"b1\"} 30\n",
	    "# TYPE mqlb_backend_flows_total counter\n",
	    "# TYPE mqlb_backend_flows_chosen_total counter\n",
	    "\nmqlb_backend_flows_chosen_total{backend=\"b1\",by=\"client_id\"} 28\n",
	    "\nmqlb_backend_flows_chosen_total{backend=\"b1\",by=\"round_robin\"} 2\n",
	    "\nmqlb_backend_bytes_total{backend=\"b1\",direction=\"in\"} 6400\n",
	    "\nmqlb_backend_bytes_total{backend=\"b1\",direction=\"out\"} 5000\n",
	    "\nmqlb_backend_packets_total{backend=\"b1\",direction=\"out\"} 90\n",
	    "\nmqlb_backend_state{backend=\"#5\",state=\"drain\"} 1\n",
	    "\nmqlb_backend_state{backend=\"#5\",state=\"up\"} 0\n",
	    "\nmqlb_backend_check_latency_seconds{backend=\"b1\"} 0.001234\n",
	    "\nmqlb_backend_state_seconds{backend=\"b<2>\"} 7200\n",
	    "\nmqlb_packets_total{action=\"rx\"} 0\n",
	    "\nmqlb_packets_total{action=\"fwd_to_backend\"} 10\n",
	    "# TYPE mqlb_packets_total counter\n",
	    "\nmqlb_flow_events_total{event=\"new\"} 50\n",
	    "\nmqlb_uptime_seconds 3723.000\n",
	    "\nmqlb_flow_table_entries 3\n",
	    "\nmqlb_flow_table_size 262144\n",
	};
	char *m = render(stats_render_metrics, *state);
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(m, want[i]))
			fprintf(stderr, "missing: %s\n", want[i]);
		assert_non_null(strstr(m, want[i]));
	}
	/* a backend never checked has no latency sample */
	assert_null(strstr(m, "mqlb_backend_check_latency_seconds{backend=\"#5\"}"));
	free(m);
}

/* Every family is announced once, and its samples are contiguous (the format requires it). */
static void test_metrics_families_once(void **state)
{
	char *m = render(stats_render_metrics, *state), *line, *save = NULL;
	char fam[128] = "", seen[64][128];
	size_t nseen = 0, i;

	for (line = strtok_r(m, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# TYPE ", 7)) {
			sscanf(line + 7, "%127s", fam);
			for (i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], fam);
			assert_true(nseen < 64);
			strcpy(seen[nseen++], fam);
			continue;
		}
		if (line[0] == '#')
			continue;
		sscanf(line, "%127[^{ ]", name);
		assert_string_equal(name, fam);
	}
	free(m);
}

static void test_metrics_label_escaping(void **state)
{
	struct snapshot *s = *state;
	char *m;

	snprintf(s->backends[3].info.name, sizeof(s->backends[3].info.name), "a\"b\\c");
	m = render(stats_render_metrics, s);
	assert_non_null(strstr(m, "mqlb_backend_up{backend=\"a\\\"b\\\\c\"} 0\n"));
	free(m);
}

static void test_promtool(void **state)
{
	char path[] = "/tmp/test_stats_http_XXXXXX", cmd[128];
	char *m = render(stats_render_metrics, *state);
	FILE *f;
	int fd;

	if (access(PROMTOOL, X_OK)) {
		free(m);
		skip();
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(m, f);
	fclose(f);
	free(m);
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < %s", path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
}

/* ---- the server ---- */

struct fill_ctx {
	int calls;
	int fail; /* -errno to return */
};

static int fill_fixture(void *arg, struct snapshot *s)
{
	struct fill_ctx *c = arg;

	c->calls++;
	if (c->fail)
		return c->fail;
	fixture_fill(s);
	return 0;
}

/* One HTTP/1.0 exchange; returns the status code and copies the response. */
static int http(uint16_t port, const char *req, char *resp, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 5};
	size_t got = 0;
	ssize_t n;
	int fd, code = -1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (got < len - 1 && (n = read(fd, resp + got, len - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	sscanf(resp, "HTTP/1.%*d %d", &code);
	return code;
}

/* base64("admin:secret") and base64("admin:wrong") */
#define AUTH_OK	 "Authorization: Basic YWRtaW46c2VjcmV0\r\n"
#define AUTH_BAD "Authorization: Basic YWRtaW46d3Jvbmc=\r\n"

static void test_server_auth(void **state)
{
	static char resp[1 << 16];
	struct fill_ctx ctx = {0};
	struct stats_http *h;
	uint16_t port;

	assert_int_equal(stats_http_start("127.0.0.1:0", "admin", "secret", fill_fixture, &ctx, &h),
			 0);
	port = stats_http_port(h);
	assert_true(port > 0);

	assert_int_equal(http(port, "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 401);
	assert_non_null(strstr(resp, "WWW-Authenticate: Basic realm=\"mqlb\""));
	assert_int_equal(http(port, "GET / HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 401);
	assert_int_equal(
	    http(port, "GET /metrics HTTP/1.0\r\n" AUTH_BAD "\r\n", resp, sizeof(resp)), 401);
	assert_int_equal(ctx.calls, 0); /* nothing is read for an unauthorised client */

	assert_int_equal(http(port, "GET /metrics HTTP/1.0\r\n" AUTH_OK "\r\n", resp, sizeof(resp)),
			 200);
	assert_non_null(strstr(resp, "text/plain; version=0.0.4"));
	assert_non_null(strstr(resp, "mqlb_backend_flows_total{backend=\"b1\"} 30\n"));
	assert_int_equal(http(port, "GET / HTTP/1.0\r\n" AUTH_OK "\r\n", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "text/html"));
	assert_non_null(strstr(resp, "<h1>mqlb statistics</h1>"));
	assert_int_equal(http(port, "GET /nope HTTP/1.0\r\n" AUTH_OK "\r\n", resp, sizeof(resp)),
			 404);
	assert_int_equal(http(port, "POST / HTTP/1.0\r\n" AUTH_OK "Content-Length: 0\r\n\r\n", resp,
			      sizeof(resp)),
			 405);
	ctx.fail = -EIO;
	assert_int_equal(http(port, "GET / HTTP/1.0\r\n" AUTH_OK "\r\n", resp, sizeof(resp)), 503);
	stats_http_stop(h);
}

static void test_server_open(void **state)
{
	static char resp[1 << 16];
	struct fill_ctx ctx = {0};
	struct stats_http *h, *h2;

	assert_int_equal(stats_http_start("127.0.0.1:0", NULL, NULL, fill_fixture, &ctx, &h), 0);
	assert_int_equal(
	    http(stats_http_port(h), "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 200);
	assert_int_equal(ctx.calls, 1);
	/* the same port twice: the bind error comes back as -errno */
	snprintf(resp, 64, "127.0.0.1:%u", stats_http_port(h));
	assert_int_equal(stats_http_start(resp, NULL, NULL, fill_fixture, &ctx, &h2), -EADDRINUSE);
	assert_null(h2);
	stats_http_stop(h);
	stats_http_stop(NULL);
}

static void test_server_bad_args(void **state)
{
	static const char *const bad[] = {"",
					  ":80",
					  "127.0.0.1",
					  "127.0.0.1:",
					  "1.2.3:80",
					  "127.0.0.1:65536",
					  "127.0.0.1:-1",
					  "localhost:80"};
	struct stats_http *h;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(stats_http_start(bad[i], NULL, NULL, fill_fixture, NULL, &h),
				 -EINVAL);
	assert_int_equal(stats_http_start("127.0.0.1:0", "u", NULL, fill_fixture, NULL, &h),
			 -EINVAL);
	assert_int_equal(stats_http_start("127.0.0.1:0", NULL, NULL, NULL, NULL, &h), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_html, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_html_client_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_samples, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_families_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_label_escaping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promtool, setup, teardown),
	    cmocka_unit_test(test_server_auth),
	    cmocka_unit_test(test_server_open),
	    cmocka_unit_test(test_server_bad_args),
	};

	return cmocka_run_group_tests_name("stats_http", tests, NULL, NULL);
}
