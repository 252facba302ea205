// SPDX-License-Identifier: GPL-2.0
/*
 * mqlb maglev: which backend a client id goes to under balance client-id,
 * answered from the pinned maps as the data plane would: the id hashed
 * with the running configuration's seed (include/mqlb_hash.h), its slot in
 * the active Maglev table, and that backend's state (a backend not up, or
 * an empty id, means round-robin instead).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/types.h>

#include "cli.h"
#include "mqlb_hash.h"

/*
 * The answer for one id. By the data plane's rules (bpf/bind_flow.h
 * bind_choose): the slot's backend when it is up, else round-robin.
 */
void maglev_answer(const struct snapshot *s, const struct mqlb_maglev *m, const char *id,
		   struct maglev_answer *a)
{
	size_t len = strlen(id);

	memset(a, 0, sizeof(*a));
	a->id = id;
	a->backend_id = MQLB_MAGLEV_NONE;
	if (!len) {
		a->why = "empty client id";
		return;
	}
	a->hashed = true;
	a->hash = mqlb_hash_bytes(s->cfg.hash_seed, (const __u8 *)id,
				  len > UINT32_MAX ? UINT32_MAX : (__u32)len);
	a->slot = mqlb_hash_slot(a->hash);
	a->backend_id = m->slot[a->slot];
	a->backend = snapshot_backend_by_id(s, a->backend_id);
	if (a->backend_id == MQLB_MAGLEV_NONE || !a->backend)
		a->why = "no backend up";
	else if (a->backend->be.state != MQLB_BE_UP)
		a->why = "its backend is not up";
	else
		a->by_id = true;
}

void maglev_print_plain(FILE *out, const struct maglev_answer *a, size_t n)
{
	size_t i, w = strlen("CLIENT-ID");
	char name[16];

	for (i = 0; i < n; i++)
		if (strlen(a[i].id) > w)
			w = strlen(a[i].id);
	if (w > 64)
		w = 64;
	fprintf(out, "%-*s  %18s  %6s  %-10s  %-8s  %s\n", (int)w, "CLIENT-ID", "HASH", "SLOT",
		"BACKEND", "STATE", "CHOICE");
	for (i = 0; i < n; i++) {
		const struct maglev_answer *x = &a[i];
		char hash[24] = "-", slot[12] = "-";

		if (x->hashed) {
			snprintf(hash, sizeof(hash), "0x%016llx", (unsigned long long)x->hash);
			snprintf(slot, sizeof(slot), "%u", x->slot);
		}
		fprintf(out, "%-*s  %18s  %6s  %-10s  %-8s  %s%s%s\n", (int)w,
			x->id[0] ? x->id : "\"\"", hash, slot,
			x->backend ? snap_backend_name(x->backend, name, sizeof(name)) : "-",
			x->backend ? snap_state_name(x->backend->be.state) : "-",
			x->by_id ? "client-id" : "round-robin", x->why ? ": " : "",
			x->why ? x->why : "");
	}
}

void maglev_print_json(json_writer_t *w, const struct maglev_answer *a, size_t n)
{
	size_t i;
	char name[16], hash[24];

	jsonw_start_array(w);
	for (i = 0; i < n; i++) {
		const struct maglev_answer *x = &a[i];

		jsonw_start_object(w);
		jsonw_string_field(w, "client_id", x->id);
		if (x->hashed) {
			snprintf(hash, sizeof(hash), "0x%016llx", (unsigned long long)x->hash);
			jsonw_string_field(w, "hash", hash);
			jsonw_uint_field(w, "slot", x->slot);
		} else {
			jsonw_null_field(w, "hash");
			jsonw_null_field(w, "slot");
		}
		if (x->backend) {
			jsonw_string_field(w, "backend",
					   snap_backend_name(x->backend, name, sizeof(name)));
			jsonw_uint_field(w, "backend_id", x->backend_id);
			jsonw_string_field(w, "backend_state", snap_state_name(x->backend->be.state));
		} else {
			jsonw_null_field(w, "backend");
			jsonw_null_field(w, "backend_id");
			jsonw_null_field(w, "backend_state");
		}
		jsonw_string_field(w, "chosen_by", x->by_id ? "client_id" : "round_robin");
		if (x->why)
			jsonw_string_field(w, "reason", x->why);
		else
			jsonw_null_field(w, "reason");
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
}

/* The active table, as the data plane reads it now; 0 or -errno (printed). */
static int read_active_table(struct cli *c, const struct snapshot *s, struct mqlb_maglev *m)
{
	char path[PATH_MAX];
	__u32 which = s->cfg.maglev_active & 1;
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/%s", c->pin_path, MQLB_NAME(MQLB_MAP_MAGLEV)) >=
	    (int)sizeof(path)) {
		p_err("pin path too long: %s", c->pin_path);
		return -ENAMETOOLONG;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		p_err("can't open %s: %s (is mqlbd running?)", path, strerror(errno));
		return err;
	}
	if (bpf_map_lookup_elem(fd, &which, m)) {
		err = -errno;
		p_err("can't read %s: %s", path, strerror(errno));
	}
	close(fd);
	return err;
}

static int do_show(struct cli *c, int argc, char **argv)
{
	struct maglev_answer *a = NULL;
	struct mqlb_maglev *m = NULL;
	struct snapshot *s = NULL;
	int i, err;

	if (!argc) {
		p_err("maglev show: expected CLIENT-ID...");
		return -EINVAL;
	}
	err = cli_snapshot(c, 0, &s);
	if (err)
		return err;
	if (!s->have_config || !(s->cfg.flags & MQLB_CFG_CLIENT_ID)) {
		p_err("mqlbd balances round-robin here: client ids choose no backend "
		      "(mqlbd.conf: balance client-id)");
		err = -EINVAL;
		goto out;
	}
	m = malloc(sizeof(*m));
	a = calloc((size_t)argc, sizeof(*a));
	if (!m || !a) {
		p_err("out of memory");
		err = -ENOMEM;
		goto out;
	}
	err = read_active_table(c, s, m);
	if (err)
		goto out;
	for (i = 0; i < argc; i++)
		maglev_answer(s, m, argv[i], &a[i]);
	if (json_wtr)
		maglev_print_json(json_wtr, a, (size_t)argc);
	else
		maglev_print_plain(c->out, a, (size_t)argc);
out:
	free(a);
	free(m);
	snapshot_free(s);
	return err;
}

static int do_help(struct cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage(c,
			 "Usage: %1$s maglev show CLIENT-ID...\n"
			 "       %1$s maglev help\n"
			 "\n"
			 "       Which backend each client id goes to under balance client-id,\n"
			 "       as the data plane chooses it now (\"\" for the empty id).\n"
			 "       " HELP_SPEC_OPTIONS "\n",
			 c->prog);
}

static const struct cmd cmds[] = {
    {"show", do_show},
    {"help", do_help},
    {0},
};

int do_maglev(struct cli *c, int argc, char **argv)
{
	if (!argc)
		return do_help(c, argc, argv);
	return cmd_select(c, cmds, argc, argv, "maglev");
}
