// SPDX-License-Identifier: GPL-2.0
/*
 * password_file (broker/auth.c): hashes written by Debian's mosquitto_passwd
 * 2.0.11 and by python3's hashlib, wrong passwords, unknown users, and
 * every line that is skipped, with its FILE:LINE warning.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "conf.h"
#include "log.h"

/* mosquitto_passwd -c -b FILE alice 'correct horse': $7$, 101 iterations, 12-byte salt. */
#define ALICE_7 "$7$101$l+PmKSXgzn1woAQH$nhKaTjjdzLhwdz+fwCQlK4abULOYoUX/TjkPPAxqIHSKUyl9378sbgQ9vKh8fYJgxf83GRVR3MoFyccIacguXQ=="
/*
 * mosquitto_passwd -H sha512 -b FILE bob hunter2: $6$; python3 gives the same
 * base64(hashlib.sha512(b'hunter2' + salt).digest()).
 */
#define BOB_6 "$6$btxOwhs+e8CktSQD$hju9UZTBkzAZOWSI3qMmdDau2qVWmz9n9timaAnwrHtFCeNuyMN4MQhvnXyccXMTYjwLe7LvxV4prmLW+TivZw=="
/* mosquitto_passwd -b FILE 'ünï cødé' 'pässwörd': a UTF-8 name with a space. */
#define UNI_7 "$7$101$Nn/rtSCyB4dqD+vt$qESvWdcfw0cvP//zgnZzhpZtQaaZJcW8cCrEHYLk9OwfgzoaUm5aIHjuCjdSDTsPuiEOD9RGrVdfvHCJH6rBhA=="
/* mosquitto_passwd -b FILE empty '': the empty password. */
#define EMPTY_7 "$7$101$tM2q49awF7ZUDlQh$BuA0oz1q3pApiYRQo4e/7cflEeFNJgjUjDqTbFYWrCEgx+L4aVNWf2kFxUTV8b3iXgyeI0Y7t/xit0wkZ3NDPw=="
/* hashlib.pbkdf2_hmac('sha512', b'many rounds', bytes(range(16)), 1000): other counts and salts. */
#define ROUNDS_7 "$7$1000$AAECAwQFBgcICQoLDA0ODw==$CGtfsTK15QG/8Hp+Ty3RQyTsafwC8q7AlFnx1XzeSvd5OiDh3Wa6OcsNavzqtJutJtV0X+AwUh6ajngV7XGVnw=="
/* sha512(b'pw' + b'\xff' * 5), base64 without its padding. */
#define NOPAD_6 "$6$//////8$I1cXDocjXmirC/UFQV88SjfgEYt3G9nwZK0512oY8IRaA0VH46iSvrxabCbqzPmazw8CRZd7qyK2n3Wfp/FLmQ"

/* The warnings a load logged (log.c's sink), the last one kept. */
static char warned[CONF_ERR_LEN * 2];
static int nwarned;

static void capture(void *arg, enum log_level level, const char *line, size_t len)
{
	size_t n = len && line[len - 1] == '\n' ? len - 1 : len;

	if (n >= sizeof(warned))
		n = sizeof(warned) - 1;
	memcpy(warned, line, n);
	warned[n] = '\0';
	nwarned++;
}

static void capture_start(void)
{
	warned[0] = '\0';
	nwarned = 0;
	log_set_timestamps(false);
	log_set_sink(capture, NULL);
}

static void capture_stop(void)
{
	log_set_sink(NULL, NULL);
}

static struct auth_table *load(const char *text)
{
	struct auth_table *t = NULL;
	char err[CONF_ERR_LEN] = "";

	if (auth_load_string("pw", text, strlen(text), &t, err))
		fail_msg("%s", err);
	return t;
}

static int check(struct auth_table *t, const char *user, const char *pw)
{
	return auth_check(t, user, strlen(user), pw, pw ? strlen(pw) : 0);
}

