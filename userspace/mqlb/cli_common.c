// SPDX-License-Identifier: GPL-2.0
/* Command dispatch, error reporting and formatting shared by every mqlb object. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "netutil.h"

json_writer_t *json_wtr;

void p_err(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_wtr) {
		/* Scripts read stdout: the error goes there as the one JSON value. */
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "error", msg);
		jsonw_end_object(json_wtr);
	} else {
		fprintf(stderr, "error: %s\n", msg);
	}
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	if (json_wtr) {
		jsonw_null(json_wtr);
		return 0;
	}
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	return 0;
}

bool is_prefix(const char *pfx, const char *str)
{
	size_t n = strlen(pfx);

	return n > 0 && !strncmp(pfx, str, n);
}

int cmd_select(struct cli *c, const struct cmd *cmds, int argc, char **argv, const char *what)
{
	const struct cmd *hit = NULL, *cand[16];
	char list[256] = "";
	size_t n = 0, i, j, off = 0;
	bool dup;

	if (argc < 1)
		return cmds[0].func(c, 0, argv);
	for (i = 0; cmds[i].name; i++) {
		if (!strcmp(argv[0], cmds[i].name)) {
			hit = &cmds[i];
			break;
		}
		if (!is_prefix(argv[0], cmds[i].name))
			continue;
		/* Aliases (list for show) are the same command, not a second candidate. */
		for (dup = false, j = 0; j < n; j++)
			dup |= cand[j]->func == cmds[i].func;
		if (!dup && n < sizeof(cand) / sizeof(cand[0]))
			cand[n++] = &cmds[i];
	}
	if (!hit && n == 1)
		hit = cand[0];
	if (hit)
		return hit->func(c, argc - 1, argv + 1);
	if (n > 1) {
		for (i = 0; i < n && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
						i ? ", " : "", cand[i]->name);
		if (!strcmp(what, "object"))
			p_err("object '%s' is ambiguous: %s", argv[0], list);
		else
			p_err("%s: command '%s' is ambiguous: %s", what, argv[0], list);
		return -EINVAL;
	}
	if (!strcmp(what, "object"))
		p_err("unknown object '%s', try '%s help'", argv[0], c->prog);
	else
		p_err("%s: unknown command '%s', try '%s %s help'", what, argv[0], c->prog, what);
	return -EINVAL;
}

int cli_open_maps(struct cli *c, struct snap_src *src)
{
	int err = snapshot_open(src, c->pin_path);

	if (err) {
		if (src->failed)
			p_err("can't open pinned map '%s/%s': %s%s", c->pin_path, src->failed,
			      strerror(-err),
			      err == -ENOENT ? " (is mqlbd running? see --pin-path)" : "");
		else
			p_err("can't read the pinned maps: %s", strerror(-err));
	}
	return err;
}

int cli_snapshot(struct cli *c, unsigned int flags, struct snapshot **out)
{
	struct snap_src src;
	struct snapshot *s;
	int err;

	*out = NULL;
	err = cli_open_maps(c, &src);
	if (err)
		return err;
	s = snapshot_new();
	if (!s) {
		err = -ENOMEM;
		p_err("can't take a snapshot: %s", strerror(-err));
		goto out_close;
	}
	err = snapshot_from_fds(&src, s, flags);
	if (err) {
		p_err("can't read the pinned maps under %s: %s", c->pin_path, strerror(-err));
		snapshot_free(s);
		goto out_close;
	}
	*out = s;
out_close:
	snapshot_close(&src);
	return err;
}

const char *fmt_duration(uint64_t ns, char *buf, size_t len)
{
	return snap_fmt_duration(ns, buf, len);
}

const char *fmt_latency_us(uint32_t us, char *buf, size_t len)
{
	if (us >= 1000)
		snprintf(buf, len, "%u.%01ums", us / 1000, us % 1000 / 100);
	else
		snprintf(buf, len, "%uus", us);
	return buf;
}

const char *fmt_addr(uint32_t addr_be, uint16_t port_be, char *buf, size_t len)
{
	return net_fmt_ipv4_port(addr_be, port_be, buf, len);
}

/* What the data plane has seen, most final first. */
const char *flow_tcp_state(uint32_t f)
{
	if (f & MQLB_FLOW_RETIRED)
		return "retired";
	if (f & MQLB_FLOW_RESET_SENT)
		return "reset-sent";
	if (f & MQLB_FLOW_RST)
		return "reset";
	if ((f & MQLB_FLOW_FIN_CLIENT) && (f & MQLB_FLOW_FIN_BACKEND))
		return "closed";
	if (f & MQLB_FLOW_FIN_CLIENT)
		return "fin-client";
	if (f & MQLB_FLOW_FIN_BACKEND)
		return "fin-backend";
	/* Delayed binding: the client's handshake is done, the backend's not yet. */
	if (f & MQLB_FLOW_BIND_CONNECT)
		return "await-connect";
	if (f & MQLB_FLOW_BIND_SYNACK)
		return "binding";
	if (f & MQLB_FLOW_ESTABLISHED)
		return "established";
	if (f & MQLB_FLOW_SYNACK)
		return "syn-ack";
	if (f & MQLB_FLOW_SYN)
		return "syn";
	return "-";
}

/* MQTT protocol levels (MQTT 5.0 section 3.1.2.2): 3 = 3.1, 4 = 3.1.1, 5 = 5.0. */
const char *mqtt_level_name(uint8_t level, char *buf, size_t len)
{
	switch (level) {
	case 0:
		return "-";
	case 3:
		return "3.1";
	case 4:
		return "3.1.1";
	case 5:
		return "5.0";
	default:
		snprintf(buf, len, "?%u", level);
		return buf;
	}
}

const char *mqtt_outcome_name(uint8_t mqtt_flags)
{
	if (mqtt_flags & MQLB_MQTT_PARSED)
		return "parsed";
	if (mqtt_flags & MQLB_MQTT_SPLIT)
		return "split";
	if (mqtt_flags & MQLB_MQTT_NOT_MQTT)
		return "not-mqtt";
	if (mqtt_flags & MQLB_MQTT_MALFORMED)
		return "malformed";
	return NULL;
}

const char *check_result_name(uint8_t result)
{
	switch (result) {
	case MQLB_CHECK_NONE:
		return "none";
	case MQLB_CHECK_OK:
		return "ok";
	case MQLB_CHECK_FAILED:
		return "failed";
	default:
		return "unknown";
	}
}
