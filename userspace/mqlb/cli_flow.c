// SPDX-License-Identifier: GPL-2.0
/* mqlb flow: the live flows of the pinned flow table, with what MQTT told us. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "netutil.h"

static uint64_t since(const struct snapshot *s, uint64_t t)
{
	return t && t <= s->now_ns ? s->now_ns - t : 0;
}

static const char *flow_backend_name(const struct snapshot *s, const struct snap_flow *fl,
				     char *buf, size_t len)
{
	const struct snap_backend *b = snapshot_backend_by_id(s, fl->f.backend_id);

	/* Delayed binding: no backend before the client's CONNECT. */
	if (fl->f.backend_id >= MQLB_MAX_BACKENDS)
		return "-";
	if (b)
		return snap_backend_name(b, buf, len);
	/* The backend was removed while the flow lives on: say which slot it was. */
	snprintf(buf, len, "#%u", fl->f.backend_id);
	return buf;
}

static bool flow_matches(const struct snapshot *s, const struct snap_flow *fl, const char *only)
{
	char buf[MQLB_BACKEND_NAME_LEN];

	return !only || !strcmp(only, flow_backend_name(s, fl, buf, sizeof(buf)));
}

/*
 * The MQTT column: the protocol version of a parsed CONNECT (with "/br"
 * for mosquitto's bridge bit), else what the first payload was, else "-".
 */
static const char *flow_mqtt(const struct mqlb_flow *f, char *buf, size_t len)
{
	char lvl[8];

	if (!(f->mqtt_flags & MQLB_MQTT_PARSED))
		return mqtt_outcome_name(f->mqtt_flags) ?: "-";
	snprintf(buf, len, "%s%s", mqtt_level_name(f->mqtt_level, lvl, sizeof(lvl)),
		 f->mqtt_flags & MQLB_MQTT_BRIDGE ? "/br" : "");
	return buf;
}

/*
 * A retired flow is keyed by its SNAT tuple (MQLB_FLOW_RETIRED): its
 * client is gone from the table and is not printed as one.
 */
static bool flow_retired(const struct snap_flow *fl)
{
	return fl->f.tcp_flags & MQLB_FLOW_RETIRED;
}

static const char *flow_client(const struct snap_flow *fl, char *buf, size_t len)
{
	if (flow_retired(fl))
		return "-";
	return fmt_addr(fl->key.client_addr_be, fl->key.client_port_be, buf, len);
}

int flow_print_plain(FILE *out, const struct snapshot *s, const char *only)
{
	size_t i;

	fprintf(out, "%-21s  %-10s  %-45s  %8s  %8s  %-11s  %-9s  %s\n", "CLIENT", "BACKEND",
		"TRANSLATED", "AGE", "IDLE", "STATE", "MQTT", "CLIENT-ID");
	for (i = 0; i < s->nflows; i++) {
		const struct snap_flow *fl = &s->flows[i];
		char cli[NET_ADDRSTR_LEN], snat[NET_ADDRSTR_LEN], be[NET_ADDRSTR_LEN];
		char tr[64], name[MQLB_BACKEND_NAME_LEN], age[24], idle[24], mqtt[16];

		if (!flow_matches(s, fl, only))
			continue;
		snprintf(tr, sizeof(tr), "%s -> %s",
			 fmt_addr(fl->f.snat_addr_be, fl->f.snat_port_be, snat, sizeof(snat)),
			 fmt_addr(fl->f.backend_addr_be, fl->f.backend_port_be, be, sizeof(be)));
		fprintf(out, "%-21s  %-10s  %-45s  %8s  %8s  %-11s  %-9s  %s%s\n",
			flow_client(fl, cli, sizeof(cli)),
			flow_backend_name(s, fl, name, sizeof(name)), tr,
			fmt_duration(since(s, fl->f.created_ns), age, sizeof(age)),
			fmt_duration(since(s, fl->f.last_ns), idle, sizeof(idle)),
			flow_tcp_state(fl->f.tcp_flags),
			flow_mqtt(&fl->f, mqtt, sizeof(mqtt)),
			fl->client_id[0] ? fl->client_id : "-",
			/* the data plane keeps MQLB_CLIENT_ID_LEN bytes of a longer id */
			fl->f.mqtt_flags & MQLB_MQTT_ID_TRUNCATED ? "..." : "");
	}
	return 0;
}

