// SPDX-License-Identifier: GPL-2.0
/* mqlb stats: the data plane's global counters, summed over CPUs, and their rates. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define NAME_W 22

/* The stop flag of stats watch: the one thing a signal handler may touch. */
static volatile sig_atomic_t watch_stop;

static void on_sigint(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static double table_use(const struct snapshot *s)
{
	return s->flow_max_entries ? 100.0 * (double)s->flow_entries / s->flow_max_entries : 0.0;
}

void stats_print_plain(FILE *out, const struct snapshot *s)
{
	unsigned int i;

	for (i = 0; i < MQLB_STAT_MAX; i++)
		fprintf(out, "%-*s  %llu\n", NAME_W, mqlb_stat_names[i] ? mqlb_stat_names[i] : "?",
			(unsigned long long)s->stats[i]);
	fprintf(out, "%-*s  %llu/%u (%.1f%%)\n", NAME_W, "flow_table",
		(unsigned long long)s->flow_entries, s->flow_max_entries, table_use(s));
}

void stats_print_json(json_writer_t *w, const struct snapshot *s)
{
	unsigned int i;

	jsonw_start_object(w);
	for (i = 0; i < MQLB_STAT_MAX; i++)
		if (mqlb_stat_names[i])
			jsonw_uint_field(w, mqlb_stat_names[i], s->stats[i]);
	jsonw_uint_field(w, "flow_entries", s->flow_entries);
	jsonw_uint_field(w, "flow_max_entries", s->flow_max_entries);
	jsonw_end_object(w);
}

static int do_show(struct cli *c, int argc, char **argv)
{
	struct snapshot *s;
	int err;

	if (argc) {
		p_err("stats show: unexpected argument '%s'", argv[0]);
		return -EINVAL;
	}
	err = cli_snapshot(c, 0, &s);
	if (err)
		return err;
	if (json_wtr)
		stats_print_json(json_wtr, s);
	else
		stats_print_plain(c->out, s);
	snapshot_free(s);
	return 0;
}

static void sleep_s(double secs)
{
	struct timespec ts = {.tv_sec = (time_t)secs};

	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	/* Interrupted by SIGINT: the caller checks watch_stop. */
	nanosleep(&ts, NULL);
}

/* A restarted data plane starts its counters again from zero: no negative rates. */
static double rate(uint64_t prev, uint64_t cur, double dt)
{
	return cur >= prev ? (double)(cur - prev) / dt : 0.0;
}

static void watch_print(struct cli *c, const struct snapshot *prev, const struct snapshot *cur,
			bool redraw)
{
	double dt = (double)(cur->now_ns - prev->now_ns) / 1e9;
	/* Only a terminal understands the cursor movement; pipes get a block per sample. */
	bool tty = isatty(fileno(c->out));
	unsigned int i;

	if (dt <= 0)
		dt = 1e-9;
	if (json_wtr) {
		jsonw_start_object(json_wtr);
		jsonw_float_field(json_wtr, "interval_s", dt);
		jsonw_name(json_wtr, "rates");
		jsonw_start_object(json_wtr);
		for (i = 0; i < MQLB_STAT_MAX; i++)
			if (mqlb_stat_names[i])
				jsonw_float_field(json_wtr, mqlb_stat_names[i],
						  rate(prev->stats[i], cur->stats[i], dt));
		jsonw_end_object(json_wtr);
		jsonw_uint_field(json_wtr, "flow_entries", cur->flow_entries);
		jsonw_end_object(json_wtr);
		jsonw_flush(json_wtr);
		return;
	}
	if (tty && redraw)
		fprintf(c->out, "\033[%uA", MQLB_STAT_MAX + 2);
	fprintf(c->out, "%s%-*s  %14s  %16s\n", tty ? "\033[2K" : "", NAME_W, "COUNTER", "RATE/S",
		"TOTAL");
	for (i = 0; i < MQLB_STAT_MAX; i++)
		fprintf(c->out, "%s%-*s  %14.1f  %16llu\n", tty ? "\033[2K" : "", NAME_W,
			mqlb_stat_names[i] ? mqlb_stat_names[i] : "?",
			rate(prev->stats[i], cur->stats[i], dt), (unsigned long long)cur->stats[i]);
	fprintf(c->out, "%s%-*s  %14s  %16llu\n", tty ? "\033[2K" : "", NAME_W, "flow_entries", "",
		(unsigned long long)cur->flow_entries);
	fflush(c->out);
}

static int parse_watch_args(int argc, char **argv, double *interval, unsigned long *count)
{
	char *end;
	int i;

	for (i = 0; i < argc; i += 2) {
		if (i + 1 >= argc) {
			p_err("stats watch: '%s' needs a value", argv[i]);
			return -EINVAL;
		}
		errno = 0;
		if (!strcmp(argv[i], "-i") || is_prefix(argv[i], "interval")) {
			*interval = strtod(argv[i + 1], &end);
			if (*end || errno || !(*interval >= 0.1 && *interval <= 3600)) {
				p_err("stats watch: interval '%s' is invalid, expected 0.1-3600 "
				      "seconds",
				      argv[i + 1]);
				return -EINVAL;
			}
		} else if (!strcmp(argv[i], "-c") || is_prefix(argv[i], "count")) {
			*count = strtoul(argv[i + 1], &end, 10);
			if (!*argv[i + 1] || *end || errno || *count < 1 || argv[i + 1][0] == '-') {
				p_err("stats watch: count '%s' is invalid, expected a positive "
				      "number",
				      argv[i + 1]);
				return -EINVAL;
			}
		} else {
			p_err("stats watch: unknown option '%s', expected -i SECONDS or -c COUNT",
			      argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int do_watch(struct cli *c, int argc, char **argv)
{
	struct snapshot *prev = NULL, *cur = NULL, *tmp;
	struct sigaction sa = {.sa_handler = on_sigint};
	unsigned long count = 0, n;
	double interval = 1.0;
	struct snap_src src;
	int err;

	err = parse_watch_args(argc, argv, &interval, &count);
	if (err)
		return err;
	err = cli_open_maps(c, &src);
	if (err)
		return err;
	prev = snapshot_new();
	cur = snapshot_new();
	if (!prev || !cur) {
		err = -ENOMEM;
		p_err("out of memory");
		goto out;
	}
	err = snapshot_from_fds(&src, prev, 0);
	if (err)
		goto out_read;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (json_wtr)
		jsonw_start_array(json_wtr);
	for (n = 0; !watch_stop && (!count || n < count); n++) {
		sleep_s(interval);
		if (watch_stop)
			break;
		err = snapshot_from_fds(&src, cur, 0);
		if (err)
			break;
		watch_print(c, prev, cur, n > 0);
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	if (json_wtr)
		jsonw_end_array(json_wtr);
out_read:
	if (err)
		p_err("can't read the pinned maps under %s: %s", c->pin_path, strerror(-err));
out:
	snapshot_free(prev);
	snapshot_free(cur);
	snapshot_close(&src);
	return err;
}

static int do_help(struct cli *c, int argc, char **argv)
{
	return cli_usage(c,
		"Usage: %1$s %2$s { show | list }\n"
		"       %1$s %2$s watch [-i SECONDS] [-c COUNT]\n"
		"       %1$s %2$s help\n"
		"\n"
		"       counters are summed over CPUs; watch prints per-second rates every\n"
		"       SECONDS (1), COUNT times (until interrupted)\n"
		"       " HELP_SPEC_OPTIONS "\n",
		c->prog, "stats");
}

static const struct cmd cmds[] = {
    {"show", do_show}, {"list", do_show}, {"watch", do_watch}, {"help", do_help}, {0},
};

int do_stats(struct cli *c, int argc, char **argv)
{
	return cmd_select(c, cmds, argc, argv, "stats");
}
