// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

void conf_reason(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CONF_ERR_LEN, fmt, ap);
	va_end(ap);
}

int conf_split(char *line, struct conf_line *ln, unsigned int flags)
{
	char *p = line;

	ln->argc = 0;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (*p == '#' && (ln->argc == 0 || (flags & CONF_INLINE_COMMENTS)))
			break;
		if (ln->argc == CONF_MAX_ARGS)
			return -E2BIG;
		ln->argv[ln->argc++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
	return ln->argc;
}

/* "name", or a prefix: "plugin_opt_*" (and "*", which matches every keyword). */
static bool conf_kw_matches(const char *name, const char *word)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '*')
		return !strncmp(name, word, n - 1);
	return !strcmp(name, word);
}

int conf_dispatch(const struct conf_kw *kws, void *obj, const struct conf_line *ln, char *err)
{
	const struct conf_kw *kw;
	int nargs = ln->argc - 1;

	for (kw = kws; kw->name; kw++) {
		if (!conf_kw_matches(kw->name, ln->argv[0]))
			continue;
		if (nargs < kw->min_args || nargs > kw->max_args) {
			if (kw->min_args == kw->max_args)
				conf_reason(err, "'%s' takes %d argument%s, got %d", kw->name,
					    kw->min_args, kw->min_args == 1 ? "" : "s", nargs);
			else
				conf_reason(err, "'%s' takes %d to %d arguments, got %d", kw->name,
					    kw->min_args, kw->max_args, nargs);
			return -EINVAL;
		}
		return kw->parse(obj, kw, ln, err);
	}
	conf_reason(err, "unknown directive '%s'", ln->argv[0]);
	return -EINVAL;
}

static int parse_lines(const char *name, char *text, const struct conf_kw *kws, void *obj,
		       unsigned int flags, char *err)
{
	struct conf_line ln = { .file = name };
	char reason[CONF_ERR_LEN];
	char *save = NULL, *line;
	int lineno = 0, err_code;

	/* strtok_r would merge empty lines and break line numbers: walk by hand. */
	for (line = text; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		ln.lineno = lineno;
		err_code = conf_split(line, &ln, flags);
		if (err_code == -E2BIG) {
			snprintf(err, CONF_ERR_LEN, "%s:%d: too many arguments (at most %d)", name,
				 lineno, CONF_MAX_ARGS - 1);
			return -E2BIG;
		}
		if (err_code == 0)
			continue;
		reason[0] = '\0';
		err_code = conf_dispatch(kws, obj, &ln, reason);
		if (err_code) {
			snprintf(err, CONF_ERR_LEN, "%s:%d: %s", name, lineno,
				 reason[0] ? reason : "invalid directive");
			return err_code;
		}
	}
	return 0;
}

int conf_parse_string(const char *name, const char *text, const struct conf_kw *kws, void *obj,
		      unsigned int flags, char *err)
{
	char *copy = strdup(text);
	int ret;

	if (!copy) {
		snprintf(err, CONF_ERR_LEN, "%s: out of memory", name);
		return -ENOMEM;
	}
	ret = parse_lines(name, copy, kws, obj, flags, err);
	free(copy);
	return ret;
}

int conf_parse_file(const char *path, const struct conf_kw *kws, void *obj, unsigned int flags,
		    char *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f, *mem;
	int c, ret;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, CONF_ERR_LEN, "%s: %s", path, strerror(-ret));
		return ret;
	}
	mem = open_memstream(&text, &len);
	if (!mem) {
		fclose(f);
		snprintf(err, CONF_ERR_LEN, "%s: out of memory", path);
		return -ENOMEM;
	}
	while ((c = fgetc(f)) != EOF) {
		if (c == '\0') {
			fclose(f);
			fclose(mem);
			free(text);
			snprintf(err, CONF_ERR_LEN, "%s: contains a NUL byte", path);
			return -EINVAL;
		}
		fputc(c, mem);
	}
	fclose(f);
	fclose(mem);
	ret = parse_lines(path, text, kws, obj, flags, err);
	free(text);
	return ret;
}

int conf_read_file(const char *path, char **text, size_t *len)
{
	size_t cap = 0, n;
	char *buf = NULL, *p;
	FILE *f = fopen(path, "r");
	int err;

	if (!f)
		return -errno;
	*len = 0;
	errno = 0;
	do {
		if (cap - *len < 4096) {
			cap = cap ? cap * 2 : 16384;
			p = realloc(buf, cap);
			if (!p) {
				err = -ENOMEM;
				goto out_err;
			}
			buf = p;
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
	} while (n);
	if (ferror(f)) {
		err = errno ? -errno : -EIO;
		goto out_err;
	}
	fclose(f);
	buf[*len] = '\0';
	*text = buf;
	return 0;

out_err:
	free(buf);
	fclose(f);
	return err;
}

int conf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int conf_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int err = conf_parse_u64(s, min, max, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

int conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int conf_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 } };
	unsigned long long v;
	char *end;
	size_t i;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > UINT32_MAX)
		return -ERANGE;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].suffix)) {
			*ms = v * units[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

int conf_kw_u32(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	uint32_t *field = (uint32_t *)((char *)obj + kw->off);
	uint64_t max = kw->max ? kw->max : UINT32_MAX;
	uint32_t v;

	if (conf_parse_u32(ln->argv[1], (uint32_t)kw->min, (uint32_t)max, &v)) {
		conf_reason(err, "'%s' needs an integer from %llu to %llu, got '%s'", kw->name,
			    (unsigned long long)kw->min, (unsigned long long)max, ln->argv[1]);
		return -EINVAL;
	}
	*field = v;
	return 0;
}

int conf_kw_bool(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	bool *field = (bool *)((char *)obj + kw->off);

	if (conf_parse_bool(ln->argv[1], field)) {
		conf_reason(err, "'%s' needs true or false, got '%s'", kw->name, ln->argv[1]);
		return -EINVAL;
	}
	return 0;
}

int conf_kw_str(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	char **field = (char **)((char *)obj + kw->off);
	char *copy = strdup(ln->argv[1]);

	if (!copy) {
		conf_reason(err, "out of memory");
		return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

int conf_kw_duration_ms(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			char *err)
{
	uint32_t *field = (uint32_t *)((char *)obj + kw->off);
	uint64_t max = kw->max ? kw->max : UINT32_MAX;
	uint64_t ms;

	if (conf_parse_duration_ms(ln->argv[1], &ms) || ms < kw->min || ms > max) {
		conf_reason(err, "'%s' needs a duration such as 500ms, 2s or 10m (%llums to %llums), got '%s'",
			    kw->name, (unsigned long long)kw->min, (unsigned long long)max,
			    ln->argv[1]);
		return -EINVAL;
	}
	*field = (uint32_t)ms;
	return 0;
}