static void test_pbkdf2(void **state)
{
	struct auth_table *t = load("alice:" ALICE_7 "\nrounds:" ROUNDS_7 "\n");

	assert_int_equal(auth_count(t), 2);
	assert_int_equal(check(t, "alice", "correct horse"), 0);
	assert_int_equal(check(t, "alice", "correct horsE"), -EACCES);
	assert_int_equal(check(t, "alice", "correct hors"), -EACCES);
	assert_int_equal(check(t, "alice", "correct horse "), -EACCES);
	assert_int_equal(check(t, "alice", ""), -EACCES);
	assert_int_equal(check(t, "alice", NULL), -EACCES);
	/* Lengths count, not NUL terminators. */
	assert_int_equal(auth_check(t, "alice", 5, "correct horse!", 14), -EACCES);
	assert_int_equal(auth_check(t, "alice", 5, "correct horse", 12), -EACCES);
	assert_int_equal(auth_check(t, "alice!", 5, "correct horse", 13), 0);
	assert_int_equal(check(t, "Alice", "correct horse"), -ENOENT);
	assert_int_equal(check(t, "alic", "correct horse"), -ENOENT);
	assert_int_equal(check(t, "alicee", "correct horse"), -ENOENT);
	assert_int_equal(check(t, "rounds", "many rounds"), 0);
	assert_int_equal(check(t, "rounds", "correct horse"), -EACCES);
	/* Another user's password is not this user's. */
	assert_int_equal(check(t, "alice", "many rounds"), -EACCES);
	auth_free(t);
}

static void test_sha512(void **state)
{
	struct auth_table *t = load("bob:" BOB_6 "\nnopad:" NOPAD_6 "\n");

	assert_int_equal(check(t, "bob", "hunter2"), 0);
	assert_int_equal(check(t, "bob", "hunter3"), -EACCES);
	assert_int_equal(check(t, "bob", NULL), -EACCES);
	assert_int_equal(check(t, "nopad", "pw"), 0);
	assert_int_equal(check(t, "nopad", "pW"), -EACCES);
	auth_free(t);
}

/* A hash that is right but for one character refuses the right password. */
static void test_tampered_hash(void **state)
{
	char text[256], *p;
	struct auth_table *t;

	snprintf(text, sizeof(text), "alice:%s\n", ALICE_7);
	p = strrchr(text, '$') + 1;
	assert_int_equal(*p, 'n');
	*p = 'm'; /* the first 6 bits of the hash */
	t = load(text);
	assert_int_equal(check(t, "alice", "correct horse"), -EACCES);
	auth_free(t);
}

static void test_names_and_empty_password(void **state)
{
	struct auth_table *t = load("ünï cødé:" UNI_7 "\nempty:" EMPTY_7 "\n");

	assert_int_equal(check(t, "ünï cødé", "pässwörd"), 0);
	assert_int_equal(check(t, "ünï", "pässwörd"), -ENOENT);
	assert_int_equal(check(t, "empty", ""), 0);
	assert_int_equal(check(t, "empty", NULL), -EACCES);
	assert_int_equal(check(t, "empty", "x"), -EACCES);
	auth_free(t);
}

static void test_comments_blank_crlf(void **state)
{
	struct auth_table *t = load("# mosquitto_passwd output\r\n"
				    "\r\n"
				    "   \t \r\n"
				    "  # indented comment: alice:plain\r\n"
				    "alice:" ALICE_7 "\r\n"
				    "\r\n"
				    "  bob :  " BOB_6 "  \r\n"
				    "#last:line\r\n"
				    "ünï cødé:" UNI_7); /* no newline at the end */

	assert_int_equal(auth_count(t), 3);
	assert_int_equal(check(t, "alice", "correct horse"), 0);
	assert_int_equal(check(t, "bob", "hunter2"), 0);
	assert_int_equal(check(t, "ünï cødé", "pässwörd"), 0);
	assert_int_equal(check(t, "#last", "line"), -ENOENT);
	assert_int_equal(check(t, " bob", "hunter2"), -ENOENT);
	auth_free(t);
}

