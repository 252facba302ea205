// SPDX-License-Identifier: GPL-2.0
/* The stats page and /metrics of mqlbd over libmicrohttpd; see stats_http.h for threading. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

#include "netutil.h"
#include "stats_http.h"

#define REFRESH_S	5
#define MAX_CONNECTIONS 32
#define CONN_TIMEOUT_S	10
#define REALM		"mqlb"

struct stats_http {
	struct MHD_Daemon *mhd;
	stats_fill_fn fill;
	void *arg;
	char *user; /* NULL: no authentication */
	char *password;
	uint16_t port;
};

/* ---- rendering ---------------------------------------------------------------------- */

static void html_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

/* Prometheus label values: backslash, double quote and newline are escaped. */
static void label_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static uint64_t since(const struct snapshot *s, uint64_t t)
{
	return t && t <= s->now_ns ? s->now_ns - t : 0;
}

static const char *check_text(const struct snap_backend *b, char *buf, size_t len)
{
	static const char *const res[] = {"-", "OK", "FAILED"};
	const char *r = b->info.check_result < 3 ? res[b->info.check_result] : "?";

	if (b->info.check_result != MQLB_CHECK_NONE && b->info.check_msg[0])
		snprintf(buf, len, "%s: %s", r, b->info.check_msg);
	else
		snprintf(buf, len, "%s", r);
	return buf;
}

static const char *const html_head =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"refresh\" content=\"%d\">\n"
    "<title>mqlb statistics</title>\n"
    "<style>\n"
    "body{font-family:sans-serif;font-size:13px;margin:1em}\n"
    "table{border-collapse:collapse;margin-bottom:1em}\n"
    "th,td{border:1px solid #999;padding:2px 6px;text-align:right}\n"
    "th{background:#20507a;color:#fff}td.l{text-align:left}\n"
    "tr.up{background:#c0ffc0}tr.down{background:#ffc0c0}\n"
    "tr.drain{background:#ffe0a0}tr.disabled{background:#ddd}tr.unknown{background:#fff}\n"
    "</style></head><body>\n";

static void html_backends(FILE *out, const struct snapshot *s)
{
	unsigned int i;

	bool by_id = s->have_config && (s->cfg.flags & MQLB_CFG_CLIENT_ID);

	fputs("<h2>Backends</h2>\n<table>\n<tr><th>Name</th><th>Address</th><th>State</th>"
	      "<th>In state</th><th>Weight</th><th>Current flows</th><th>Max flows</th>"
	      "<th>Total flows</th>", out);
	/* balance client-id: how the total was placed */
	if (by_id)
		fputs("<th>By client id</th><th>By round-robin</th>", out);
	fputs("<th>Bytes in</th><th>Bytes out</th><th>Packets in</th>"
	      "<th>Packets out</th><th>Last check</th><th>Latency</th></tr>\n",
	      out);
	for (i = 0; i < s->nbackends; i++) {
		const struct snap_backend *b = &s->backends[i];
		const char *state = snap_state_name(b->be.state);
		char name[16], addr[NET_ADDRSTR_LEN], dur[24], chk[96], lat[24] = "-";
		uint64_t st = since(s, b->info.state_since_ns);

		if (b->info.check_result != MQLB_CHECK_NONE)
			snprintf(lat, sizeof(lat), "%u.%03u ms", b->info.check_latency_us / 1000,
				 b->info.check_latency_us % 1000);
		fprintf(out, "<tr class=\"%s\"><td class=\"l\">", state);
		html_escape(out, snap_backend_name(b, name, sizeof(name)));
		fprintf(out,
			"</td><td class=\"l\">%s</td><td class=\"l\">%s</td><td>%s</td>"
			"<td>%u</td><td>%u</td><td>%u</td><td>%llu</td>",
			net_fmt_ipv4_port(b->be.addr_be, b->be.port_be, addr, sizeof(addr)), state,
			st ? snap_fmt_duration(st, dur, sizeof(dur)) : "-", b->be.weight,
			b->info.flows_active, b->info.flows_max,
			(unsigned long long)b->st.flows_total);
		if (by_id)
			fprintf(out, "<td>%llu</td><td>%llu</td>",
				(unsigned long long)b->st.flows_client_id,
				(unsigned long long)b->st.flows_fallback);
		fprintf(out,
			"<td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td class=\"l\">",
			(unsigned long long)b->st.bytes_in, (unsigned long long)b->st.bytes_out,
			(unsigned long long)b->st.packets_in, (unsigned long long)b->st.packets_out);
		html_escape(out, check_text(b, chk, sizeof(chk)));
		fprintf(out, "</td><td>%s</td></tr>\n", lat);
	}
	fputs("</table>\n", out);
}

