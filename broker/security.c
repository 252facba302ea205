// SPDX-License-Identifier: GPL-2.0
/*
 * The sets of security options in force and the files they name: the
 * global set, or with per_listener_settings one per listener block. Each
 * listening socket points at the set its clients are under.
 *
 * SIGHUP reads every password_file and acl_file again. Each file is read
 * whole into a new table first: one that cannot be read or has an error
 * leaves the table in force as it was, and the log says why. Connected
 * clients stay connected; their sessions point at the set, not at a
 * table, so the new ACLs apply to them from the next message on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

#include "acl.h"
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
	const char *acl = s->conf ? s->conf->acl_file : NULL;
	int e;

	if (pw && !s->auth) {
		e = auth_load(pw, &s->auth, err);
		if (e)
			return e;
		pr_info("password_file %s: %u users, %u lines skipped\n", pw, auth_count(s->auth),
			auth_skipped(s->auth));
	}
	if (acl && !s->acl) {
		e = acl_load(acl, &s->acl, err);
		if (e)
			return e;
		pr_info("acl_file %s: %u rules\n", acl, acl_count(s->acl));
	}
	return 0;
}

static void update_acl_on(struct broker *b)
{
	int i;

	b->acl_on = b->sec.acl;
	for (i = 0; i <= BROKER_MAX_LISTENERS; i++)
		b->acl_on |= b->lsec[i].acl != NULL;
}

int security_load(struct broker *b, char *err)
{
	int i, e;

	b->sec.conf = &b->conf.sec;
	e = load_one(&b->sec, err);
	if (!e && b->conf.per_listener_settings) {
		for (i = 0; i < b->conf.nlisteners && !e; i++)
			e = load_one(security_of_listener(b, i), err);
		if (!e && b->conf.has_def)
			e = load_one(security_of_listener(b, BROKER_MAX_LISTENERS), err);
	}
	update_acl_on(b);
	return e;
}

/* Swap in a fresh table for one file, or keep the old one and say why. */
static void reload_one(struct security *s)
{
	const char *pw = s->conf ? s->conf->password_file : NULL;
	const char *acl = s->conf ? s->conf->acl_file : NULL;
	char err[CONF_ERR_LEN];
	struct auth_table *at;
	struct acl_table *lt;

	if (pw && auth_load(pw, &at, err)) {
		pr_warn("reload: %s; keeping the password_file loaded before\n", err);
	} else if (pw) {
		auth_free(s->auth);
		s->auth = at;
		pr_info("reload: password_file %s: %u users, %u lines skipped\n", pw,
			auth_count(at), auth_skipped(at));
	}
	if (acl && acl_load(acl, &lt, err)) {
		pr_warn("reload: %s; keeping the acl_file loaded before\n", err);
	} else if (acl) {
		acl_free(s->acl);
		s->acl = lt;
		pr_info("reload: acl_file %s: %u rules\n", acl, acl_count(lt));
	}
}

void security_reload(struct broker *b)
{
	int i;

	reload_one(&b->sec);
	if (b->conf.per_listener_settings) {
		for (i = 0; i < b->conf.nlisteners; i++)
			reload_one(security_of_listener(b, i));
		if (b->conf.has_def)
			reload_one(security_of_listener(b, BROKER_MAX_LISTENERS));
	}
	update_acl_on(b);
}

bool security_allows(const struct security *sec, const char *id, const char *user,
		     const char *topic, size_t len, unsigned int access)
{
	if (!sec || !sec->acl)
		return true;
	return acl_allowed(sec->acl, id, user, topic, len, access);
}

void security_free(struct broker *b)
{
	int i;

	auth_free(b->sec.auth);
	acl_free(b->sec.acl);
	b->sec.auth = NULL;
	b->sec.acl = NULL;
	for (i = 0; i <= BROKER_MAX_LISTENERS; i++) {
		auth_free(b->lsec[i].auth);
		acl_free(b->lsec[i].acl);
		b->lsec[i].auth = NULL;
		b->lsec[i].acl = NULL;
	}
	b->acl_on = false;
}
