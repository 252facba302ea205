// SPDX-License-Identifier: GPL-2.0
/*
 * password_file (auth.h). The file is read whole and kept: each line
 * becomes one entry whose user name points into that text, and the
 * entries are sorted by name so that a CONNECT costs one binary search and
 * one hash. The hash formats are those of mosquitto_passwd (Mosquitto 2.0):
 *
 *   user:$7$ITERATIONS$SALT$HASH   PBKDF2-HMAC-SHA512(password, salt, iterations)
 *   user:$6$SALT$HASH              SHA-512(password || salt)
 *
 * SALT and HASH are standard base64 (RFC 4648 section 4); mosquitto_passwd
 * writes 101 iterations, a 12-byte salt and the 64-byte hash. Mosquitto
 * drops a line it cannot decode with a warning and starts anyway, leaving
 * that user unable to connect; mqbroker refuses to start instead, naming
 * FILE:LINE, so that a plain-text password or a damaged line is seen.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "conf.h"
#include "log.h"

struct auth_user {
	const char *name;		/* into auth_table.text, NUL-terminated */
	uint32_t name_len;
	uint32_t iterations;		/* $7$; 0 for $6$ */
	int lineno;
	uint8_t salt_len;
	uint8_t salt[AUTH_SALT_MAX];
	uint8_t hash[AUTH_HASH_LEN];
};

struct auth_table {
	char *text;			/* the file, cut into lines in place */
	struct auth_user *users;	/* sorted by name, then line */
	uint32_t n, cap;
	uint32_t skipped;		/* lines not taken, each with a warning */
};

void auth_free(struct auth_table *t)
{
	if (!t)
		return;
	if (t->users)
		OPENSSL_cleanse(t->users, t->cap * sizeof(*t->users));
	free(t->users);
	free(t->text);
	free(t);
}

uint32_t auth_count(const struct auth_table *t)
{
	return t ? t->n : 0;
}

static int b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Standard base64, '=' padding optional (mosquitto_passwd pads). Bytes
 * written, -EINVAL when s is not base64, -E2BIG past cap.
 */
