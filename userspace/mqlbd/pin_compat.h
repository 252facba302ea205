/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is a map pinned by an earlier mqlbd the same layout as this build's?
 * libbpf reuses a pinned map when type, key and value sizes and
 * max_entries match; a record whose fields moved keeps its size, and would
 * be read wrongly by the new program. The maps carry BTF, so the pinned
 * map's key and value types are compared with ours field by field.
 */
#ifndef MQLBD_PIN_COMPAT_H
#define MQLBD_PIN_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/*
 * Types a (in btf_a) and b (in btf_b) have the same layout: the same kinds,
 * sizes, and members by name, offset and bitfield size, recursively;
 * typedefs and const/volatile are looked through. On a difference, why
 * (at most len bytes) names the first member that differs.
 */
bool btf_same_layout(const struct btf *btf_a, __u32 a, const struct btf *btf_b, __u32 b,
		     char *why, size_t len);

/*
 * For each map of the opened (not yet loaded) object that is already
 * pinned: 0 when every one has our layout (or carries no BTF to compare),
 * -EEXIST with a warning naming the map and the field otherwise.
 */
int pin_compat_check(struct bpf_object *obj);

#endif
