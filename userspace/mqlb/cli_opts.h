/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqlb's global options, taken from anywhere on the line as bpftool takes
 * them: `mqlb backend show -j` and `mqlb -j backend show` are the same
 * command. What is not a global option stays in argv, in order, for the
 * object and the verb, so verb options such as `stats watch -i 2 -c 5`
 * still reach their verb.
 */
#ifndef MQLB_CLI_OPTS_H
#define MQLB_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>

struct cli_global_opts {
	bool json;
	bool pretty;
	bool version;
	bool help;
	const char *pin_path;  /* NULL: not given */
	const char *control;
};

/*
 * Take the global options out of argv[1..*argc-1] (argv[0] is the
 * program): -j, -p, -V, -h (also bundled: -jp), --json, --pretty,
 * --version, --help, --pin-path DIR, --control PATH (also with '=', and
 * long names by unique prefix). "--" ends them and is removed. Before the
 * object an unknown option is an error; after it, it belongs to the verb.
 * Returns 0 with *argc and argv compacted, or -EINVAL with err set.
 */
int cli_take_global_opts(int *argc, char **argv, struct cli_global_opts *g, char *err,
			 size_t errlen);

#endif
