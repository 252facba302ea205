// SPDX-License-Identifier: GPL-2.0
/*
 * memory_limit, with Mosquitto's meaning: allocations that would take the
 * broker past the limit are refused, and the caller drops what it was
 * doing (a message, a subscription, a connection). Charges are what
 * malloc_usable_size() reports, on allocation and on free alike, so the
 * count cannot drift whatever malloc rounds sizes up to. Without a limit
 * nothing is counted: the two malloc_usable_size() calls per message are
 * the limit's whole cost, and only a configured limit pays it.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

static bool over(struct mem_budget *m, size_t add, size_t sub)
{
	if (add <= sub || m->used - sub + add <= m->limit)
		return false;
	m->refused++;
	errno = ENOMEM;
	return true;
}

void *mem_alloc_counted(struct mem_budget *m, size_t n)
{
	void *p;

	if (over(m, n, 0))
		return NULL;
	p = malloc(n);
	if (p)
		m->used += malloc_usable_size(p);
	return p;
}

void *mem_zalloc_counted(struct mem_budget *m, size_t n)
{
	void *p = mem_alloc_counted(m, n);

	if (p)
		memset(p, 0, n);
	return p;
}

void *mem_realloc_counted(struct mem_budget *m, void *p, size_t n)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *q;

	if (over(m, n, old))
		return NULL;
	q = realloc(p, n);
	if (q)
		m->used = m->used - old + malloc_usable_size(q);
	return q;
}

void mem_free_counted(struct mem_budget *m, void *p)
{
	if (p)
		m->used -= malloc_usable_size(p);
	free(p);
}
