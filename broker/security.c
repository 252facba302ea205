// SPDX-License-Identifier: GPL-2.0
/*
 * The sets of security options in force and the files they name: the
 * global set, or with per_listener_settings one per listener block. Each
 * listening socket points at the set its clients are under.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "broker.h"
#include "log.h"

/* The set a listener block's clients are under; idx BROKER_MAX_LISTENERS: the default one. */
struct security *security_of_listener(struct broker *b, int idx)
{
	const struct listener_conf *lc = idx == BROKER_MAX_LISTENERS ? &b->conf.def
								      : &b->conf.listeners[idx];
	struct security *s = &b->lsec[idx];

	if (!b->conf.per_listener_settings)
		return &b->sec;
	s->conf = &lc->sec;
	return s;
}

static int load_one(struct security *s, char *err)
{
	const char *pw = s->conf ? s->conf->password_file : NULL;
	int e;

	if (!pw || s->auth)
		return 0;
	e = auth_load(pw, &s->auth, err);
	if (!e)
		pr_info("password_file %s: %u users\n", pw, auth_count(s->auth));
	return e;
}

int security_load(struct broker *b, char *err)
{
	int i, e;

	b->sec.conf = &b->conf.sec;
	e = load_one(&b->sec, err);
	if (e || !b->conf.per_listener_settings)
		return e;
	for (i = 0; i < b->conf.nlisteners && !e; i++)
		e = load_one(security_of_listener(b, i), err);
	if (!e && b->conf.has_def)
		e = load_one(security_of_listener(b, BROKER_MAX_LISTENERS), err);
	return e;
}

void security_free(struct broker *b)
{
	int i;

	auth_free(b->sec.auth);
	b->sec.auth = NULL;
	for (i = 0; i <= BROKER_MAX_LISTENERS; i++) {
		auth_free(b->lsec[i].auth);
		b->lsec[i].auth = NULL;
	}
}
