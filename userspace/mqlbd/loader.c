// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "log.h"
#include "pin_compat.h"
#include "mqlb.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static bool libbpf_quiet;
static bool libbpf_debug;

void loader_set_libbpf_debug(bool on)
{
	libbpf_debug = on;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	if (libbpf_quiet && level != LIBBPF_DEBUG)
		return 0;
	if (level == LIBBPF_DEBUG && !libbpf_debug)
		return 0;
	log_vprint(ours, fmt, ap);
	return 0;
}

void loader_setup_libbpf_logging(void)
{
	libbpf_set_print(libbpf_print);
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int mount_bpffs(struct loader *l, const char *where)
{
	int err = mkdir_p(where);

	if (err) {
		pr_warn("mount bpffs on %s: can't create the directory: %s\n", where, strerror(-err));
		return err;
	}
	if (mount("bpf", where, "bpf", 0, "mode=0700")) {
		err = -errno;
		pr_warn("mount bpffs on %s: %s%s\n", where, strerror(-err),
			err == -EPERM ? " (needs CAP_SYS_ADMIN: mount it before mqlbd starts, as "
					"mqlbd.service does for /sys/fs/bpf)" : "");
		return err;
	}
	snprintf(l->mounted_at, sizeof(l->mounted_at), "%s", where);
	pr_info("mounted bpffs on %s\n", where);
	return 0;
}

int loader_prepare_pin_path(struct loader *l, const char *pin_path)
{
	static const char sys_bpf[] = "/sys/fs/bpf";
	int err;

	if (snprintf(l->pin_path, sizeof(l->pin_path), "%s", pin_path) >= (int)sizeof(l->pin_path))
		return -ENAMETOOLONG;
	if (!strncmp(pin_path, sys_bpf, sizeof(sys_bpf) - 1) &&
	    (pin_path[sizeof(sys_bpf) - 1] == '/' || !pin_path[sizeof(sys_bpf) - 1])) {
		/* The usual place: mount the system bpffs if this machine has none yet. */
		if (!on_bpffs(sys_bpf)) {
			err = mount_bpffs(l, sys_bpf);
			if (err)
				return err;
		}
	} else {
		err = mkdir_p(pin_path);
		if (err) {
			pr_warn("pin path %s: %s\n", pin_path, strerror(-err));
			return err;
		}
		if (!on_bpffs(pin_path)) {
			err = mount_bpffs(l, pin_path);
			if (err)
				return err;
		}
	}
	err = mkdir_p(pin_path);
	if (err) {
		pr_warn("pin path %s: %s\n", pin_path, strerror(-err));
		return err;
	}
	return 0;
}

int loader_open_load(struct loader *l, const struct mqlbd_config *c)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = l->pin_path);
	int err;

	l->skel = mqlb_bpf__open_opts(&opts);
	if (!l->skel) {
		err = -errno;
		pr_warn("can't open the XDP object: %s\n", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(l->skel->maps.flows, c->flow_table_size);
	bpf_map__set_max_entries(l->skel->maps.snat, c->flow_table_size);
	bpf_map__set_max_entries(l->skel->maps.tw_ts, c->flow_table_size);
	bpf_map__set_max_entries(l->skel->maps.src_limits, c->flow_table_size);
	bpf_map__set_max_entries(l->skel->maps.embryos, c->flow_table_size);
	/*
	 * Maps already pinned under the pin path (a previous daemon that was
	 * killed) are reused by libbpf, so their flows live on: only if their
	 * records are laid out as ours.
	 */
	err = pin_compat_check(l->skel->obj);
	if (err) {
		mqlb_bpf__destroy(l->skel);
		l->skel = NULL;
		return err;
	}
	err = mqlb_bpf__load(l->skel);
	if (err) {
		pr_warn("can't load the XDP object: %s (maps pinned under %s by a different "
			"flow-table-size or an older mqlb are not reused: run the old settings, or "
			"'mqlbd --stop -c FILE' first, which ends the flows)\n",
			strerror(-err), l->pin_path);
		mqlb_bpf__destroy(l->skel);
		l->skel = NULL;
		return err;
	}
	return 0;
}

static void link_pin_name(const struct loader *l, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s", l->pin_path, MQLB_LINK_PREFIX, ifname);
}

static int link_create(int prog_fd, int ifindex, bool native)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts,
		    .flags = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);

	return fd < 0 ? -errno : fd;
}

