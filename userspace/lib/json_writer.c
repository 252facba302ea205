// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"

#define JSONW_MAX_DEPTH 64

struct json_writer {
	FILE *f;
	bool pretty;
	bool after_name; /* a name was written: the value follows without a comma */
	unsigned int depth;
	/* Per level: has an element been written (needs a comma), and is it an object. */
	bool nonempty[JSONW_MAX_DEPTH];
	bool is_object[JSONW_MAX_DEPTH];
};

json_writer_t *jsonw_new(FILE *f)
{
	json_writer_t *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->f = f;
	return w;
}

void jsonw_pretty(json_writer_t *w, bool on)
{
	w->pretty = on;
}

void jsonw_flush(json_writer_t *w)
{
	fflush(w->f);
}

static void indent(json_writer_t *w)
{
	unsigned int i;

	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (i = 0; i < w->depth; i++)
		fputs("    ", w->f);
}

/* Everything that starts a value or a name: comma and indentation. */
static void begin_element(json_writer_t *w)
{
	if (w->after_name) {
		w->after_name = false;
		return;
	}
	/* Past the tracked depth the comma state is lost: such output is the caller's bug. */
	if (w->depth > 0 && w->depth <= JSONW_MAX_DEPTH) {
		if (w->nonempty[w->depth - 1])
			fputc(',', w->f);
		w->nonempty[w->depth - 1] = true;
		indent(w);
	}
}

static void put_escaped(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void start_container(json_writer_t *w, char c, bool obj)
{
	begin_element(w);
	fputc(c, w->f);
	/* Deeper than we track: keep writing, commas of that level are best effort. */
	if (w->depth < JSONW_MAX_DEPTH) {
		w->nonempty[w->depth] = false;
		w->is_object[w->depth] = obj;
	}
	w->depth++;
}

static void end_container(json_writer_t *w, char c)
{
	bool had;

	if (!w->depth)
		return;
	w->depth--;
	had = w->depth < JSONW_MAX_DEPTH && w->nonempty[w->depth];
	if (had)
		indent(w);
	fputc(c, w->f);
}

void jsonw_start_object(json_writer_t *w)
{
	start_container(w, '{', true);
}

void jsonw_end_object(json_writer_t *w)
{
	end_container(w, '}');
}

void jsonw_start_array(json_writer_t *w)
{
	start_container(w, '[', false);
}

void jsonw_end_array(json_writer_t *w)
{
	end_container(w, ']');
}

void jsonw_destroy(json_writer_t **wp)
{
	json_writer_t *w = *wp;

	if (!w)
		return;
	while (w->depth) {
		bool obj = w->depth <= JSONW_MAX_DEPTH && w->is_object[w->depth - 1];

		end_container(w, obj ? '}' : ']');
	}
	fputc('\n', w->f);
	fflush(w->f);
	free(w);
	*wp = NULL;
}

void jsonw_name(json_writer_t *w, const char *name)
{
	begin_element(w);
	put_escaped(w->f, name ? name : "");
	fputc(':', w->f);
	if (w->pretty)
		fputc(' ', w->f);
	w->after_name = true;
}

void jsonw_string(json_writer_t *w, const char *val)
{
	if (!val) {
		jsonw_null(w);
		return;
	}
	begin_element(w);
	put_escaped(w->f, val);
}

void jsonw_uint(json_writer_t *w, uint64_t val)
{
	begin_element(w);
	fprintf(w->f, "%" PRIu64, val);
}

void jsonw_int(json_writer_t *w, int64_t val)
{
	begin_element(w);
	fprintf(w->f, "%" PRId64, val);
}

void jsonw_float(json_writer_t *w, double val)
{
	begin_element(w);
	/* JSON has no NaN or infinity. */
	if (isfinite(val))
		fprintf(w->f, "%.6g", val);
	else
		fputs("null", w->f);
}

void jsonw_bool(json_writer_t *w, bool val)
{
	begin_element(w);
	fputs(val ? "true" : "false", w->f);
}

void jsonw_null(json_writer_t *w)
{
	begin_element(w);
	fputs("null", w->f);
}

/* Raw value text: the caller guarantees it is valid JSON. */
void jsonw_printf(json_writer_t *w, const char *fmt, ...)
{
	va_list ap;

	begin_element(w);
	va_start(ap, fmt);
	vfprintf(w->f, fmt, ap);
	va_end(ap);
}

void jsonw_string_field(json_writer_t *w, const char *name, const char *val)
{
	jsonw_name(w, name);
	jsonw_string(w, val);
}

void jsonw_uint_field(json_writer_t *w, const char *name, uint64_t val)
{
	jsonw_name(w, name);
	jsonw_uint(w, val);
}

void jsonw_int_field(json_writer_t *w, const char *name, int64_t val)
{
	jsonw_name(w, name);
	jsonw_int(w, val);
}

void jsonw_float_field(json_writer_t *w, const char *name, double val)
{
	jsonw_name(w, name);
	jsonw_float(w, val);
}

void jsonw_bool_field(json_writer_t *w, const char *name, bool val)
{
	jsonw_name(w, name);
	jsonw_bool(w, val);
}

void jsonw_null_field(json_writer_t *w, const char *name)
{
	jsonw_name(w, name);
	jsonw_null(w);
}
