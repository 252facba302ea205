// SPDX-License-Identifier: GPL-2.0
/*
 * mqlbd.conf: the health check's login (user, password-file,
 * client-id-prefix) and the log target. The password comes only from its
 * file and never appears in a message; every refusal names FILE:LINE.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "config.h"

#define BASE "vip 10.0.1.1:1883\ninterface eth0\n"
#define SECRET "Tr0ub4dor&3 with spaces"

static char dir[64];
static char pw_file[128], pw_crlf[128], pw_empty[128], pw_long[128], pw_closed[128];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static int setup(void **state)
{
	char big[400];

	snprintf(dir, sizeof(dir), "/tmp/test_login.XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755))
		return -1;
	snprintf(pw_file, sizeof(pw_file), "%s/pw", dir);
	snprintf(pw_crlf, sizeof(pw_crlf), "%s/pw-crlf", dir);
	snprintf(pw_empty, sizeof(pw_empty), "%s/pw-empty", dir);
	snprintf(pw_long, sizeof(pw_long), "%s/pw-long", dir);
	snprintf(pw_closed, sizeof(pw_closed), "%s/pw-closed", dir);
	write_file(pw_file, SECRET "\nsecond line is ignored\n", 0600);
	write_file(pw_crlf, "dos\r\n", 0600);
	write_file(pw_empty, "\n", 0600);
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(pw_long, big, 0600);
	write_file(pw_closed, "x\n", 0000);
	return 0;
}

static int teardown(void **state)
{
	unlink(pw_file);
	unlink(pw_crlf);
	unlink(pw_empty);
	unlink(pw_long);
	unlink(pw_closed);
	rmdir(dir);
	return 0;
}

static int load(struct mqlbd_config *c, const char *text, char *err)
{
	config_init(c);
	err[0] = '\0';
	return config_load_string(c, "t.conf", text, err);
}

static void test_login(void **state)
{
	struct mqlbd_config c;
	char text[512], err[CONF_ERR_LEN];

	snprintf(text, sizeof(text),
		 BASE "health mqtt interval 1s timeout 500ms rise 2 fall 2 user mqlb-health "
		      "password-file %s client-id-prefix lb1-hc-\n", pw_file);
	assert_int_equal(load(&c, text, err), 0);
	assert_string_equal(c.health.user, "mqlb-health");
	assert_string_equal(c.health.password, SECRET);
	assert_string_equal(c.health.password_file, pw_file);
	assert_string_equal(c.health.client_id_prefix, "lb1-hc-");
	assert_int_equal(c.health.rise, 2);
	config_free(&c);
	/* config_free wipes the password from memory */
	assert_int_equal(c.health.password[0], '\0');

	snprintf(text, sizeof(text), BASE "health mqtt user u password-file %s\n", pw_crlf);
	assert_int_equal(load(&c, text, err), 0);
	assert_string_equal(c.health.password, "dos");
	config_free(&c);

	/* A user name alone is a valid MQTT login. */
	assert_int_equal(load(&c, BASE "health mqtt user only\n", err), 0);
	assert_string_equal(c.health.user, "only");
	assert_int_equal(c.health.password[0], '\0');
	config_free(&c);
}

static void test_defaults(void **state)
{
	struct mqlbd_config c;
	char err[CONF_ERR_LEN];

	assert_int_equal(load(&c, BASE, err), 0);
	assert_string_equal(c.health.client_id_prefix, "mqlb-hc-");
	assert_int_equal(c.health.user[0], '\0');
	assert_int_equal(c.log_target, LOG_TARGET_AUTO);
	config_free(&c);
}

/* A changed password (same file name) is a changed health config: reload restarts the checks. */
static void test_reload_sees_new_password(void **state)
{
	struct mqlbd_config a, b;
	char text[512], err[CONF_ERR_LEN];

	snprintf(text, sizeof(text), BASE "health mqtt user u password-file %s\n", pw_file);
	assert_int_equal(load(&a, text, err), 0);
	write_file(pw_file, "another\n", 0600);
	assert_int_equal(load(&b, text, err), 0);
	assert_memory_not_equal(&a.health, &b.health, sizeof(a.health));
	write_file(pw_file, SECRET "\n", 0600);
	config_free(&a);
	config_free(&b);
}

