// SPDX-License-Identifier: GPL-2.0
/* The files include_dir reads: NAME.conf, ordered as Mosquitto orders them. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

/*
 * At the first character where two names differ, the one whose letter
 * comes first without regard to case goes first; the same letter in two
 * cases is ordered by its code. So "a.conf" < "B.conf" < "b.conf".
 */
static int name_cmp(const void *pa, const void *pb)
{
	const char *a = *(char *const *)pa, *b = *(char *const *)pb;

	for (; *a && *a == *b; a++, b++)
		;
	if (toupper((unsigned char)*a) != toupper((unsigned char)*b))
		return toupper((unsigned char)*a) - toupper((unsigned char)*b);
	return (unsigned char)*a - (unsigned char)*b;
}

static bool is_conf(const char *name)
{
	size_t n = strlen(name);

	/* ".conf" alone is no NAME.conf (Mosquitto wants more than 5 characters). */
	return n > 5 && !strcmp(name + n - 5, ".conf");
}

int conf_dir_files(const char *dir, char ***files)
{
	char **v = NULL, **nv;
	struct dirent *de;
	int n = 0, err = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!is_conf(de->d_name))
			continue;
		nv = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (!nv || asprintf(&nv[n], "%s/%s", dir, de->d_name) < 0) {
			v = nv ? nv : v;
			err = -ENOMEM;
			break;
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (err) {
		while (n--)
			free(v[n]);
		free(v);
		return err;
	}
	if (n)
		qsort(v, (size_t)n, sizeof(*v), name_cmp);
	*files = v;
	return n;
}
