// SPDX-License-Identifier: GPL-2.0
/*
 * mqlb backend: show reads the pinned maps (works while mqlbd is down);
 * add/del/drain/enable/disable are requests to mqlbd's control socket,
 * because the daemon is the only writer of the pool.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl_client.h"
#include "mqlb_ctl.h"
#include "netutil.h"

#define CTL_TIMEOUT_S 5

static int name_width(const struct snapshot *s, const char *only)
{
	char buf[16];
	int w = 4, n;
	unsigned int i;

	for (i = 0; i < s->nbackends; i++) {
		const char *name = snap_backend_name(&s->backends[i], buf, sizeof(buf));

		if (only && strcmp(only, name))
			continue;
		n = (int)strlen(name);
		if (n > w)
			w = n;
	}
	return w;
}

static uint64_t in_state_ns(const struct snapshot *s, const struct snap_backend *b)
{
	if (!b->info.state_since_ns || b->info.state_since_ns > s->now_ns)
		return 0;
	return s->now_ns - b->info.state_since_ns;
}

int backend_print_plain(FILE *out, const struct snapshot *s, const char *only)
{
	int w = name_width(s, only);
	unsigned int i, shown = 0;

	bool by_id = s->have_config && (s->cfg.flags & MQLB_CFG_CLIENT_ID);

	fprintf(out, "%-*s  %-21s  %-8s  %6s  %6s  %8s  ", w, "NAME", "ADDRESS", "STATE", "ACTIVE",
		"MAX", "TOTAL");
	/* balance client-id: how the total was placed, by the client id or by round-robin */
	if (by_id)
		fprintf(out, "%8s  %8s  ", "BY-ID", "BY-RR");
	fprintf(out, "%10s  %12s  %10s  %12s  %8s  %8s  %s\n", "PKTS-IN", "BYTES-IN", "PKTS-OUT",
		"BYTES-OUT", "LATENCY", "IN-STATE", "CHECK");
	for (i = 0; i < s->nbackends; i++) {
		const struct snap_backend *b = &s->backends[i];
		char nbuf[16], addr[NET_ADDRSTR_LEN], lat[16], dur[24], check[80];
		const char *name = snap_backend_name(b, nbuf, sizeof(nbuf));
		uint64_t st = in_state_ns(s, b);

		if (only && strcmp(only, name))
			continue;
		shown++;
		if (b->info.check_result == MQLB_CHECK_NONE)
			snprintf(check, sizeof(check), "-");
		else if (b->info.check_msg[0])
			snprintf(check, sizeof(check), "%s (%s)",
				 check_result_name(b->info.check_result), b->info.check_msg);
		else
			snprintf(check, sizeof(check), "%s",
				 check_result_name(b->info.check_result));
		fprintf(out, "%-*s  %-21s  %-8s  %6u  %6u  %8llu  ", w, name,
			fmt_addr(b->be.addr_be, b->be.port_be, addr, sizeof(addr)),
			snap_state_name(b->be.state), b->info.flows_active, b->info.flows_max,
			(unsigned long long)b->st.flows_total);
		if (by_id)
			fprintf(out, "%8llu  %8llu  ", (unsigned long long)b->st.flows_client_id,
				(unsigned long long)b->st.flows_fallback);
		fprintf(out, "%10llu  %12llu  %10llu  %12llu  %8s  %8s  %s\n",
			(unsigned long long)b->st.packets_in,
			(unsigned long long)b->st.bytes_in, (unsigned long long)b->st.packets_out,
			(unsigned long long)b->st.bytes_out,
			b->info.check_result == MQLB_CHECK_NONE
			    ? "-"
			    : fmt_latency_us(b->info.check_latency_us, lat, sizeof(lat)),
			st ? fmt_duration(st, dur, sizeof(dur)) : "-", check);
	}
	return only && !shown ? -ENOENT : 0;
}