static void test_empty_file(void **state)
{
	struct auth_table *t = load("# nobody\n\n");

	assert_int_equal(auth_count(t), 0);
	assert_int_equal(check(t, "alice", "correct horse"), -ENOENT);
	assert_int_equal(check(t, "alice", NULL), -ENOENT);
	auth_free(t);
	t = load("");
	assert_int_equal(auth_count(t), 0);
	auth_free(t);
	auth_free(NULL);
}

/* Many users: the sorted table finds every one of them and no one else. */
static void test_many_users(void **state)
{
	size_t cap = 1000 * (sizeof(ALICE_7) + 16), len = 0;
	char *text = malloc(cap), name[16];
	struct auth_table *t;
	int i;

	assert_non_null(text);
	for (i = 999; i >= 0; i--)
		len += (size_t)snprintf(text + len, cap - len, "u%d:%s\n", i * 7, ALICE_7);
	t = load(text);
	free(text);
	assert_int_equal(auth_count(t), 1000);
	for (i = 0; i < 7000; i += 1) {
		snprintf(name, sizeof(name), "u%d", i);
		if (i % 7)
			assert_int_equal(auth_check(t, name, strlen(name), "x", 1), -ENOENT);
		else if (i % 350 == 0)
			assert_int_equal(check(t, name, "correct horse"), 0);
	}
	auth_free(t);
}

static void test_long_lines(void **state)
{
	size_t n = AUTH_MAX_USER_LEN, big = 200000;
	char *text = malloc(big + n + 2 * sizeof(ALICE_7) + 16), *user = malloc(n + 2);
	char err[CONF_ERR_LEN] = "";
	struct auth_table *t = NULL;
	size_t len;

	assert_non_null(text);
	assert_non_null(user);
	/* A 200 kB comment, then a user name of the largest size MQTT can carry. */
	text[0] = '#';
	memset(text + 1, 'c', big - 1);
	text[big] = '\n';
	memset(text + big + 1, 'u', n);
	len = big + 1 + n;
	len += (size_t)sprintf(text + len, ":%s\nalice:%s\n", ALICE_7, ALICE_7);
	assert_int_equal(auth_load_string("pw", text, len, &t, err), 0);
	memset(user, 'u', n);
	assert_int_equal(auth_check(t, user, n, "correct horse", 13), 0);
	assert_int_equal(auth_check(t, user, n - 1, "correct horse", 13), -ENOENT);
	assert_int_equal(check(t, "alice", "correct horse"), 0);
	auth_free(t);

	/* One byte more can never match a CONNECT: skipped, with its line. */
	memset(text + big + 1, 'u', n + 1);
	len = big + 2 + n;
	len += (size_t)sprintf(text + len, ":%s\n", ALICE_7);
	t = NULL;
	capture_start();
	assert_int_equal(auth_load_string("pw", text, len, &t, err), 0);
	capture_stop();
	assert_string_equal(warned, "pw:2: user name longer than 65535 bytes: line skipped");
	assert_int_equal(auth_count(t), 0);
	assert_int_equal(auth_skipped(t), 1);
	auth_free(t);
	free(text);
	free(user);
}

/*
 * Lines that are no valid entry: each is skipped with this warning (and
 * ": line skipped"), as Mosquitto skips them, and the user it names, if
 * any, cannot log in; the file still loads.
 */
