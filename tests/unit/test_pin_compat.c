// SPDX-License-Identifier: GPL-2.0
/*
 * The pinned-map layout check (userspace/mqlbd/pin_compat.c): the BTF comparison
 * on types built here, and pin_compat_check() with the real XDP object
 * against maps pinned on a scratch bpffs (skipped without root).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "mqlb_abi.h"
#include "mqlb.skel.h"
#include "pin_compat.h"

/*
 * A record like mqlb_flow, in a BTF of its own: struct rec { u64 a; u32 b;
 * u8 mac[6]; u16 c; }, or with b and c swapped when swapped, or with mac
 * of 8 bytes when wide. The u32 goes through a typedef in one of the two,
 * which must not matter. Returns the struct's id.
 */
static int add_rec(struct btf *btf, bool swapped, bool wide, bool typedef_u32)
{
	int u8 = btf__add_int(btf, "unsigned char", 1, 0);
	int u16 = btf__add_int(btf, "unsigned short", 2, 0);
	int u32 = btf__add_int(btf, "unsigned int", 4, 0);
	int u64 = btf__add_int(btf, "unsigned long long", 8, 0);
	int idx = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	int arr = btf__add_array(btf, idx, u8, wide ? 8 : 6);
	int b = typedef_u32 ? btf__add_typedef(btf, "__u32", u32) : u32;
	int s;

	assert_true(u8 > 0 && u16 > 0 && u32 > 0 && u64 > 0 && arr > 0 && b > 0);
	s = btf__add_struct(btf, "rec", 24);
	assert_true(s > 0);
	assert_int_equal(btf__add_field(btf, "a", u64, 0, 0), 0);
	if (swapped) {
		assert_int_equal(btf__add_field(btf, "c", u16, 64, 0), 0);
		assert_int_equal(btf__add_field(btf, "b", b, 96, 0), 0);
	} else {
		assert_int_equal(btf__add_field(btf, "b", b, 64, 0), 0);
		assert_int_equal(btf__add_field(btf, "c", u16, 96, 0), 0);
	}
	assert_int_equal(btf__add_field(btf, "mac", arr, 128, 0), 0);
	return s;
}

static bool layouts(bool swapped, bool wide, bool typedef_u32, char *why, size_t len)
{
	struct btf *x = btf__new_empty(), *y = btf__new_empty();
	int a, b;
	bool r;

	assert_non_null(x);
	assert_non_null(y);
	a = add_rec(x, false, false, false);
	b = add_rec(y, swapped, wide, typedef_u32);
	r = btf_same_layout(x, (__u32)a, y, (__u32)b, why, len);
	btf__free(x);
	btf__free(y);
	return r;
}

static void test_same_layout(void **state)
{
	char why[128];

	(void)state;
	assert_true(layouts(false, false, false, why, sizeof(why)));
	assert_string_equal(why, "");
	/* A typedef is only a name: the layout is the same. */
	assert_true(layouts(false, false, true, why, sizeof(why)));
}

static void test_moved_field(void **state)
{
	char why[128];

	(void)state;
	assert_false(layouts(true, false, false, why, sizeof(why)));
	assert_string_equal(why, ".b: moved, renamed or resized");
}

static void test_resized_array(void **state)
{
	char why[128];

	(void)state;
	assert_false(layouts(false, true, false, why, sizeof(why)));
	assert_string_equal(why, ".mac: 6 elements, now 8");
}

static void test_struct_sizes_and_counts(void **state)
{
	struct btf *x = btf__new_empty(), *y = btf__new_empty();
	int u32x = btf__add_int(x, "unsigned int", 4, 0);
	int u32y = btf__add_int(y, "unsigned int", 4, 0);
	int sx, sy, sz;
	char why[128];

	(void)state;
	sx = btf__add_struct(x, "s", 8);
	btf__add_field(x, "a", u32x, 0, 0);
	btf__add_field(x, "b", u32x, 32, 0);
	sy = btf__add_struct(y, "s", 8);
	btf__add_field(y, "a", u32y, 0, 0);
	sz = btf__add_struct(y, "s", 12);
	btf__add_field(y, "a", u32y, 0, 0);
	btf__add_field(y, "b", u32y, 32, 0);
	btf__add_field(y, "c", u32y, 64, 0);

	assert_false(btf_same_layout(x, (__u32)sx, y, (__u32)sy, why, sizeof(why)));
	assert_string_equal(why, ": 2 fields, now 1");
	assert_false(btf_same_layout(x, (__u32)sx, y, (__u32)sz, why, sizeof(why)));
	assert_string_equal(why, ": 8 bytes, now 12");
	/* A struct against an integer: another kind. */
	assert_false(btf_same_layout(x, (__u32)sx, y, (__u32)u32y, why, sizeof(why)));
	assert_string_equal(why, ": a different kind of type");
	btf__free(x);
	btf__free(y);
}

