/* SPDX-License-Identifier: GPL-2.0 */
/*
 * password_file: the users and password hashes of a Mosquitto 2.0 password
 * file (as mosquitto_passwd writes it), and the check of a CONNECT's user
 * name and password against them.
 */
#ifndef MQBROKER_AUTH_H
#define MQBROKER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_HASH_LEN		64	/* SHA-512 output, both hash types */
#define AUTH_SALT_MAX		64	/* mosquitto_passwd writes 12 bytes */
#define AUTH_MAX_ITERATIONS	1000000	/* PBKDF2 runs on the event loop, per CONNECT */
#define AUTH_MAX_USER_LEN	65535	/* an MQTT string [MQTT-1.5.3] */

struct auth_table;

/*
 * Read a password file: one 'user:hash' a line, '#' comments and blank
 * lines ignored, hash '$7$ITERATIONS$SALT$HASH' (PBKDF2-HMAC-SHA512) or
 * '$6$SALT$HASH' (SHA-512 of password then salt), SALT and HASH in
 * standard base64. Any other line, plain-text passwords included, and a
 * user listed again, is skipped with a warning "FILE:LINE: reason: line
 * skipped" in the log, as Mosquitto skips them. 0 with *out set, or -errno
 * with err[CONF_ERR_LEN] holding "FILE: reason" when the file cannot be
 * read.
 */
int auth_load(const char *path, struct auth_table **out, char *err);
/* The same from text in memory; name stands for the file in messages. */
int auth_load_string(const char *name, const char *text, size_t len, struct auth_table **out,
		     char *err);
void auth_free(struct auth_table *t);
uint32_t auth_count(const struct auth_table *t);
/* Lines skipped with a warning. */
uint32_t auth_skipped(const struct auth_table *t);

/*
 * 0 when user is in the table and pw (pwlen bytes; NULL: the CONNECT had
 * no password) matches its hash; -ENOENT for an unknown user, -EACCES for
 * a wrong or missing password, -EIO when libcrypto fails. An unknown user
 * costs a hash too, so timing does not tell which user names exist.
 */
int auth_check(const struct auth_table *t, const char *user, size_t ulen, const void *pw,
	       size_t pwlen);

#endif