static bool attached_native(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	return !bpf_xdp_query(ifindex, 0, &q) && q.attach_mode == XDP_ATTACHED_DRV;
}

int loader_attach(struct loader *l, const char *ifname, enum xdp_attach_mode mode)
{
	int prog_fd = bpf_program__fd(l->skel->progs.mqlb_xdp);
	struct attached_if *a = &l->ifs[l->nifs];
	char pin[PATH_MAX];
	int fd, err;

	if (l->nifs == 2)
		return -ENOSPC;
	memset(a, 0, sizeof(*a));
	a->link_fd = -1;
	snprintf(a->name, sizeof(a->name), "%s", ifname);
	a->ifindex = (int)if_nametoindex(ifname);
	if (!a->ifindex) {
		err = -errno;
		pr_warn("interface '%s': %s\n", ifname, strerror(-err));
		return err;
	}

	link_pin_name(l, ifname, pin, sizeof(pin));
	fd = bpf_obj_get(pin);
	if (fd >= 0) {
		/* A link left by a daemon that died: swap our program in, atomically. */
		if (bpf_link_update(fd, prog_fd, NULL)) {
			err = -errno;
			close(fd);
			pr_warn("interface '%s': can't update pinned link %s: %s\n", ifname, pin,
				strerror(-err));
			return err;
		}
		pr_info("interface %s: took over the pinned XDP link %s\n", ifname, pin);
		a->link_fd = fd;
		a->native = attached_native(a->ifindex);
		l->nifs++;
		return 0;
	}

	if (mode != XDP_ATTACH_GENERIC) {
		libbpf_quiet = mode == XDP_ATTACH_AUTO;
		fd = link_create(prog_fd, a->ifindex, true);
		libbpf_quiet = false;
		a->native = fd >= 0;
		if (fd < 0 && mode == XDP_ATTACH_NATIVE) {
			pr_warn("interface '%s': native XDP attach failed: %s\n", ifname,
				strerror(-fd));
			return fd;
		}
		if (fd < 0)
			pr_warn("interface %s: native XDP not available (%s), falling back to "
				"generic XDP, which runs later and costs more per packet\n",
				ifname, strerror(-fd));
	} else {
		fd = -1;
	}
	if (fd < 0) {
		fd = link_create(prog_fd, a->ifindex, false);
		if (fd < 0) {
			pr_warn("interface '%s': XDP attach failed: %s%s\n", ifname, strerror(-fd),
				fd == -EBUSY ? " (another XDP program is attached: "
					       "ip link set dev IFACE xdp off)" : "");
			return fd;
		}
	}
	a->link_fd = fd;
	if (bpf_obj_pin(fd, pin)) {
		err = -errno;
		pr_warn("interface '%s': can't pin link at %s: %s\n", ifname, pin, strerror(-err));
		close(fd);
		a->link_fd = -1;
		return err;
	}
	pr_info("interface %s (ifindex %d): XDP attached in %s mode\n", ifname, a->ifindex,
		a->native ? "native" : "generic");
	l->nifs++;
	return 0;
}

static bool ours(const struct loader *l, const char *ifname)
{
	int i;

	for (i = 0; i < l->nifs; i++)
		if (!strcmp(l->ifs[i].name, ifname))
			return true;
	return false;
}

/* Unpin link_IFNAME entries; with keep_ours, only those of interfaces we no longer use. */
static void unpin_links(struct loader *l, bool keep_ours)
{
	size_t plen = strlen(MQLB_LINK_PREFIX);
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	dir = opendir(l->pin_path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, MQLB_LINK_PREFIX, plen))
			continue;
		if (keep_ours && ours(l, de->d_name + plen))
			continue;
		snprintf(path, sizeof(path), "%s/%s", l->pin_path, de->d_name);
		if (unlink(path) && errno != ENOENT)
			pr_warn("unpin %s: %s\n", path, strerror(errno));
		else if (keep_ours)
			pr_info("interface %s is no longer configured: XDP detached from it\n",
				de->d_name + plen);
	}
	closedir(dir);
}