/* ---- the real object against maps pinned on a scratch bpffs ---- */

static char bpffs[64];

static struct mqlb_bpf *open_skel(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = bpffs);
	struct mqlb_bpf *skel = mqlb_bpf__open_opts(&o);

	assert_non_null(skel);
	bpf_map__set_max_entries(skel->maps.flows, 64);
	bpf_map__set_max_entries(skel->maps.snat, 64);
	return skel;
}

/* "flows" as another build could have pinned it: same sizes, the record one opaque array. */
static void pin_other_flows(const char *path)
{
	struct btf *btf = btf__new_empty();
	int u8 = btf__add_int(btf, "unsigned char", 1, 0);
	int idx = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	int key = btf__add_array(btf, idx, u8, sizeof(struct mqlb_flow_key));
	int raw = btf__add_array(btf, idx, u8, sizeof(struct mqlb_flow));
	int rec = btf__add_struct(btf, "mqlb_flow", sizeof(struct mqlb_flow));
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int fd;

	assert_int_equal(btf__add_field(btf, "raw", raw, 0, 0), 0);
	assert_int_equal(btf__load_into_kernel(btf), 0);
	o.btf_fd = btf__fd(btf);
	o.btf_key_type_id = (__u32)key;
	o.btf_value_type_id = (__u32)rec;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "flows", sizeof(struct mqlb_flow_key),
			    sizeof(struct mqlb_flow), 64, &o);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	btf__free(btf);
}

static void test_pinned_maps(void **state)
{
	struct mqlb_bpf *skel;
	char path[128];
	struct bpf_map *m;

	(void)state;
	snprintf(bpffs, sizeof(bpffs), "/tmp/mqlb-pincompat-%d", getpid());
	if (geteuid() != 0 || mkdir(bpffs, 0700)) {
		bpffs[0] = '\0';
		skip();
	}
	if (mount("bpf", bpffs, "bpf", 0, NULL))
		skip();
	/* Nothing pinned yet: nothing to compare. */
	skel = open_skel();
	assert_int_equal(pin_compat_check(skel->obj), 0);
	/* Loading pins every map; the next daemon's object matches them. */
	assert_int_equal(mqlb_bpf__load(skel), 0);
	mqlb_bpf__destroy(skel);
	skel = open_skel();
	assert_int_equal(pin_compat_check(skel->obj), 0);
	mqlb_bpf__destroy(skel);

	/* A flows map of another layout but the same sizes: refused, where libbpf would reuse it. */
	snprintf(path, sizeof(path), "%s/flows", bpffs);
	assert_int_equal(unlink(path), 0);
	pin_other_flows(path);
	skel = open_skel();
	assert_int_equal(pin_compat_check(skel->obj), -EEXIST);

	bpf_object__for_each_map(m, skel->obj)
		if (bpf_map__pin_path(m))
			unlink(bpf_map__pin_path(m));
	mqlb_bpf__destroy(skel);
}

/* Runs whether the test passed or failed, so no scratch bpffs outlives the run. */
static int remove_scratch_bpffs(void **state)
{
	(void)state;
	if (!bpffs[0])
		return 0;
	umount2(bpffs, MNT_DETACH);
	rmdir(bpffs);
	bpffs[0] = '\0';
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_layout),
		cmocka_unit_test(test_moved_field),
		cmocka_unit_test(test_resized_array),
		cmocka_unit_test(test_struct_sizes_and_counts),
		cmocka_unit_test_teardown(test_pinned_maps, remove_scratch_bpffs),
	};

	return cmocka_run_group_tests_name("pin_compat", tests, NULL, NULL);
}