static const struct {
	const char *text;
	const char *err; /* expected warning, file:line included */
} errors[] = {
	{ "alice:secret\n",
	  "pw:1: bad password hash for user 'alice': not a $7$ or $6$ hash (plain-text passwords "
	  "are not accepted: hash them with mosquitto_passwd)" },
	{ "# c\n\nalice\n", "pw:3: no ':' between the user name and the password hash" },
	{ ":" ALICE_7 "\n", "pw:1: empty user name" },
	{ "  \t:" ALICE_7 "\n", "pw:1: empty user name" },
	{ "alice:\n", "pw:1: no password hash for user 'alice'" },
	{ "alice:   \r\n", "pw:1: no password hash for user 'alice'" },
	{ "alice:$5$abc$def\n",
	  "pw:1: bad password hash for user 'alice': not a $7$ or $6$ hash (plain-text passwords "
	  "are not accepted: hash them with mosquitto_passwd)" },
	{ "alice:$7$101\n", "pw:1: bad password hash for user 'alice': expected $7$ITERATIONS$SALT$HASH" },
	{ "alice:$7$101$l+PmKSXgzn1woAQH\n",
	  "pw:1: bad password hash for user 'alice': expected $7$ITERATIONS$SALT$HASH" },
	{ "alice:" ALICE_7 "$x\n",
	  "pw:1: bad password hash for user 'alice': expected $7$ITERATIONS$SALT$HASH" },
	{ "bob:$6$btxOwhs+e8CktSQD\n", "pw:1: bad password hash for user 'bob': expected $6$SALT$HASH" },
	{ "alice:$7$0$l+PmKSXgzn1woAQH$AAAA\n",
	  "pw:1: bad password hash for user 'alice': iterations must be 1 to 1000000" },
	{ "alice:$7$1000001$l+PmKSXgzn1woAQH$AAAA\n",
	  "pw:1: bad password hash for user 'alice': iterations must be 1 to 1000000" },
	{ "alice:$7$-1$l+PmKSXgzn1woAQH$AAAA\n",
	  "pw:1: bad password hash for user 'alice': iterations must be 1 to 1000000" },
	{ "alice:$7$$l+PmKSXgzn1woAQH$AAAA\n",
	  "pw:1: bad password hash for user 'alice': iterations must be 1 to 1000000" },
	{ "alice:$7$101$l+Pm*SXgzn1woAQH$AAAA\n",
	  "pw:1: bad password hash for user 'alice': salt is not base64" },
	{ "alice:$7$101$l+PmK$AAAA\n", "pw:1: bad password hash for user 'alice': salt is not base64" },
	{ "alice:$7$101$l+PmKS===$AAAA\n",
	  "pw:1: bad password hash for user 'alice': salt is not base64" },
	{ "alice:$7$101$$AAAA\n", "pw:1: bad password hash for user 'alice': salt must be 1 to 64 bytes" },
	{ "alice:$6$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$x\n",
	  "pw:1: bad password hash for user 'alice': salt must be 1 to 64 bytes" },
	{ "alice:$7$101$l+PmKSXgzn1woAQH$nhKa Tjjd\n",
	  "pw:1: bad password hash for user 'alice': hash is not base64" },
	{ "alice:$7$101$l+PmKSXgzn1woAQH$AAAA\n",
	  "pw:1: bad password hash for user 'alice': hash must be 64 bytes (SHA-512)" },
	/* 65 bytes */
	{ "alice:$6$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	  "pw:1: bad password hash for user 'alice': hash must be 64 bytes (SHA-512)" },
};

static void test_errors(void **state)
{
	char want[CONF_ERR_LEN + 16];
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct auth_table *t = NULL;
		char err[CONF_ERR_LEN] = "";

		capture_start();
		if (auth_load_string("pw", errors[i].text, strlen(errors[i].text), &t, err))
			fail_msg("'%s' refused: %s", errors[i].text, err);
		capture_stop();
		snprintf(want, sizeof(want), "%s: line skipped", errors[i].err);
		if (strcmp(warned, want))
			fail_msg("'%s': got '%s', want '%s'", errors[i].text, warned, want);
		assert_int_equal(nwarned, 1);
		assert_int_equal(auth_skipped(t), 1);
		assert_int_equal(auth_count(t), 0);
		assert_int_equal(check(t, "alice", "secret"), -ENOENT);
		/* The hash field may be a plain-text password: never echoed. */
		assert_null(strstr(warned, "secret"));
		auth_free(t);
	}
}