/* fmt with its one "%s" (if any) replaced by the scratch directory. */
static void with_dir(char *out, size_t len, const char *fmt)
{
	const char *at = strstr(fmt, "%s");

	if (!at)
		snprintf(out, len, "%s", fmt);
	else
		snprintf(out, len, "%.*s%s%s", (int)(at - fmt), fmt, dir, at + 2);
}

struct bad_case {
	const char *fmt; /* may hold one %s: the scratch directory */
	const char *want;
};

static void test_refusals(void **state)
{
	static const struct bad_case cases[] = {
		{ BASE "health mqtt password-file %s/pw\n",
		  "t.conf:3: health: password-file needs a user" },
		{ BASE "health tcp user u\n",
		  "t.conf:3: health: user and password-file apply to mqtt" },
		{ BASE "health mqtt user u password-file %s/missing\n",
		  "t.conf:3: health: can't read password-file /tmp/test_login." },
		{ BASE "health mqtt user u password-file %s/pw-empty\n",
		  "t.conf:3: health: password-file /tmp/test_login." },
		{ BASE "health mqtt user u password-file %s/pw-long\n",
		  "t.conf:3: health: password-file /tmp/test_login." },
		{ BASE "health mqtt user u password-file relative/pw%s\n",
		  "t.conf:3: health: password-file needs an absolute path" },
		{ BASE "health mqtt user\n", "t.conf:3: health: 'user' needs a value" },
		{ BASE "health mqtt client-id-prefix has/slash\n",
		  "t.conf:3: health: client-id-prefix must be 1-23 characters" },
		{ BASE "health mqtt client-id-prefix waytoolongprefixforanid-\n",
		  "t.conf:3: health: client-id-prefix must be 1-23 characters" },
		{ BASE "health mqtt password %s\n", "t.conf:3: health: unknown option 'password'" },
		{ BASE "log journald\n", "t.conf:3: 'log' needs auto, stderr, journal or syslog" },
		{ BASE "log\n", "t.conf:3: 'log' takes 1 argument" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mqlbd_config c;
		char text[512], err[CONF_ERR_LEN];

		with_dir(text, sizeof(text), cases[i].fmt);
		assert_int_not_equal(load(&c, text, err), 0);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: got '%s', want prefix '%s'", i, err, cases[i].want);
		config_free(&c);
	}
}

/* A password file the daemon's user cannot read (as root: in a child that became nobody). */
static void test_unreadable_file(void **state)
{
	struct mqlbd_config c;
	char text[512], err[CONF_ERR_LEN];
	int status, rc;
	pid_t pid;

	snprintf(text, sizeof(text), BASE "health mqtt user u password-file %s\n", pw_closed);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		rc = load(&c, text, err);
		config_free(&c);
		_exit(rc == -EACCES && strstr(err, "t.conf:3: health: can't read password-file") &&
		      strstr(err, "Permission denied") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Whatever goes wrong after the password was read, no message carries it. */
static void test_password_never_in_messages(void **state)
{
	static const char *const tails[] = {
		"interval 5ms", "rise 0", "jitter 1", "client-id-prefix a/b", "interval 1s timeout 2s",
	};
	size_t i;

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		struct mqlbd_config c;
		char text[512], err[CONF_ERR_LEN];

		snprintf(text, sizeof(text), BASE "health mqtt user u password-file %s %s\n", pw_file,
			 tails[i]);
		assert_int_not_equal(load(&c, text, err), 0);
		assert_null(strstr(err, "Tr0ub4dor"));
		assert_int_equal(c.health.password[0], '\0');
		config_free(&c);
	}
}

static void test_log_targets(void **state)
{
	static const char *const names[] = { "auto", "stderr", "journal", "syslog" };
	size_t i;

	for (i = 0; i < 4; i++) {
		struct mqlbd_config c;
		char text[128], err[CONF_ERR_LEN];

		snprintf(text, sizeof(text), BASE "log %s\n", names[i]);
		assert_int_equal(load(&c, text, err), 0);
		assert_int_equal(c.log_target, (enum log_target)i);
		config_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_reload_sees_new_password),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_password_never_in_messages),
		cmocka_unit_test(test_log_targets),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
