// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli_opts.h"

enum opt_id { OPT_JSON, OPT_PRETTY, OPT_VERSION, OPT_HELP, OPT_PIN_PATH, OPT_CONTROL };

struct gopt {
	const char *name;
	char short_name;   /* 0: long only */
	bool has_value;
	enum opt_id id;
};

static const struct gopt gopts[] = {
	{ "json", 'j', false, OPT_JSON },
	{ "pretty", 'p', false, OPT_PRETTY },
	{ "version", 'V', false, OPT_VERSION },
	{ "help", 'h', false, OPT_HELP },
	{ "pin-path", 0, true, OPT_PIN_PATH },
	{ "control", 0, true, OPT_CONTROL },
	{ NULL, 0, false, 0 },
};

static void set_flag(struct cli_global_opts *g, enum opt_id id)
{
	switch (id) {
	case OPT_PRETTY:
		g->pretty = true;
		g->json = true; /* -p implies -j */
		break;
	case OPT_JSON:
		g->json = true;
		break;
	case OPT_VERSION:
		g->version = true;
		break;
	case OPT_HELP:
		g->help = true;
		break;
	default:
		break;
	}
}

/* "--name" or "--name=value" by exact name or unique prefix; NULL if none, *ambiguous set. */
static const struct gopt *find_long(const char *arg, size_t len, bool *ambiguous)
{
	const struct gopt *o, *hit = NULL;

	*ambiguous = false;
	for (o = gopts; o->name; o++) {
		if (strlen(o->name) == len && !strncmp(o->name, arg, len))
			return o;
		if (strlen(o->name) > len && !strncmp(o->name, arg, len)) {
			if (hit)
				*ambiguous = true;
			hit = o;
		}
	}
	return *ambiguous ? NULL : hit;
}

/* "-jp": every letter a flag option. */
static bool short_cluster(const char *arg)
{
	const struct gopt *o;
	const char *c;

	if (arg[0] != '-' || !arg[1] || arg[1] == '-')
		return false;
	for (c = arg + 1; *c; c++) {
		for (o = gopts; o->name; o++)
			if (o->short_name == *c)
				break;
		if (!o->name)
			return false;
	}
	return true;
}

static void take_cluster(const char *arg, struct cli_global_opts *g)
{
	const struct gopt *o;
	const char *c;

	for (c = arg + 1; *c; c++)
		for (o = gopts; o->name; o++)
			if (o->short_name == *c)
				set_flag(g, o->id);
}

/* A long option at argv[*i]; consumes its value. 1 taken, 0 not ours, -EINVAL. */
static int take_long(int argc, char **argv, int *i, struct cli_global_opts *g, char *err,
		     size_t errlen)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *val = NULL;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct gopt *o;
	bool ambiguous;

	o = find_long(arg, len, &ambiguous);
	if (ambiguous) {
		snprintf(err, errlen, "option '%s' is ambiguous", argv[*i]);
		return -EINVAL;
	}
	if (!o)
		return 0;
	if (!o->has_value) {
		if (eq) {
			snprintf(err, errlen, "option '--%s' takes no value", o->name);
			return -EINVAL;
		}
		set_flag(g, o->id);
		return 1;
	}
	if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	}
	if (!val || !*val) {
		snprintf(err, errlen, "option '--%s' needs a value", o->name);
		return -EINVAL;
	}
	if (o->id == OPT_PIN_PATH)
		g->pin_path = val;
	else
		g->control = val;
	return 1;
}

int cli_take_global_opts(int *argc, char **argv, struct cli_global_opts *g, char *err,
			 size_t errlen)
{
	int i, out = 1, n = *argc, ret;
	bool object_seen = false;

	for (i = 1; i < n; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--")) {
			/* Everything after it is positional, even "-j". */
			for (i++; i < n; i++)
				argv[out++] = argv[i];
			break;
		}
		if (short_cluster(arg)) {
			take_cluster(arg, g);
			continue;
		}
		if (!strncmp(arg, "--", 2)) {
			ret = take_long(n, argv, &i, g, err, errlen);
			if (ret < 0)
				return ret;
			if (ret)
				continue;
		}
		if (arg[0] == '-' && arg[1] && !object_seen) {
			snprintf(err, errlen, "option '%s' is unknown, try 'mqlb help'", arg);
			return -EINVAL;
		}
		if (arg[0] != '-')
			object_seen = true;
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}
