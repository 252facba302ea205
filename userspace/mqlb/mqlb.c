// SPDX-License-Identifier: GPL-2.0
/*
 * mqlb: the bpftool-style CLI of mqlb. `mqlb [OPTIONS] OBJECT VERB [ARGS]`.
 * Show verbs read the maps mqlbd pinned; changes go through mqlbd's
 * control socket. Exit status 0 on success, 1 with one error line (or a
 * JSON error object with -j) otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "version.h"
#include "cli.h"
#include "cli_opts.h"
#include "mqlb_ctl.h"

static int do_help(struct cli *c, int argc, char **argv)
{
	return cli_usage(c,
		"Usage: %1$s [OPTIONS] OBJECT { COMMAND | help }\n"
		"       %1$s version\n"
		"\n"
		"       OBJECT := { backend | flow | stats | prog | maglev }\n"
		"       " HELP_SPEC_OPTIONS "\n"
		"\n"
		"       Options go anywhere on the line (mqlb backend show -j); '--' ends them.\n"
		"       -j, --json        JSON output\n"
		"       -p, --pretty      pretty-printed JSON (implies -j)\n"
		"       -V, --version     print the version\n"
		"       --pin-path DIR    where mqlbd pinned its maps ($MQLB_PIN_PATH, %2$s)\n"
		"       --control PATH    mqlbd's control socket ($MQLB_CONTROL, %3$s)\n"
		"\n"
		"       objects and commands may be abbreviated: %1$s b s = %1$s backend show\n",
		c->prog, MQLB_PIN_DEFAULT, MQLB_CTL_DEFAULT);
}

static int do_version(struct cli *c, int argc, char **argv)
{
	if (json_wtr) {
		char lib[16];

		snprintf(lib, sizeof(lib), "%u.%u", libbpf_major_version(), libbpf_minor_version());
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "version", MQLB_VERSION);
		jsonw_string_field(json_wtr, "build", MQLB_VERSION_FULL);
		jsonw_string_field(json_wtr, "libbpf_version", lib);
		jsonw_end_object(json_wtr);
	} else {
		fprintf(c->out, "%s v%s\nusing libbpf v%u.%u\n", c->prog, MQLB_VERSION_FULL,
			libbpf_major_version(), libbpf_minor_version());
	}
	return 0;
}

/* The first row is what a bare `mqlb` runs. */
static const struct cmd objects[] = {
    {"help", do_help},
    {"backend", do_backend},
    {"flow", do_flow},
    {"stats", do_stats},
    {"prog", do_prog},
    {"maglev", do_maglev},
    {"version", do_version},
    {0},
};

static void libbpf_quiet(void)
{
	/* The CLI reports its own errors in one line; libbpf's warnings would be a second. */
	libbpf_set_print(NULL);
}

int main(int argc, char **argv)
{
	struct cli c = {
	    .prog = "mqlb",
	    .pin_path = getenv("MQLB_PIN_PATH"),
	    .control_path = getenv("MQLB_CONTROL"),
	    .out = stdout,
	};
	struct cli_global_opts g = {0};
	char opt_err[128] = "";
	int err, opt_ret;

	if (!c.pin_path || !*c.pin_path)
		c.pin_path = MQLB_PIN_DEFAULT;
	if (!c.control_path || !*c.control_path)
		c.control_path = MQLB_CTL_DEFAULT;
	opt_ret = cli_take_global_opts(&argc, argv, &g, opt_err, sizeof(opt_err));
	if (g.pin_path)
		c.pin_path = g.pin_path;
	if (g.control)
		c.control_path = g.control;
	c.pretty = g.pretty;
	if (g.json) {
		json_wtr = jsonw_new(stdout);
		if (!json_wtr) {
			fprintf(stderr, "error: can't create the JSON writer: %s\n",
				strerror(errno));
			return 1;
		}
		jsonw_pretty(json_wtr, c.pretty);
	}
	if (opt_ret) {
		/* Reported once the writer exists, so that `-j -x` still gets a JSON error. */
		p_err("%s", opt_err);
		jsonw_destroy(&json_wtr);
		return 1;
	}
	libbpf_quiet();
	argc -= 1;
	argv += 1;
	if (g.version)
		err = do_version(&c, 0, argv);
	else if (g.help)
		err = do_help(&c, 0, argv);
	else if (!argc)
		err = do_help(&c, 0, argv);
	else
		err = cmd_select(&c, objects, argc, argv, "object");
	jsonw_destroy(&json_wtr);
	return err ? 1 : 0;
}
