// SPDX-License-Identifier: GPL-2.0
/*
 * acl_file, in Mosquitto's format and with its meaning:
 *
 *   # comment
 *   topic [read|write|readwrite|deny] FILTER     before any 'user': anonymous clients
 *   user NAME
 *   topic [read|write|readwrite|deny] FILTER     that user's
 *   pattern [read|write|readwrite|deny] FILTER   everyone's, %c: client id, %u: user name
 *
 * FILTER is the rest of the line (it may hold spaces), a topic filter;
 * without an access word a line grants readwrite ('topic read' is the
 * filter "read"). Repeated 'user' lines add to the same user.
 *
 * A check looks at the client's own list (its user's, or the anonymous
 * one), then at the patterns: within each, a matching 'deny' refuses at
 * once, and a matching rule with the access asked for allows; nothing
 * matching refuses. When patterns exist, a client id or user name with
 * '+' or '#' is refused outright, since it would turn a pattern into a
 * wildcard over other clients' topics. The rules are Mosquitto 2.0's
 * (security_default.c), so an acl_file moves across unchanged.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "broker.h"
#include "conf.h"

struct acl_rule {
	char *filter;
	uint16_t len;
	uint8_t access;		/* ACL_READ | ACL_WRITE; 0: deny */
	bool subst;		/* a pattern with %c or %u */
	bool needs_user;	/* a pattern with %u: skipped for anonymous clients */
};

struct acl_list {
	char *user;		/* NULL: anonymous clients */
	struct acl_rule *rules;	/* denials first, then the rest, each in file order */
	uint32_t n, ndeny;
};

struct acl_table {
	struct acl_list *lists;	/* the anonymous one (if any) first, then by user name */
	uint32_t nlists;
	struct acl_list patterns;
};

static void list_free(struct acl_list *l)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		free(l->rules[i].filter);
	free(l->rules);
	free(l->user);
}

void acl_free(struct acl_table *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 0; i < t->nlists; i++)
		list_free(&t->lists[i]);
	free(t->lists);
	list_free(&t->patterns);
	free(t);
}

/* Denials go before the other rules, as Mosquitto puts them at the front. */
static int list_add(struct acl_list *l, const char *filter, uint8_t access, bool pattern)
{
	struct acl_rule *v = realloc(l->rules, (l->n + 1) * sizeof(*v)), r = { 0 };
	uint32_t at = access ? l->n : l->ndeny;

	if (!v)
		return -ENOMEM;
	l->rules = v;
	r.filter = strdup(filter);
	if (!r.filter)
		return -ENOMEM;
	r.len = (uint16_t)strlen(filter);
	r.access = access;
	r.needs_user = pattern && strstr(filter, "%u");
	r.subst = pattern && (r.needs_user || strstr(filter, "%c"));
	memmove(&v[at + 1], &v[at], (l->n - at) * sizeof(*v));
	v[at] = r;
	l->n++;
	if (!access)
		l->ndeny++;
	return 0;
}

static struct acl_list *user_list(struct acl_table *t, const char *user)
{
	struct acl_list *v;
	uint32_t i;

	for (i = 0; i < t->nlists; i++) {
		const char *u = t->lists[i].user;

		if (u == user || (u && user && !strcmp(u, user)))
			return &t->lists[i];
	}
	v = realloc(t->lists, (t->nlists + 1) * sizeof(*v));
	if (!v)
		return NULL;
	t->lists = v;
	memset(&v[t->nlists], 0, sizeof(*v));
	if (user && !(v[t->nlists].user = strdup(user)))
		return NULL;
	return &v[t->nlists++];
}

