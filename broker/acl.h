/* SPDX-License-Identifier: GPL-2.0 */
/* acl_file: Mosquitto's access control lists, loaded and checked (acl.c). */
#ifndef MQBROKER_ACL_H
#define MQBROKER_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACL_READ	(1 << 0)	/* receive messages on a topic */
#define ACL_WRITE	(1 << 1)	/* publish on a topic */

struct acl_table;

/*
 * Read an acl_file; 0 with *out set, or -errno with err[CONF_ERR_LEN]
 * holding "FILE:LINE: reason" ("FILE: reason" when it cannot be read).
 */
int acl_load(const char *path, struct acl_table **out, char *err);
/* The same from text in memory; name stands for the file in messages. */
int acl_load_string(const char *name, const char *text, size_t len, struct acl_table **out,
		    char *err);
void acl_free(struct acl_table *t);
/* Rules in the table, for the log. */
uint32_t acl_count(const struct acl_table *t);
/*
 * May the client with this id and user name (NULL: anonymous) have
 * access (ACL_READ or ACL_WRITE) to topic? id and user NUL-terminated.
 */
bool acl_allowed(const struct acl_table *t, const char *id, const char *user, const char *topic,
		 size_t tlen, unsigned int access);

#endif
