/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table-driven config parser shared by mqlbd.conf and mqbroker.conf
 * (docs/design.md, code conventions): one directive a line, a keyword table maps each
 * keyword to a parse callback and an offset into the caller's struct.
 */
#ifndef MQLB_CONF_H
#define MQLB_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_ARGS 32
#define CONF_ERR_LEN  512

struct conf_line {
	const char *file;
	int lineno;
	int argc; /* argv[0] is the keyword */
	char *argv[CONF_MAX_ARGS];
};

struct conf_kw;
/*
 * A keyword callback returns 0, or -errno after writing a reason (without
 * file:line, the driver adds it) into err[CONF_ERR_LEN].
 */
typedef int (*conf_kw_fn)(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			  char *err);

struct conf_kw {
	const char *name;  /* a name ending in '*' matches every keyword with that prefix */
	conf_kw_fn parse;
	size_t off;    /* offset of the field for the generic callbacks */
	int min_args;  /* arguments after the keyword */
	int max_args;
	uint64_t min;  /* range for conf_kw_u32 / conf_kw_duration_ms */
	uint64_t max;
};

enum conf_flags {
	/* '#' starts a comment anywhere (mqlbd); otherwise only at the start
	 * of a line, as Mosquitto does ("topic # out 0" must survive). */
	CONF_INLINE_COMMENTS = 1 << 0,
};

/* Split one line in place into ln->argv. Returns argc (0 for blank/comment) or -E2BIG. */
int conf_split(char *line, struct conf_line *ln, unsigned int flags);
/* Find the keyword, check the argument count, call its parser. */
int conf_dispatch(const struct conf_kw *kws, void *obj, const struct conf_line *ln, char *err);
/*
 * Parse a whole file. On failure returns -errno and err holds
 * "FILE:LINE: reason" (or "FILE: reason" when the file cannot be read).
 */
int conf_parse_file(const char *path, const struct conf_kw *kws, void *obj, unsigned int flags,
		    char *err);
int conf_parse_string(const char *name, const char *text, const struct conf_kw *kws, void *obj,
		      unsigned int flags, char *err);

/* A whole file into *text (NUL-terminated, *len bytes before it, freed by the caller); 0 or -errno. */
int conf_read_file(const char *path, char **text, size_t *len);

/* Value parsers: 0 or -EINVAL/-ERANGE; nothing is written on failure. */
int conf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int conf_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int conf_parse_bool(const char *s, bool *out);
/* "250ms", "1s", "10m", "2h"; a bare number is seconds. */
int conf_parse_duration_ms(const char *s, uint64_t *ms);

/* Generic callbacks, using kw->off (and kw->min/max where they apply). */
int conf_kw_u32(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err);
int conf_kw_bool(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err);
int conf_kw_str(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err);
int conf_kw_duration_ms(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			char *err);

void conf_reason(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