int flow_print_json(json_writer_t *w, const struct snapshot *s, const char *only)
{
	size_t i;

	jsonw_start_array(w);
	for (i = 0; i < s->nflows; i++) {
		const struct snap_flow *fl = &s->flows[i];
		char a[NET_ADDRSTR_LEN], name[MQLB_BACKEND_NAME_LEN];

		if (!flow_matches(s, fl, only))
			continue;
		jsonw_start_object(w);
		if (flow_retired(fl)) {
			jsonw_null_field(w, "client");
			jsonw_null_field(w, "vip");
		} else {
			jsonw_string_field(w, "client", flow_client(fl, a, sizeof(a)));
			jsonw_string_field(w, "vip", fmt_addr(fl->key.vip_addr_be,
							      fl->key.vip_port_be, a, sizeof(a)));
		}
		if (fl->f.backend_id < MQLB_MAX_BACKENDS) {
			jsonw_string_field(w, "backend", flow_backend_name(s, fl, name, sizeof(name)));
			jsonw_uint_field(w, "backend_id", fl->f.backend_id);
		} else { /* delayed binding: no backend before the CONNECT */
			jsonw_null_field(w, "backend");
			jsonw_null_field(w, "backend_id");
		}
		jsonw_string_field(w, "snat",
				   fmt_addr(fl->f.snat_addr_be, fl->f.snat_port_be, a, sizeof(a)));
		jsonw_string_field(
		    w, "backend_address",
		    fmt_addr(fl->f.backend_addr_be, fl->f.backend_port_be, a, sizeof(a)));
		jsonw_uint_field(w, "age_ms", since(s, fl->f.created_ns) / 1000000ULL);
		jsonw_uint_field(w, "idle_ms", since(s, fl->f.last_ns) / 1000000ULL);
		jsonw_string_field(w, "tcp_state", flow_tcp_state(fl->f.tcp_flags));
		jsonw_uint_field(w, "tcp_flags", fl->f.tcp_flags);
		/* TSvals shifted by the data plane (bpf/tcp_ts.h) */
		jsonw_bool_field(w, "tcp_ts_shifted", fl->f.tcp_flags & MQLB_FLOW_TS_SHIFT);
		if (mqtt_outcome_name(fl->f.mqtt_flags))
			jsonw_string_field(w, "mqtt", mqtt_outcome_name(fl->f.mqtt_flags));
		else
			jsonw_null_field(w, "mqtt");
		if (fl->f.mqtt_level)
			jsonw_uint_field(w, "mqtt_level", fl->f.mqtt_level);
		else
			jsonw_null_field(w, "mqtt_level");
		jsonw_bool_field(w, "mqtt_bridge", fl->f.mqtt_flags & MQLB_MQTT_BRIDGE);
		jsonw_uint_field(w, "keepalive_s", fl->f.keepalive_s);
		if (fl->client_id[0])
			jsonw_string_field(w, "client_id", fl->client_id);
		else
			jsonw_null_field(w, "client_id");
		jsonw_bool_field(w, "client_id_truncated", fl->f.mqtt_flags & MQLB_MQTT_ID_TRUNCATED);
		/* balance client-id: the slot the id hashed to (mqlb maglev show), if it chose */
		if (fl->f.cid_slot)
			jsonw_uint_field(w, "maglev_slot", fl->f.cid_slot - 1);
		else
			jsonw_null_field(w, "maglev_slot");
		/* the backend sees the client's address in a PROXY v2 header */
		jsonw_bool_field(w, "proxy_v2", fl->f.proxy_len != 0);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	return 0;
}

static int do_show(struct cli *c, int argc, char **argv)
{
	const char *only = NULL;
	struct snapshot *s;
	int err;

	if (argc == 2 && is_prefix(argv[0], "backend")) {
		only = argv[1];
	} else if (argc) {
		p_err("flow show: expected [backend NAME]");
		return -EINVAL;
	}
	err = cli_snapshot(c, SNAP_F_FLOWS, &s);
	if (err)
		return err;
	if (only && !snapshot_backend_by_name(s, only) && only[0] != '#') {
		p_err("backend '%s' not found", only);
		err = -ENOENT;
	} else if (json_wtr) {
		err = flow_print_json(json_wtr, s, only);
	} else {
		err = flow_print_plain(c->out, s, only);
	}
	snapshot_free(s);
	return err;
}

static int do_help(struct cli *c, int argc, char **argv)
{
	return cli_usage(c,
		"Usage: %1$s %2$s { show | list } [backend NAME]\n"
		"       %1$s %2$s help\n"
		"\n"
		"       TRANSLATED is SNAT-ADDR:PORT -> BACKEND-ADDR:PORT; MQTT is the protocol\n"
		"       version of the client's CONNECT (- until one was seen)\n"
		"       " HELP_SPEC_OPTIONS "\n",
		c->prog, "flow");
}

static const struct cmd cmds[] = {
    {"show", do_show},
    {"list", do_show},
    {"help", do_help},
    {0},
};

int do_flow(struct cli *c, int argc, char **argv)
{
	return cmd_select(c, cmds, argc, argv, "flow");
}
