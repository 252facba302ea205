/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqlb, the CLI: command tables, error reporting and the renderers that
 * turn a snapshot into text or JSON. Rendering never touches a map, so
 * the golden tests feed it fixture snapshots without privileges.
 */
#ifndef MQLB_CLI_H
#define MQLB_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "json_writer.h"
#include "snapshot.h"

#ifndef MQLB_VERSION
#define MQLB_VERSION "0.1.0"
#endif

#define HELP_SPEC_OPTIONS "OPTIONS := { -j | -p | -V | --pin-path DIR | --control PATH }"

/* Per-invocation settings, passed to every command: no globals. */
struct cli {
	const char *prog; /* "mqlb" */
	const char *pin_path;
	const char *control_path;
	bool pretty;
	FILE *out; /* stdout; a memstream in tests */
};

struct cmd {
	const char *name;
	int (*func)(struct cli *c, int argc, char **argv);
};

/*
 * The one piece of file-scope state (as bpftool's): set when -j/-p was
 * given, so that p_err() and help know to emit JSON.
 */
extern json_writer_t *json_wtr;

void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A help text on c->out; in JSON mode `null` instead, so stdout stays JSON. Returns 0. */
int cli_usage(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool is_prefix(const char *pfx, const char *str);
/*
 * Runs the row whose name argv[0] is a prefix of; exact names win; an
 * ambiguous prefix is an error naming the candidates. No argument runs
 * the first row. what: "object" or the object name, for messages.
 */
int cmd_select(struct cli *c, const struct cmd *cmds, int argc, char **argv, const char *what);

/* Opens the pinned maps, with the error printed. */
int cli_open_maps(struct cli *c, struct snap_src *src);
/* Opens, snapshots, closes; *out freed by the caller with snapshot_free(). */
int cli_snapshot(struct cli *c, unsigned int flags, struct snapshot **out);

/* Formatting helpers shared by the renderers. */
const char *fmt_duration(uint64_t ns, char *buf, size_t len);
const char *fmt_latency_us(uint32_t us, char *buf, size_t len);
const char *fmt_addr(uint32_t addr_be, uint16_t port_be, char *buf, size_t len);
const char *flow_tcp_state(uint32_t flags);
const char *mqtt_level_name(uint8_t level, char *buf, size_t len);
/* How the data plane judged a flow's first payload (MQLB_MQTT_*), or NULL: not yet. */
const char *mqtt_outcome_name(uint8_t mqtt_flags);
const char *check_result_name(uint8_t result);

/* Objects (one file each). */
int do_backend(struct cli *c, int argc, char **argv);
int do_flow(struct cli *c, int argc, char **argv);
int do_stats(struct cli *c, int argc, char **argv);
int do_prog(struct cli *c, int argc, char **argv);
int do_maglev(struct cli *c, int argc, char **argv);

/* Renderers, pure over a snapshot; name == NULL means all. 0 or -ENOENT. */
int backend_print_plain(FILE *out, const struct snapshot *s, const char *name);
int backend_print_json(json_writer_t *w, const struct snapshot *s, const char *name);
int flow_print_plain(FILE *out, const struct snapshot *s, const char *backend);
int flow_print_json(json_writer_t *w, const struct snapshot *s, const char *backend);
void stats_print_plain(FILE *out, const struct snapshot *s);
void stats_print_json(json_writer_t *w, const struct snapshot *s);

/* mqlb maglev show: where one client id goes (cli_maglev.c). */
struct maglev_answer {
	const char *id;
	bool hashed;  /* not for the empty id */
	bool by_id;   /* its slot's backend is up: chosen by the id, else by round-robin */
	uint64_t hash;
	uint32_t slot;
	uint32_t backend_id;                /* the slot's, MQLB_MAGLEV_NONE if none */
	const struct snap_backend *backend; /* the slot's, NULL if none */
	const char *why;                    /* round-robin: the reason */
};
void maglev_answer(const struct snapshot *s, const struct mqlb_maglev *m, const char *id,
		   struct maglev_answer *a);
void maglev_print_plain(FILE *out, const struct maglev_answer *a, size_t n);
void maglev_print_json(json_writer_t *w, const struct maglev_answer *a, size_t n);
/* Control socket (cli_backend.c): sends line, prints the answer. */
int ctl_request(struct cli *c, const char *line);

#endif
