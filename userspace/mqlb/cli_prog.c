// SPDX-License-Identifier: GPL-2.0
/*
 * mqlb prog: the XDP links mqlbd pinned (link_IFNAME), the program behind
 * each, its attach mode, and the kernel's run statistics when enabled.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"

#define BPF_STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"

struct link_row {
	char ifname[64];
	uint32_t ifindex;
	uint32_t link_id;
	uint32_t prog_id;
	char prog_name[BPF_OBJ_NAME_LEN];
	const char *mode;
	uint64_t run_cnt;
	uint64_t run_time_ns;
};

static bool bpf_stats_enabled(void)
{
	FILE *f = fopen(BPF_STATS_SYSCTL, "r");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

/*
 * The link does not record its mode; the interface's XDP state does. An
 * ifindex from another network namespace (the CLI run outside mqlbd's)
 * matches neither program id, hence "unknown".
 */
static const char *xdp_mode(uint32_t ifindex, uint32_t prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query((int)ifindex, 0, &q))
		return "unknown";
	if (q.drv_prog_id == prog_id)
		return "native";
	if (q.skb_prog_id == prog_id)
		return "generic";
	if (q.hw_prog_id == prog_id)
		return "offload";
	return "unknown";
}

static int read_link(const char *path, struct link_row *r)
{
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	uint32_t len;
	int fd, pfd, err = 0;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&li, 0, sizeof(li));
	len = sizeof(li);
	if (bpf_obj_get_info_by_fd(fd, &li, &len)) {
		err = -errno;
		goto out_close;
	}
	if (li.type != BPF_LINK_TYPE_XDP) {
		err = -EINVAL;
		goto out_close;
	}
	r->link_id = li.id;
	r->prog_id = li.prog_id;
	r->ifindex = li.xdp.ifindex;
	r->mode = xdp_mode(r->ifindex, r->prog_id);
	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd >= 0) {
		memset(&pi, 0, sizeof(pi));
		len = sizeof(pi);
		if (!bpf_obj_get_info_by_fd(pfd, &pi, &len)) {
			memcpy(r->prog_name, pi.name, sizeof(r->prog_name));
			r->prog_name[sizeof(r->prog_name) - 1] = '\0';
			r->run_cnt = pi.run_cnt;
			r->run_time_ns = pi.run_time_ns;
		}
		close(pfd);
	}
out_close:
	close(fd);
	return err;
}

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct link_row *)a)->ifname, ((const struct link_row *)b)->ifname);
}

static int collect(struct cli *c, struct link_row *rows, size_t max, size_t *n)
{
	size_t plen = strlen(MQLB_LINK_PREFIX);
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err;

	*n = 0;
	d = opendir(c->pin_path);
	if (!d) {
		err = -errno;
		p_err("can't open pin path '%s': %s", c->pin_path, strerror(-err));
		return err;
	}
	while ((de = readdir(d)) && *n < max) {
		struct link_row *r = &rows[*n];

		if (strncmp(de->d_name, MQLB_LINK_PREFIX, plen) || !de->d_name[plen])
			continue;
		memset(r, 0, sizeof(*r));
		snprintf(r->ifname, sizeof(r->ifname), "%s", de->d_name + plen);
		snprintf(path, sizeof(path), "%s/%s", c->pin_path, de->d_name);
		err = read_link(path, r);
		if (err) {
			closedir(d);
			p_err("can't read pinned link '%s': %s", path, strerror(-err));
			return err;
		}
		(*n)++;
	}
	closedir(d);
	qsort(rows, *n, sizeof(*rows), cmp_row);
	return 0;
}

static void print_json(const struct link_row *rows, size_t n, bool stats)
{
	size_t i;

	jsonw_start_array(json_wtr);
	for (i = 0; i < n; i++) {
		const struct link_row *r = &rows[i];

		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "interface", r->ifname);
		jsonw_uint_field(json_wtr, "ifindex", r->ifindex);
		jsonw_uint_field(json_wtr, "link_id", r->link_id);
		jsonw_uint_field(json_wtr, "prog_id", r->prog_id);
		jsonw_string_field(json_wtr, "prog_name", r->prog_name);
		jsonw_string_field(json_wtr, "mode", r->mode);
		jsonw_bool_field(json_wtr, "bpf_stats_enabled", stats);
		if (stats) {
			jsonw_uint_field(json_wtr, "run_cnt", r->run_cnt);
			jsonw_uint_field(json_wtr, "run_time_ns", r->run_time_ns);
			jsonw_uint_field(json_wtr, "avg_ns",
					 r->run_cnt ? r->run_time_ns / r->run_cnt : 0);
		}
		jsonw_end_object(json_wtr);
	}
	jsonw_end_array(json_wtr);
}

static int do_show(struct cli *c, int argc, char **argv)
{
	struct link_row rows[MQLB_MAX_IFACES * 2];
	bool stats = bpf_stats_enabled();
	size_t n, i;
	int err;

	if (argc) {
		p_err("prog show: unexpected argument '%s'", argv[0]);
		return -EINVAL;
	}
	err = collect(c, rows, sizeof(rows) / sizeof(rows[0]), &n);
	if (err)
		return err;
	if (json_wtr) {
		print_json(rows, n, stats);
		return 0;
	}
	if (!n) {
		fprintf(c->out, "no XDP links pinned under %s\n", c->pin_path);
		return 0;
	}
	fprintf(c->out, "%-16s  %7s  %7s  %7s  %-12s  %-8s  %12s  %8s\n", "INTERFACE", "IFINDEX",
		"LINK", "PROG", "NAME", "MODE", "RUN-COUNT", "AVG-NS");
	for (i = 0; i < n; i++) {
		const struct link_row *r = &rows[i];
		char cnt[24] = "-", avg[24] = "-";

		if (stats) {
			snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)r->run_cnt);
			snprintf(
			    avg, sizeof(avg), "%llu",
			    (unsigned long long)(r->run_cnt ? r->run_time_ns / r->run_cnt : 0));
		}
		fprintf(c->out, "%-16s  %7u  %7u  %7u  %-12s  %-8s  %12s  %8s\n", r->ifname,
			r->ifindex, r->link_id, r->prog_id, r->prog_name[0] ? r->prog_name : "-",
			r->mode, cnt, avg);
	}
	if (!stats)
		fprintf(c->out, "run statistics are off; enable with: sysctl -w "
				"kernel.bpf_stats_enabled=1\n");
	return 0;
}

static int do_help(struct cli *c, int argc, char **argv)
{
	return cli_usage(c,
		"Usage: %1$s %2$s { show | list }\n"
		"       %1$s %2$s help\n"
		"\n"
		"       one row per pinned XDP link (%3$sIFNAME under --pin-path); run from\n"
		"       mqlbd's network namespace for the XDP mode\n"
		"       " HELP_SPEC_OPTIONS "\n",
		c->prog, "prog", MQLB_LINK_PREFIX);
}

static const struct cmd cmds[] = {
    {"show", do_show},
    {"list", do_show},
    {"help", do_help},
    {0},
};

int do_prog(struct cli *c, int argc, char **argv)
{
	return cmd_select(c, cmds, argc, argv, "prog");
}