void loader_drop_stale_links(struct loader *l)
{
	unpin_links(l, true);
}

void loader_teardown(struct loader *l)
{
	char pin[PATH_MAX];
	int i;

	for (i = 0; i < l->nifs; i++) {
		struct attached_if *a = &l->ifs[i];

		link_pin_name(l, a->name, pin, sizeof(pin));
		if (unlink(pin) && errno != ENOENT)
			pr_warn("unpin %s: %s\n", pin, strerror(errno));
		/* Closing the last reference to an unpinned link detaches it. */
		if (a->link_fd >= 0)
			close(a->link_fd);
		a->link_fd = -1;
	}
	l->nifs = 0;
	/* Also any link a previous daemon pinned for an interface we never attached. */
	unpin_links(l, false);
	if (l->skel) {
		bpf_object__unpin_maps(l->skel->obj, NULL);
		mqlb_bpf__destroy(l->skel);
		l->skel = NULL;
	}
	/* A bpffs we mounted on the pin path itself goes too; /sys/fs/bpf stays. */
	if (l->mounted_at[0] && !strcmp(l->mounted_at, l->pin_path)) {
		if (umount(l->mounted_at))
			pr_warn("umount %s: %s\n", l->mounted_at, strerror(errno));
		l->mounted_at[0] = '\0';
	}
	if (l->pin_path[0] && rmdir(l->pin_path) && errno != ENOENT && errno != ENOTEMPTY &&
	    errno != EBUSY)
		pr_warn("remove %s: %s\n", l->pin_path, strerror(errno));
}

void loader_release(struct loader *l)
{
	int i;

	for (i = 0; i < l->nifs; i++)
		if (l->ifs[i].link_fd >= 0)
			close(l->ifs[i].link_fd);
	l->nifs = 0;
	if (l->skel) {
		mqlb_bpf__destroy(l->skel);
		l->skel = NULL;
	}
}

int loader_remove_pinned(const char *pin_path)
{
	static const char *const maps[] = {
		MQLB_NAME(MQLB_MAP_CONFIG),	   MQLB_NAME(MQLB_MAP_BACKENDS),
		MQLB_NAME(MQLB_MAP_RING),	   MQLB_NAME(MQLB_MAP_RR),
		MQLB_NAME(MQLB_MAP_FLOWS),	   MQLB_NAME(MQLB_MAP_SNAT),
		MQLB_NAME(MQLB_MAP_STATS),	   MQLB_NAME(MQLB_MAP_BACKEND_STATS),
		MQLB_NAME(MQLB_MAP_BACKEND_INFO), MQLB_NAME(MQLB_MAP_TW_TS),
		MQLB_NAME(MQLB_MAP_BACKEND_ADDRS), MQLB_NAME(MQLB_MAP_SRC),
		MQLB_NAME(MQLB_MAP_EMBRYOS),	   MQLB_NAME(MQLB_MAP_EMBRYO_POS),
		MQLB_NAME(MQLB_MAP_MAGLEV),	   MQLB_NAME(MQLB_MAP_STASH),
	};
	char path[PATH_MAX];
	struct dirent *de;
	int removed = 0;
	size_t i;
	DIR *dir;

	dir = opendir(pin_path);
	if (!dir) {
		printf("mqlbd: nothing pinned under %s\n", pin_path);
		return 0;
	}
	/* Links first: unpinning the last reference detaches XDP. */
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, MQLB_LINK_PREFIX, strlen(MQLB_LINK_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_path, de->d_name);
		if (!unlink(path)) {
			printf("mqlbd: detached XDP from %s\n", de->d_name + strlen(MQLB_LINK_PREFIX));
			removed++;
		}
	}
	closedir(dir);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, maps[i]);
		removed += unlink(path) == 0;
	}
	rmdir(pin_path);
	printf("mqlbd: removed %d pinned object(s) under %s\n", removed, pin_path);
	return 0;
}

int loader_map_fd(const struct loader *l, const char *name)
{
	struct bpf_map *m;

	if (!l->skel)
		return -ENOENT;
	m = bpf_object__find_map_by_name(l->skel->obj, name);
	return m ? bpf_map__fd(m) : -ENOENT;
}
