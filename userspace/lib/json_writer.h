/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Streaming JSON writer with the API shape of iproute2's and bpftool's
 * json_writer (our own implementation). The writer tracks nesting so that
 * callers never place commas; names are only valid inside objects.
 * Strings are escaped per RFC 8259: quote, backslash, and every control
 * character; bytes >= 0x80 are passed through (callers feed UTF-8 or
 * sanitised ASCII).
 */
#ifndef MQLB_JSON_WRITER_H
#define MQLB_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct json_writer json_writer_t;

/* NULL with errno set when out of memory. */
json_writer_t *jsonw_new(FILE *f);
/* Closes open containers, ends the output with a newline, frees; *w = NULL. */
void jsonw_destroy(json_writer_t **w);
void jsonw_pretty(json_writer_t *w, bool on);
void jsonw_flush(json_writer_t *w);

void jsonw_start_object(json_writer_t *w);
void jsonw_end_object(json_writer_t *w);
void jsonw_start_array(json_writer_t *w);
void jsonw_end_array(json_writer_t *w);
void jsonw_name(json_writer_t *w, const char *name);

void jsonw_string(json_writer_t *w, const char *val);
void jsonw_uint(json_writer_t *w, uint64_t val);
void jsonw_int(json_writer_t *w, int64_t val);
void jsonw_float(json_writer_t *w, double val);
void jsonw_bool(json_writer_t *w, bool val);
void jsonw_null(json_writer_t *w);
void jsonw_printf(json_writer_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void jsonw_string_field(json_writer_t *w, const char *name, const char *val);
void jsonw_uint_field(json_writer_t *w, const char *name, uint64_t val);
void jsonw_int_field(json_writer_t *w, const char *name, int64_t val);
void jsonw_float_field(json_writer_t *w, const char *name, double val);
void jsonw_bool_field(json_writer_t *w, const char *name, bool val);
void jsonw_null_field(json_writer_t *w, const char *name);

#endif