int stats_render_html(FILE *out, const struct snapshot *s)
{
	char up[24] = "-", vip[NET_ADDRSTR_LEN] = "-";
	unsigned int i;

	if (s->started_ns)
		snap_fmt_duration(since(s, s->started_ns), up, sizeof(up));
	if (s->have_config)
		net_fmt_ipv4_port(s->cfg.vip_addr_be, s->cfg.vip_port_be, vip, sizeof(vip));
	fprintf(out, html_head, REFRESH_S);
	fprintf(out,
		"<h1>mqlb statistics</h1>\n"
		"<p>VIP <b>%s</b> &middot; balance <b>%s</b> &middot; uptime <b>%s</b> &middot; "
		"flow table <b>%llu / %u</b> &middot; refreshes every %d s</p>\n",
		vip, s->have_config && (s->cfg.flags & MQLB_CFG_CLIENT_ID) ? "client-id" : "roundrobin",
		up, (unsigned long long)s->flow_entries, s->flow_max_entries, REFRESH_S);
	html_backends(out, s);
	fputs("<h2>Data plane counters</h2>\n<table>\n<tr><th>Counter</th><th>Value</th></tr>\n",
	      out);
	for (i = 0; i < MQLB_STAT_MAX; i++)
		fprintf(out, "<tr><td class=\"l\">%s</td><td>%llu</td></tr>\n",
			mqlb_stat_names[i] ? mqlb_stat_names[i] : "?",
			(unsigned long long)s->stats[i]);
	fputs("</table>\n</body></html>\n", out);
	return ferror(out) ? -EIO : 0;
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void backend_sample(FILE *out, const char *metric, const struct snap_backend *b,
			   const char *extra, const char *fmt_val)
{
	char name[16];

	fprintf(out, "%s{backend=\"", metric);
	label_escape(out, snap_backend_name(b, name, sizeof(name)));
	fprintf(out, "\"%s} %s\n", extra ? extra : "", fmt_val);
}

/* One per-backend metric family; get() formats the value of a backend into buf. */
struct be_metric {
	const char *name;
	const char *type;
	const char *help;
	const char *extra; /* further labels, ",direction=\"in\"" */
	uint64_t (*get)(const struct snapshot *s, const struct snap_backend *b);
	bool continues; /* same family as the row before: no HELP/TYPE */
};

static uint64_t g_up(const struct snapshot *s, const struct snap_backend *b)
{
	return b->be.state == MQLB_BE_UP;
}
static uint64_t g_weight(const struct snapshot *s, const struct snap_backend *b)
{
	return b->be.weight;
}
static uint64_t g_active(const struct snapshot *s, const struct snap_backend *b)
{
	return b->info.flows_active;
}
static uint64_t g_max(const struct snapshot *s, const struct snap_backend *b)
{
	return b->info.flows_max;
}
static uint64_t g_total(const struct snapshot *s, const struct snap_backend *b)
{
	return b->st.flows_total;
}
static uint64_t g_by_id(const struct snapshot *s, const struct snap_backend *b)
{
	return b->st.flows_client_id;
}
static uint64_t g_by_rr(const struct snapshot *s, const struct snap_backend *b)
{
	return b->st.flows_fallback;
}
static uint64_t g_bin(const struct snapshot *s, const struct snap_backend *b)
{
	return b->st.bytes_in;
}
static uint64_t g_bout(const struct snapshot *s, const struct snap_backend *b)
{
	return b->st.bytes_out;
}
static uint64_t g_pin(const struct snapshot *s, const struct snap_backend *b)
{
	return b->st.packets_in;
}
static uint64_t g_pout(const struct snapshot *s, const struct snap_backend *b)
{
	return b->st.packets_out;
}
static uint64_t g_check_ok(const struct snapshot *s, const struct snap_backend *b)
{
	return b->info.check_result == MQLB_CHECK_OK;
}
static uint64_t g_in_state(const struct snapshot *s, const struct snap_backend *b)
{
	return since(s, b->info.state_since_ns) / 1000000000ULL;
}

static const struct be_metric be_metrics[] = {
    {"mqlb_backend_up", "gauge", "Whether the backend takes new flows (state up).", NULL, g_up,
     false},
    {"mqlb_backend_weight", "gauge", "Round-robin weight of the backend.", NULL, g_weight, false},
    {"mqlb_backend_flows_active", "gauge", "Live flows to the backend.", NULL, g_active, false},
    {"mqlb_backend_flows_max", "gauge", "Highest number of live flows seen.", NULL, g_max, false},
    {"mqlb_backend_flows_total", "counter", "Flows sent to the backend.", NULL, g_total, false},
    {"mqlb_backend_flows_chosen_total", "counter",
     "balance client-id: flows placed by their client id's Maglev slot, or by round-robin "
     "(empty or unreadable client id, its backend not up).",
     ",by=\"client_id\"", g_by_id, false},
    {"mqlb_backend_flows_chosen_total", NULL, NULL, ",by=\"round_robin\"", g_by_rr, true},
    {"mqlb_backend_bytes_total", "counter", "Bytes forwarded, in = client to backend.",
     ",direction=\"in\"", g_bin, false},
    {"mqlb_backend_bytes_total", NULL, NULL, ",direction=\"out\"", g_bout, true},
    {"mqlb_backend_packets_total", "counter", "Packets forwarded, in = client to backend.",
     ",direction=\"in\"", g_pin, false},
    {"mqlb_backend_packets_total", NULL, NULL, ",direction=\"out\"", g_pout, true},
    {"mqlb_backend_check_ok", "gauge", "Whether the last health check succeeded.", NULL, g_check_ok,
     false},
    {"mqlb_backend_state_seconds", "gauge", "Seconds the backend has been in its state.", NULL,
     g_in_state, false},
};

static void metrics_backends(FILE *out, const struct snapshot *s)
{
	static const char *const states[] = {"up", "down", "drain", "disabled"};
	size_t m, k;
	unsigned int i;
	char v[32], extra[40];

	for (m = 0; m < sizeof(be_metrics) / sizeof(be_metrics[0]); m++) {
		const struct be_metric *bm = &be_metrics[m];

		if (!bm->continues)
			family(out, bm->name, bm->type, bm->help);
		for (i = 0; i < s->nbackends; i++) {
			snprintf(v, sizeof(v), "%llu",
				 (unsigned long long)bm->get(s, &s->backends[i]));
			backend_sample(out, bm->name, &s->backends[i], bm->extra, v);
		}
	}
	family(out, "mqlb_backend_state", "gauge", "1 for the backend's current state.");
	for (i = 0; i < s->nbackends; i++)
		for (k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
			snprintf(extra, sizeof(extra), ",state=\"%s\"", states[k]);
			backend_sample(out, "mqlb_backend_state", &s->backends[i], extra,
				       strcmp(snap_state_name(s->backends[i].be.state), states[k])
					   ? "0"
					   : "1");
		}
	family(out, "mqlb_backend_check_latency_seconds", "gauge",
	       "Duration of the last finished health check.");
	for (i = 0; i < s->nbackends; i++) {
		if (s->backends[i].info.check_result == MQLB_CHECK_NONE)
			continue;
		snprintf(v, sizeof(v), "%.6f", s->backends[i].info.check_latency_us / 1e6);
		backend_sample(out, "mqlb_backend_check_latency_seconds", &s->backends[i], NULL, v);
	}
}

/*
 * Global counters by family: flow_* are flow events, mqtt_* are MQTT
 * events, every other counter counts packets by what was done with them.
 */
static const struct {
	const char *prefix;
	const char *metric;
	const char *label;
	const char *help;
} counter_families[] = {
    {"flow_", "mqlb_flow_events_total", "event", "Flow table events of the data plane."},
    {"mqtt_", "mqlb_mqtt_events_total", "event", "MQTT CONNECT parsing outcomes."},
    {"", "mqlb_packets_total", "action", "Packets by what the data plane did with them."},
};

static int counter_family(const char *name)
{
	int f;

	for (f = 0; f < 2; f++)
		if (!strncmp(name, counter_families[f].prefix, strlen(counter_families[f].prefix)))
			return f;
	return 2;
}

int stats_render_metrics(FILE *out, const struct snapshot *s)
{
	unsigned int i, f;
	bool any;

	if (s->started_ns) {
		family(out, "mqlb_uptime_seconds", "gauge", "Seconds since mqlbd started.");
		fprintf(out, "mqlb_uptime_seconds %.3f\n", since(s, s->started_ns) / 1e9);
	}
	family(out, "mqlb_flow_table_entries", "gauge", "Entries in the flow table.");
	fprintf(out, "mqlb_flow_table_entries %llu\n", (unsigned long long)s->flow_entries);
	family(out, "mqlb_flow_table_size", "gauge", "Capacity of the flow table.");
	fprintf(out, "mqlb_flow_table_size %u\n", s->flow_max_entries);
	metrics_backends(out, s);
	for (f = 0; f < 3; f++) {
		for (any = false, i = 0; i < MQLB_STAT_MAX; i++) {
			const char *n = mqlb_stat_names[i];
			const char *v;

			if (!n || counter_family(n) != (int)f)
				continue;
			if (!any)
				family(out, counter_families[f].metric, "counter",
				       counter_families[f].help);
			any = true;
			v = n + strlen(counter_families[f].prefix);
			if (!strcmp(n, "rx_packets"))
				v = "rx";
			fprintf(out, "%s{%s=\"%s\"} %llu\n", counter_families[f].metric,
				counter_families[f].label, v, (unsigned long long)s->stats[i]);
		}
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- HTTP --------------------------------------------------------------------------- */

/* Compare without leaking the position of the first difference through timing. */
static bool secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
	return !d;
}

static bool authorised(struct stats_http *h, struct MHD_Connection *conn)
{
	char *pass = NULL, *user;
	bool ok;

	if (!h->user)
		return true;
	user = MHD_basic_auth_get_username_password(conn, &pass);
	ok = user && pass && secret_eq(user, h->user) && secret_eq(pass, h->password);
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code, const char *type,
			     char *body, size_t len, bool must_free)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(
	    len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int code, const char *t)
{
	return reply(conn, code, "text/plain; charset=utf-8", (char *)t, strlen(t), false);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static const char unauth[] = "401 unauthorized\n";
	struct stats_http *h = cls;
	int (*render)(FILE *, const struct snapshot *);
	const char *type;
	struct MHD_Response *r;
	struct snapshot *s;
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;
	FILE *out;
	int err;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "405 method not allowed\n");
	if (!authorised(h, conn)) {
		r = MHD_create_response_from_buffer(sizeof(unauth) - 1, (void *)unauth,
						    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		ret = MHD_queue_basic_auth_fail_response(conn, REALM, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!strcmp(url, "/")) {
		render = stats_render_html;
		type = "text/html; charset=utf-8";
	} else if (!strcmp(url, "/metrics")) {
		render = stats_render_metrics;
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "404 not found (try / or /metrics)\n");
	}
	s = snapshot_new();
	if (!s)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "503 out of memory\n");
	err = h->fill(h->arg, s);
	if (err) {
		snapshot_free(s);
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "503 the data plane maps can't be read\n");
	}
	out = open_memstream(&body, &len);
	err = out ? render(out, s) : -ENOMEM;
	if (out && fclose(out))
		err = -EIO;
	snapshot_free(s);
	if (err) {
		free(body);
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "500 rendering failed\n");
	}
	return reply(conn, MHD_HTTP_OK, type, body, len, true);
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	unsigned long port;
	char *end;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host) || !colon[1])
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return net_parse_ipv4(host, &sa->sin_addr);
}

