// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "log.h"
#include "pin_compat.h"

/* Deep enough for any record of mqlb_abi.h (a struct of arrays of ints). */
#define MAX_DEPTH 8

static const struct btf_type *resolved(const struct btf *btf, __u32 *id)
{
	int r = btf__resolve_type(btf, *id);

	if (r < 0)
		return NULL;
	*id = (__u32)r;
	return btf__type_by_id(btf, *id);
}

static bool same(const struct btf *ba, __u32 a, const struct btf *bb, __u32 b, const char *path,
		 int depth, char *why, size_t len)
{
	const struct btf_type *ta = resolved(ba, &a), *tb = resolved(bb, &b);
	char sub[128];
	__u16 i, n;

	if (!ta || !tb) {
		snprintf(why, len, "%s: type not found", path);
		return false;
	}
	if (btf_kind(ta) != btf_kind(tb)) {
		snprintf(why, len, "%s: a different kind of type", path);
		return false;
	}
	if (depth > MAX_DEPTH) {
		snprintf(why, len, "%s: nested too deep to compare", path);
		return false;
	}
	switch (btf_kind(ta)) {
	case BTF_KIND_INT:
		if (ta->size != tb->size || btf_int_encoding(ta) != btf_int_encoding(tb) ||
		    btf_int_bits(ta) != btf_int_bits(tb) || btf_int_offset(ta) != btf_int_offset(tb)) {
			snprintf(why, len, "%s: a different integer", path);
			return false;
		}
		return true;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		if (ta->size != tb->size) {
			snprintf(why, len, "%s: a different size", path);
			return false;
		}
		return true;
	case BTF_KIND_ARRAY: {
		const struct btf_array *xa = btf_array(ta), *xb = btf_array(tb);

		if (xa->nelems != xb->nelems) {
			snprintf(why, len, "%s: %u elements, now %u", path, xa->nelems, xb->nelems);
			return false;
		}
		snprintf(sub, sizeof(sub), "%s[]", path);
		return same(ba, xa->type, bb, xb->type, sub, depth + 1, why, len);
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *ma = btf_members(ta), *mb = btf_members(tb);

		n = btf_vlen(ta);
		if (ta->size != tb->size) {
			snprintf(why, len, "%s: %u bytes, now %u", path, ta->size, tb->size);
			return false;
		}
		for (i = 0; i < n && i < btf_vlen(tb); i++) {
			const char *na = btf__name_by_offset(ba, ma[i].name_off);
			const char *nb = btf__name_by_offset(bb, mb[i].name_off);

			snprintf(sub, sizeof(sub), "%s.%s", path, na ? na : "?");
			if (!na || !nb || strcmp(na, nb) ||
			    btf_member_bit_offset(ta, i) != btf_member_bit_offset(tb, i) ||
			    btf_member_bitfield_size(ta, i) != btf_member_bitfield_size(tb, i)) {
				snprintf(why, len, "%s: moved, renamed or resized", sub);
				return false;
			}
			if (!same(ba, ma[i].type, bb, mb[i].type, sub, depth + 1, why, len))
				return false;
		}
		if (n != btf_vlen(tb)) {
			snprintf(why, len, "%s: %u fields, now %u", path, n, btf_vlen(tb));
			return false;
		}
		return true;
	}
	default:
		/* Pointers, functions and the rest never appear in a map record. */
		return true;
	}
}

bool btf_same_layout(const struct btf *btf_a, __u32 a, const struct btf *btf_b, __u32 b,
		     char *why, size_t len)
{
	if (len)
		why[0] = '\0';
	return same(btf_a, a, btf_b, b, "", 0, why, len);
}

/* 1: same layout (or nothing to compare), 0: differs (why filled), <0: error. */
static int pinned_map_same(const struct btf *ours, const struct bpf_map *m, int fd, char *why,
			   size_t len)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	struct btf *theirs;
	char diff[160];
	int ret = 1;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	if (!ours || !info.btf_id || !bpf_map__btf_value_type_id(m))
		return 1;
	theirs = btf__load_from_kernel_by_id(info.btf_id);
	if (!theirs)
		return -errno;
	if (info.btf_key_type_id && bpf_map__btf_key_type_id(m) &&
	    !btf_same_layout(theirs, info.btf_key_type_id, ours, bpf_map__btf_key_type_id(m),
			     diff, sizeof(diff))) {
		snprintf(why, len, "key%s", diff);
		ret = 0;
	} else if (info.btf_value_type_id &&
		   !btf_same_layout(theirs, info.btf_value_type_id, ours,
				    bpf_map__btf_value_type_id(m), diff, sizeof(diff))) {
		snprintf(why, len, "value%s", diff);
		ret = 0;
	}
	btf__free(theirs);
	return ret;
}

int pin_compat_check(struct bpf_object *obj)
{
	struct bpf_map *m;
	char why[192];
	int fd, r;

	bpf_object__for_each_map(m, obj) {
		const char *path = bpf_map__pin_path(m);

		if (!path || access(path, F_OK))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			pr_warn("pinned map %s: %s\n", path, strerror(errno));
			return -errno;
		}
		r = pinned_map_same(bpf_object__btf(obj), m, fd, why, sizeof(why));
		close(fd);
		if (r < 0) {
			pr_warn("pinned map %s: can't read its type: %s\n", path, strerror(-r));
			return r;
		}
		if (!r) {
			pr_warn("map %s pinned at %s has another layout than this mqlb's (%s %s): "
				"it was made by another version, whose data plane may still be "
				"running; 'mqlbd --stop -c FILE' ends it and its flows\n",
				bpf_map__name(m), path, bpf_map__name(m), why);
			return -EEXIST;
		}
	}
	return 0;
}