static int list_cmp(const void *a, const void *b)
{
	const struct acl_list *x = a, *y = b;

	if (!x->user || !y->user)
		return !x->user ? (y->user ? -1 : 0) : 1;
	return strcmp(x->user, y->user);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One line; reason in err (without FILE:LINE), -errno. cur_user is the last 'user' line's. */
static int parse_line(struct acl_table *t, char *line, char **cur_user, char *err)
{
	char *kw, *rest, *access_s = NULL, *filter;
	uint8_t access = ACL_READ | ACL_WRITE;
	bool pattern;
	struct acl_list *l;

	kw = line;
	rest = kw + strcspn(kw, " \t");
	if (*rest)
		*rest++ = '\0';
	rest = trim(rest);
	if (!strcmp(kw, "user")) {
		if (!*rest) {
			conf_reason(err, "missing user name");
			return -EINVAL;
		}
		free(*cur_user);
		*cur_user = strdup(rest);
		return *cur_user ? 0 : -ENOMEM;
	}
	if (strcmp(kw, "topic") && strcmp(kw, "pattern")) {
		conf_reason(err, "invalid line (topic, pattern or user expected)");
		return -EINVAL;
	}
	pattern = !strcmp(kw, "pattern");
	if (!*rest) {
		conf_reason(err, "empty topic");
		return -EINVAL;
	}
	filter = rest + strcspn(rest, " \t");
	if (*filter) {
		*filter++ = '\0';
		access_s = rest;
		filter = trim(filter);
	} else {
		filter = rest; /* one word: the filter, read and write */
	}
	if (access_s) {
		if (!strcmp(access_s, "read"))
			access = ACL_READ;
		else if (!strcmp(access_s, "write"))
			access = ACL_WRITE;
		else if (!strcmp(access_s, "readwrite"))
			access = ACL_READ | ACL_WRITE;
		else if (!strcmp(access_s, "deny"))
			access = 0;
		else {
			conf_reason(err, "invalid topic access type '%s' (read, write, readwrite, deny)",
				    access_s);
			return -EINVAL;
		}
	}
	if (!topic_filter_valid(filter, strlen(filter))) {
		conf_reason(err, "invalid ACL topic '%s'", filter);
		return -EINVAL;
	}
	l = pattern ? &t->patterns : user_list(t, *cur_user);
	if (!l)
		return -ENOMEM;
	return list_add(l, filter, access, pattern);
}

int acl_load_string(const char *name, const char *text, size_t len, struct acl_table **out,
		    char *err)
{
	struct acl_table *t = calloc(1, sizeof(*t));
	char *copy = malloc(len + 1), *line, *next, *cur_user = NULL;
	char reason[CONF_ERR_LEN];
	int lineno = 0, e = 0;

	if (!t || !copy) {
		free(t);
		free(copy);
		snprintf(err, CONF_ERR_LEN, "%s: out of memory", name);
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (memchr(text, '\0', len)) {
		snprintf(err, CONF_ERR_LEN, "%s: contains a NUL byte", name);
		e = -EINVAL;
	}
	for (line = copy; line && !e; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		reason[0] = '\0';
		e = parse_line(t, line, &cur_user, reason);
		if (e)
			snprintf(err, CONF_ERR_LEN, "%s:%d: %s", name, lineno,
				 reason[0] ? reason : strerror(-e));
	}
	free(cur_user);
	free(copy);
	if (e) {
		acl_free(t);
		return e;
	}
	if (t->nlists)
		qsort(t->lists, t->nlists, sizeof(*t->lists), list_cmp);
	*out = t;
	return 0;
}

int acl_load(const char *path, struct acl_table **out, char *err)
{
	char *text = NULL;
	size_t len = 0;
	int e = conf_read_file(path, &text, &len);

	if (e) {
		snprintf(err, CONF_ERR_LEN, "%s: %s", path, strerror(-e));
		return e;
	}
	e = acl_load_string(path, text, len, out, err);
	free(text);
	return e;
}

uint32_t acl_count(const struct acl_table *t)
{
	uint32_t i, n = t->patterns.n;

	for (i = 0; i < t->nlists; i++)
		n += t->lists[i].n;
	return n;
}

static const struct acl_list *find_list(const struct acl_table *t, const char *user)
{
	struct acl_list key = { .user = (char *)user };

	if (!t->nlists)
		return NULL;
	if (!user)
		return t->lists[0].user ? NULL : &t->lists[0];
	return bsearch(&key, t->lists, t->nlists, sizeof(*t->lists), list_cmp);
}

/* -1 no rule decided, 0 refused, 1 allowed. */
static int decide(const struct acl_rule *r, uint32_t n, const char *topic, size_t tlen,
		  unsigned int access)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (!topic_matches(r[i].filter, r[i].len, topic, tlen))
			continue;
		if (!r[i].access)
			return 0;
		if (r[i].access & access)
			return 1;
	}
	return -1;
}

/* A pattern with %c and %u replaced; NULL when out of memory. */
static char *substitute(const struct acl_rule *r, const char *id, const char *user, char *buf,
			size_t cap, size_t *len)
{
	size_t idl = strlen(id), ul = user ? strlen(user) : 0, n = 0, i;
	char *out = buf;

	/* Longest possible: every two characters of the pattern becoming the longer name. */
	if ((r->len / 2 + 1) * (idl > ul ? idl : ul) + r->len + 1 > cap) {
		cap = (r->len / 2 + 1) * (idl > ul ? idl : ul) + r->len + 1;
		out = malloc(cap);
		if (!out)
			return NULL;
	}
	for (i = 0; i < r->len; i++) {
		if (r->filter[i] == '%' && i + 1 < r->len && r->filter[i + 1] == 'c') {
			memcpy(out + n, id, idl);
			n += idl;
			i++;
		} else if (r->filter[i] == '%' && i + 1 < r->len && r->filter[i + 1] == 'u' && user) {
			memcpy(out + n, user, ul);
			n += ul;
			i++;
		} else {
			out[n++] = r->filter[i];
		}
	}
	out[n] = '\0';
	*len = n;
	return out;
}

static int decide_patterns(const struct acl_list *p, const char *id, const char *user,
			   const char *topic, size_t tlen, unsigned int access)
{
	char buf[512];
	uint32_t i;

	for (i = 0; i < p->n; i++) {
		const struct acl_rule *r = &p->rules[i];
		size_t flen = r->len;
		const char *f = r->filter;
		char *owned = NULL;
		bool match;

		if (r->needs_user && !user)
			continue;
		if (r->subst) {
			owned = substitute(r, id, user, buf, sizeof(buf), &flen);
			if (!owned)
				return 0; /* refuse rather than guess */
			f = owned;
		}
		match = topic_matches(f, flen, topic, tlen);
		if (owned != buf)
			free(owned);
		if (!match)
			continue;
		if (!r->access)
			return 0;
		if (r->access & access)
			return 1;
	}
	return -1;
}

bool acl_allowed(const struct acl_table *t, const char *id, const char *user, const char *topic,
		 size_t tlen, unsigned int access)
{
	const struct acl_list *l = find_list(t, user);
	int d = -1;

	if (l)
		d = decide(l->rules, l->n, topic, tlen, access);
	if (d >= 0)
		return d;
	if (!t->patterns.n)
		return false;
	if (strpbrk(id, "+#") || (user && strpbrk(user, "+#")))
		return false;
	return decide_patterns(&t->patterns, id, user, topic, tlen, access) == 1;
}