int backend_print_json(json_writer_t *w, const struct snapshot *s, const char *only)
{
	unsigned int i, shown = 0;

	jsonw_start_array(w);
	for (i = 0; i < s->nbackends; i++) {
		const struct snap_backend *b = &s->backends[i];
		char nbuf[16], addr[NET_ADDRSTR_LEN];
		const char *name = snap_backend_name(b, nbuf, sizeof(nbuf));
		uint64_t st = in_state_ns(s, b);

		if (only && strcmp(only, name))
			continue;
		shown++;
		jsonw_start_object(w);
		jsonw_uint_field(w, "id", b->id);
		jsonw_string_field(w, "name", name);
		jsonw_string_field(w, "address",
				   fmt_addr(b->be.addr_be, b->be.port_be, addr, sizeof(addr)));
		jsonw_string_field(w, "state", snap_state_name(b->be.state));
		jsonw_uint_field(w, "weight", b->be.weight);
		jsonw_uint_field(w, "active", b->info.flows_active);
		jsonw_uint_field(w, "max", b->info.flows_max);
		jsonw_uint_field(w, "total", b->st.flows_total);
		jsonw_uint_field(w, "by_client_id", b->st.flows_client_id);
		jsonw_uint_field(w, "by_fallback", b->st.flows_fallback);
		jsonw_uint_field(w, "packets_in", b->st.packets_in);
		jsonw_uint_field(w, "bytes_in", b->st.bytes_in);
		jsonw_uint_field(w, "packets_out", b->st.packets_out);
		jsonw_uint_field(w, "bytes_out", b->st.bytes_out);
		jsonw_string_field(w, "check", check_result_name(b->info.check_result));
		if (b->info.check_result == MQLB_CHECK_NONE) {
			jsonw_null_field(w, "check_message");
			jsonw_null_field(w, "check_latency_us");
		} else {
			jsonw_string_field(w, "check_message", b->info.check_msg);
			jsonw_uint_field(w, "check_latency_us", b->info.check_latency_us);
		}
		if (st)
			jsonw_uint_field(w, "in_state_ms", st / 1000000ULL);
		else
			jsonw_null_field(w, "in_state_ms");
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	return only && !shown ? -ENOENT : 0;
}

static int do_show(struct cli *c, int argc, char **argv)
{
	const char *only = argc > 0 ? argv[0] : NULL;
	struct snapshot *s;
	int err;

	if (argc > 1) {
		p_err("backend show: too many arguments, expected at most a NAME");
		return -EINVAL;
	}
	err = cli_snapshot(c, 0, &s);
	if (err)
		return err;
	if (only && !snapshot_backend_by_name(s, only)) {
		p_err("backend '%s' not found", only);
		err = -ENOENT;
	} else if (json_wtr) {
		err = backend_print_json(json_wtr, s, only);
	} else {
		err = backend_print_plain(c->out, s, only);
	}
	snapshot_free(s);
	return err;
}

/* Names go on a space-separated control line and into a 32-byte map field. */
static bool valid_name(const char *n)
{
	size_t len = strlen(n), i;

	if (!len || len >= MQLB_BACKEND_NAME_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && !strchr("._-", n[i]))
			return false;
	return true;
}

static void print_answer(struct cli *c, const char *msg)
{
	if (json_wtr) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "result", "ok");
		jsonw_string_field(json_wtr, "message", msg);
		jsonw_end_object(json_wtr);
	} else if (*msg) {
		fprintf(c->out, "%s\n", msg);
	}
}

int ctl_request(struct cli *c, const char *line)
{
	enum ctl_stage stage;
	char *ans, *msg;
	int err;

	err = ctl_call(c->control_path, line, CTL_TIMEOUT_S, &ans, &stage);
	if (err) {
		if (stage != CTL_STAGE_CONNECT)
			p_err("no answer from mqlbd at %s: %s", c->control_path, strerror(-err));
		else if (err == -ENOENT || err == -ECONNREFUSED || err == -ENOTSOCK)
			p_err("mqlbd is not running (can't connect to %s: %s)", c->control_path,
			      strerror(-err));
		else
			p_err("can't connect to mqlbd at %s: %s", c->control_path, strerror(-err));
		return err;
	}
	err = ctl_answer_split(ans, &msg);
	if (!err)
		print_answer(c, msg);
	else if (err == -EINVAL)
		p_err("%s", msg);
	else
		p_err("unexpected answer from mqlbd: '%.80s'", msg);
	free(ans);
	return err;
}

