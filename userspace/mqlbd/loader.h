/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and attaching the XDP object: bpffs, skeleton open/load with the
 * maps pinned by name under the pin path, one pinned XDP link per
 * interface. Nothing else in mqlbd calls bpf_program__* or bpf_link_*.
 */
#ifndef MQLBD_LOADER_H
#define MQLBD_LOADER_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>

#include "config.h"

struct mqlb_bpf;

struct attached_if {
	char name[IF_NAMESIZE];
	int ifindex;
	int link_fd;
	bool native; /* attach mode actually used */
};

struct loader {
	struct mqlb_bpf *skel;
	char pin_path[256]; /* leaves room for "/link_IFNAME" in a PATH_MAX buffer */
	char mounted_at[PATH_MAX]; /* bpffs we mounted ourselves ("" if none) */
	int nifs;
	struct attached_if ifs[2];
};

/* Route libbpf's messages through pr_*, one level lower: libbpf's warnings are our details. */
void loader_setup_libbpf_logging(void);
/* -vv: libbpf's debug output too (it is long: every map and relocation). */
void loader_set_libbpf_debug(bool on);
/* Make sure pin_path is a directory on a bpffs, mounting one when needed. */
int loader_prepare_pin_path(struct loader *l, const char *pin_path);
int loader_open_load(struct loader *l, const struct mqlbd_config *c);
/* Attach to one interface (auto: native, else generic) and pin the link. */
int loader_attach(struct loader *l, const char *ifname, enum xdp_attach_mode mode);
/* fd of one of the object's maps by name, or -ENOENT. */
int loader_map_fd(const struct loader *l, const char *name);
/* After attaching: detach links a previous daemon left on interfaces no longer configured. */
void loader_drop_stale_links(struct loader *l);
/* Detach every link, unpin links and maps, close everything. */
void loader_teardown(struct loader *l);
/* Close our handles but leave links and maps pinned: the data plane keeps running. */
void loader_release(struct loader *l);
/* With no daemon running: unpin the links (detaching XDP) and maps under pin_path. */
int loader_remove_pinned(const char *pin_path);

#endif