/* A user listed again: the later lines are skipped, the first one counts. */
static void test_duplicates(void **state)
{
	static const struct {
		const char *text, *warn;
		uint32_t users, skipped;
	} dups[] = {
		{ "alice:" ALICE_7 "\nbob:" BOB_6 "\n\nalice:" BOB_6 "\n",
		  "pw:4: duplicate user 'alice' (first on line 1): line skipped", 2, 1 },
		/* Each later line is named, user by user ('b' is the last one warned of). */
		{ "b:" BOB_6 "\nalice:" ALICE_7 "\nalice:" BOB_6 "\nb:" BOB_6 "\nalice:" BOB_6 "\n",
		  "pw:4: duplicate user 'b' (first on line 1): line skipped", 2, 3 },
		/* Names are compared after trimming, as Mosquitto trims them. */
		{ "alice:" ALICE_7 "\n alice :" BOB_6 "\n",
		  "pw:2: duplicate user 'alice' (first on line 1): line skipped", 1, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
		struct auth_table *t;

		capture_start();
		t = load(dups[i].text);
		capture_stop();
		assert_string_equal(warned, dups[i].warn);
		assert_int_equal(auth_count(t), dups[i].users);
		assert_int_equal(auth_skipped(t), dups[i].skipped);
		/* The first line's hash is the one in force. */
		assert_int_equal(check(t, "alice", "correct horse"), 0);
		assert_int_equal(check(t, "alice", "hunter2"), -EACCES);
		auth_free(t);
	}
}

static void test_nul_byte(void **state)
{
	static const char text[] = "# ok\nalice:" ALICE_7 "\nbo\0b:" BOB_6 "\n";
	struct auth_table *t = NULL;
	char err[CONF_ERR_LEN] = "";

	capture_start();
	assert_int_equal(auth_load_string("pw", text, sizeof(text) - 1, &t, err), 0);
	capture_stop();
	assert_string_equal(warned, "pw:3: contains a NUL byte: line skipped");
	assert_int_equal(check(t, "alice", "correct horse"), 0);
	assert_int_equal(auth_count(t), 1);
	auth_free(t);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/test_broker_auth.XXXXXX", path[64], err[CONF_ERR_LEN] = "", want[128];
	struct auth_table *t = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pw", dir);

	assert_int_equal(auth_load(path, &t, err), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	/* Readable by no one: a directory cannot be read as a file, even by root. */
	assert_int_equal(auth_load(dir, &t, err), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	assert_string_equal(err, want);
	assert_null(t);

	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "alice:%s\nbob:%s\n", ALICE_7, BOB_6);
	fclose(f);
	assert_int_equal(auth_load(path, &t, err), 0);
	assert_int_equal(auth_count(t), 2);
	assert_int_equal(check(t, "alice", "correct horse"), 0);
	assert_int_equal(check(t, "bob", "hunter2"), 0);
	assert_int_equal(check(t, "bob", "correct horse"), -EACCES);
	auth_free(t);

	f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "carol:plaintext\n");
	fclose(f);
	t = NULL;
	capture_start();
	assert_int_equal(auth_load(path, &t, err), 0);
	capture_stop();
	snprintf(want, sizeof(want), "%s:3: bad password hash for user 'carol'", path);
	assert_memory_equal(warned, want, strlen(want));
	assert_null(strstr(warned, "plaintext"));
	assert_int_equal(check(t, "carol", "plaintext"), -ENOENT);
	assert_int_equal(check(t, "bob", "hunter2"), 0);
	auth_free(t);

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pbkdf2),
		cmocka_unit_test(test_sha512),
		cmocka_unit_test(test_tampered_hash),
		cmocka_unit_test(test_names_and_empty_password),
		cmocka_unit_test(test_comments_blank_crlf),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_many_users),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