static long b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t i, n = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	while (len && s[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if ((pad && (len + pad) % 4) || len % 4 == 1)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		v = b64_val((unsigned char)s[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -E2BIG;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)n;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Decode the part after 'user:' into u; 0, or -EINVAL with the reason in why. */
static int parse_hash(char *h, struct auth_user *u, char *why, size_t whylen)
{
	const char *form = "$6$SALT$HASH";
	char *salt, *hash, *end;
	uint32_t iter;
	long n;

	if (!strncmp(h, "$7$", 3)) {
		form = "$7$ITERATIONS$SALT$HASH";
		salt = strchr(h + 3, '$');
		if (!salt)
			goto malformed;
		*salt++ = '\0';
		if (conf_parse_u32(h + 3, 1, AUTH_MAX_ITERATIONS, &iter)) {
			snprintf(why, whylen, "iterations must be 1 to %d", AUTH_MAX_ITERATIONS);
			return -EINVAL;
		}
		u->iterations = iter;
	} else if (!strncmp(h, "$6$", 3)) {
		salt = h + 3;
	} else {
		snprintf(why, whylen, "not a $7$ or $6$ hash (plain-text passwords are not accepted: "
				      "hash them with mosquitto_passwd)");
		return -EINVAL;
	}
	hash = strchr(salt, '$');
	if (!hash || strchr(hash + 1, '$'))
		goto malformed;
	end = hash++;
	n = b64_decode(salt, (size_t)(end - salt), u->salt, AUTH_SALT_MAX);
	if (n == -EINVAL) {
		snprintf(why, whylen, "salt is not base64");
		return -EINVAL;
	}
	if (n <= 0) {
		snprintf(why, whylen, "salt must be 1 to %d bytes", AUTH_SALT_MAX);
		return -EINVAL;
	}
	u->salt_len = (uint8_t)n;
	n = b64_decode(hash, strlen(hash), u->hash, AUTH_HASH_LEN);
	if (n == -EINVAL) {
		snprintf(why, whylen, "hash is not base64");
		return -EINVAL;
	}
	if (n != AUTH_HASH_LEN) {
		snprintf(why, whylen, "hash must be %d bytes (SHA-512)", AUTH_HASH_LEN);
		return -EINVAL;
	}
	return 0;
malformed:
	snprintf(why, whylen, "expected %s", form);
	return -EINVAL;
}

/* One line; 0 (entry added, or nothing on the line) or -errno with reason. */
static int parse_line(struct auth_table *t, char *line, int lineno, char *reason)
{
	char why[160];
	struct auth_user *u;
	char *user, *hash, *colon;
	size_t ulen;

	user = trim(line);
	if (!*user || *user == '#')
		return 0;
	colon = strchr(user, ':');
	if (!colon) {
		conf_reason(reason, "no ':' between the user name and the password hash");
		return -EINVAL;
	}
	*colon = '\0';
	user = trim(user);
	hash = trim(colon + 1);
	ulen = strlen(user);
	if (!ulen) {
		conf_reason(reason, "empty user name");
		return -EINVAL;
	}
	if (ulen > AUTH_MAX_USER_LEN) {
		conf_reason(reason, "user name longer than %d bytes", AUTH_MAX_USER_LEN);
		return -EINVAL;
	}
	if (!*hash) {
		conf_reason(reason, "no password hash for user '%.64s'", user);
		return -EINVAL;
	}
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		struct auth_user *v = realloc(t->users, cap * sizeof(*v));

		if (!v) {
			conf_reason(reason, "out of memory");
			return -ENOMEM;
		}
		t->users = v;
		t->cap = cap;
	}
	u = &t->users[t->n];
	memset(u, 0, sizeof(*u));
	/* The hash field is never echoed: it could be a plain-text password. */
	if (parse_hash(hash, u, why, sizeof(why))) {
		conf_reason(reason, "bad password hash for user '%.64s': %s", user, why);
		return -EINVAL;
	}
	u->name = user;
	u->name_len = (uint32_t)ulen;
	u->lineno = lineno;
	t->n++;
	return 0;
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int user_cmp(const void *pa, const void *pb)
{
	const struct auth_user *a = pa, *b = pb;
	int r = name_cmp(a->name, a->name_len, b->name, b->name_len);

	return r ? r : (a->lineno > b->lineno) - (a->lineno < b->lineno);
}

/* Sort; a user listed again is skipped, the first line kept. */
static void sort_users(struct auth_table *t, const char *name)
{
	uint32_t i, j;

	if (t->n)
		qsort(t->users, t->n, sizeof(*t->users), user_cmp);
	for (i = j = 0; i < t->n; i++) {
		const struct auth_user *b = &t->users[i];

		if (j && !name_cmp(t->users[j - 1].name, t->users[j - 1].name_len, b->name,
				   b->name_len)) {
			pr_warn("%s:%d: duplicate user '%.64s' (first on line %d): line skipped\n",
				name, b->lineno, b->name, t->users[j - 1].lineno);
			t->skipped++;
			continue;
		}
		t->users[j++] = *b;
	}
	t->n = j;
}

/* Takes text (len bytes, room for one more) whatever happens. */
static int parse_text(const char *name, char *text, size_t len, struct auth_table **out,
		      char *err)
{
	struct auth_table *t = calloc(1, sizeof(*t));
	char reason[CONF_ERR_LEN];
	char *line, *next, *nl;
	int lineno, ret;

	if (!t) {
		free(text);
		snprintf(err, CONF_ERR_LEN, "%s: out of memory", name);
		return -ENOMEM;
	}
	t->text = text;
	text[len] = '\0';
	for (line = text, lineno = 1; line < text + len; line = next, lineno++) {
		nl = memchr(line, '\n', (size_t)(text + len - line));
		next = nl ? nl + 1 : text + len;
		if (nl)
			*nl = '\0';
		reason[0] = '\0';
		if (strlen(line) != (size_t)(next - line) - (nl ? 1 : 0)) {
			conf_reason(reason, "contains a NUL byte");
			ret = -EINVAL;
		} else {
			ret = parse_line(t, line, lineno, reason);
		}
		if (ret == -ENOMEM) {
			snprintf(err, CONF_ERR_LEN, "%s:%d: %s", name, lineno, reason);
			auth_free(t);
			return ret;
		}
		/*
		 * As Mosquitto: a line that is no valid entry is left out with a
		 * warning, and the others work (that user cannot log in).
		 */
		if (ret) {
			pr_warn("%s:%d: %s: line skipped\n", name, lineno, reason);
			t->skipped++;
		}
	}
	sort_users(t, name);
	*out = t;
	return 0;
}

uint32_t auth_skipped(const struct auth_table *t)
{
	return t->skipped;
}

int auth_load_string(const char *name, const char *text, size_t len, struct auth_table **out,
		     char *err)
{
	char *copy = malloc(len + 1);

	if (!copy) {
		snprintf(err, CONF_ERR_LEN, "%s: out of memory", name);
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	return parse_text(name, copy, len, out, err);
}

int auth_load(const char *path, struct auth_table **out, char *err)
{
	size_t len = 0, cap = 0, n;
	char *text = NULL, *p;
	FILE *f;
	int ret;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, CONF_ERR_LEN, "%s: %s", path, strerror(-ret));
		return ret;
	}
	errno = 0;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			p = realloc(text, cap);
			if (!p) {
				free(text);
				fclose(f);
				snprintf(err, CONF_ERR_LEN, "%s: out of memory", path);
				return -ENOMEM;
			}
			text = p;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		ret = errno ? -errno : -EIO;
		free(text);
		fclose(f);
		snprintf(err, CONF_ERR_LEN, "%s: %s", path, strerror(-ret));
		return ret;
	}
	fclose(f);
	return parse_text(path, text, len, out, err);
}

static const struct auth_user *find(const struct auth_table *t, const char *user, size_t ulen)
{
	uint32_t lo = 0, hi = t->n, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = name_cmp(user, ulen, t->users[mid].name, t->users[mid].name_len);
		if (!r)
			return &t->users[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int derive(const struct auth_user *u, const void *pw, size_t pwlen,
		  uint8_t out[AUTH_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	int ok;

	if (pwlen > INT_MAX)
		return -EINVAL;
	if (!pw)
		pw = "";
	if (u->iterations)
		return PKCS5_PBKDF2_HMAC(pw, (int)pwlen, u->salt, u->salt_len, (int)u->iterations,
					 EVP_sha512(), AUTH_HASH_LEN, out) == 1 ? 0 : -EIO;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) && EVP_DigestUpdate(ctx, pw, pwlen) &&
	     EVP_DigestUpdate(ctx, u->salt, u->salt_len) && EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

int auth_check(const struct auth_table *t, const char *user, size_t ulen, const void *pw,
	       size_t pwlen)
{
	static const struct auth_user dummy = { .iterations = 101, .salt_len = 12 };
	const struct auth_user *u = find(t, user, ulen);
	uint8_t out[AUTH_HASH_LEN];
	int err;

	if (!u) {
		/* Spend what a known user costs: timing must not tell who exists. */
		if (pw)
			(void)derive(t->n ? &t->users[0] : &dummy, pw, pwlen, out);
		OPENSSL_cleanse(out, sizeof(out));
		return -ENOENT;
	}
	if (!pw)
		return -EACCES;
	err = derive(u, pw, pwlen, out);
	if (err == -EINVAL)
		err = -EACCES;
	if (!err && CRYPTO_memcmp(out, u->hash, AUTH_HASH_LEN))
		err = -EACCES;
	OPENSSL_cleanse(out, sizeof(out));
	return err;
}