int stats_http_start(const char *addr_port, const char *user, const char *password,
		     stats_fill_fn fill, void *arg, struct stats_http **out)
{
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	struct stats_http *h;
	int fd, err;

	*out = NULL;
	if (!fill || (user && !password))
		return -EINVAL;
	err = parse_listen(addr_port, &sa);
	if (err)
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fill = fill;
	h->arg = arg;
	if (user) {
		h->user = strdup(user);
		h->password = strdup(password);
		if (!h->user || !h->password) {
			err = -ENOMEM;
			goto out_free;
		}
	}
	/* Our own listener: bind errors come back as -errno instead of a NULL daemon. */
	fd = net_tcp_listen(&sa, 64);
	if (fd < 0) {
		err = fd;
		goto out_free;
	}
	if (getsockname(fd, (struct sockaddr *)&sa, &slen)) {
		err = -errno;
		close(fd);
		goto out_free;
	}
	h->port = ntohs(sa.sin_port);
	h->mhd = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD, h->port, NULL, NULL, handle, h, MHD_OPTION_LISTEN_SOCKET,
	    (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT_S, MHD_OPTION_END);
	if (!h->mhd) {
		err = errno ? -errno : -EIO;
		close(fd);
		goto out_free;
	}
	*out = h;
	return 0;

out_free:
	free(h->user);
	free(h->password);
	free(h);
	return err;
}

uint16_t stats_http_port(const struct stats_http *h)
{
	return h->port;
}

void stats_http_stop(struct stats_http *h)
{
	if (!h)
		return;
	/* Joins the server thread and closes the listening socket. */
	MHD_stop_daemon(h->mhd);
	free(h->user);
	free(h->password);
	free(h);
}