static int request_name(struct cli *c, const char *verb, int argc, char **argv)
{
	char line[MQLB_CTL_MAX_LINE];

	if (argc != 1) {
		p_err("backend %s: expected exactly one NAME", verb);
		return -EINVAL;
	}
	if (!valid_name(argv[0])) {
		p_err("backend name '%s' is invalid (1-%d characters of A-Z a-z 0-9 . _ -)",
		      argv[0], MQLB_BACKEND_NAME_LEN - 1);
		return -EINVAL;
	}
	snprintf(line, sizeof(line), "backend %s %s", verb, argv[0]);
	return ctl_request(c, line);
}

static int do_add(struct cli *c, int argc, char **argv)
{
	char line[MQLB_CTL_MAX_LINE];
	struct sockaddr_in sa;
	unsigned long weight = 0;
	char *end;

	if (argc != 2 && argc != 4) {
		p_err("backend add: expected NAME ADDR:PORT [weight N]");
		return -EINVAL;
	}
	if (!valid_name(argv[0])) {
		p_err("backend name '%s' is invalid (1-%d characters of A-Z a-z 0-9 . _ -)",
		      argv[0], MQLB_BACKEND_NAME_LEN - 1);
		return -EINVAL;
	}
	if (net_parse_ipv4_port(argv[1], 0, &sa)) {
		p_err("backend address '%s' is invalid, expected IPV4:PORT", argv[1]);
		return -EINVAL;
	}
	if (argc == 4) {
		if (!is_prefix(argv[2], "weight")) {
			p_err("backend add: unknown keyword '%s', expected weight", argv[2]);
			return -EINVAL;
		}
		errno = 0;
		weight = strtoul(argv[3], &end, 10);
		if (!*argv[3] || *end || errno || weight < 1 || weight > MQLB_MAX_WEIGHT) {
			p_err("backend weight '%s' is invalid, expected 1-%d", argv[3],
			      MQLB_MAX_WEIGHT);
			return -EINVAL;
		}
	}
	if (weight)
		snprintf(line, sizeof(line), "backend add %s %s weight %lu", argv[0], argv[1],
			 weight);
	else
		snprintf(line, sizeof(line), "backend add %s %s", argv[0], argv[1]);
	return ctl_request(c, line);
}

static int do_del(struct cli *c, int argc, char **argv)
{
	return request_name(c, "del", argc, argv);
}

static int do_drain(struct cli *c, int argc, char **argv)
{
	return request_name(c, "drain", argc, argv);
}

static int do_enable(struct cli *c, int argc, char **argv)
{
	return request_name(c, "enable", argc, argv);
}

static int do_disable(struct cli *c, int argc, char **argv)
{
	return request_name(c, "disable", argc, argv);
}

static int do_help(struct cli *c, int argc, char **argv)
{
	return cli_usage(c,
		"Usage: %1$s %2$s { show | list } [NAME]\n"
		"       %1$s %2$s add NAME ADDR:PORT [weight N]\n"
		"       %1$s %2$s { del | drain | enable | disable } NAME\n"
		"       %1$s %2$s help\n"
		"\n"
		"       show reads the pinned maps; the other verbs ask mqlbd (--control)\n"
		"       " HELP_SPEC_OPTIONS "\n",
		c->prog, "backend");
}

static const struct cmd cmds[] = {
    {"show", do_show},	     {"list", do_show},	  {"add", do_add},
    {"del", do_del},	     {"drain", do_drain}, {"enable", do_enable},
    {"disable", do_disable}, {"help", do_help},	  {0},
};

int do_backend(struct cli *c, int argc, char **argv)
{
	return cmd_select(c, cmds, argc, argv, "backend");
}
