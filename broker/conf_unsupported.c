// SPDX-License-Identifier: GPL-2.0
/*
 * Mosquitto 2.0's directives that mqbroker does not implement. A
 * configuration written for Mosquitto must not start with one of them
 * silently doing nothing, so each is refused by name ("FILE:LINE: 'X' is
 * not supported"); a word Mosquitto does not know either is an unknown
 * directive. The list is mosquitto.conf(5) of 2.0.11 and the names its
 * parser also takes, less what mqbroker implements.
 */
#include <errno.h>
#include <string.h>

#include "broker.h"
#include "conf.h"

static const char *const unsupported[] = {
	/* plugins and other ways of authenticating */
	"auth_plugin", "auth_plugin_deny_special_chars", "plugin", "psk_file", "psk_hint",
	"clientid_prefixes", "use_username_as_clientid",
	/* listener features */
	"bind_interface", "http_dir", "mount_point", "max_qos", "maximum_qos", "max_topic_alias",
	"websockets_headers_size", "websockets_log_level", "dhparamfile", "tls_engine",
	"tls_engine_kpass_sha1", "tls_keyform",
	/* behaviour */
	"allow_duplicate_messages", "retry_interval", "log_facility", "log_timestamp_format",
	/* bridges */
	"bridge_alpn", "bridge_bind_address", "bridge_identity", "bridge_max_packet_size",
	"bridge_psk", "bridge_require_ocsp", "idle_timeout",
	"local_cleansession", "local_password", "local_username", "notifications_local_only",
	"round_robin", "threshold",
	NULL,
};

/* The catch-all row of conf.c's table: anything no other row took. */
int conf_kw_unknown(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	const char *w = ln->argv[0];
	int i;

	for (i = 0; unsupported[i]; i++) {
		if (!strcmp(unsupported[i], w)) {
			conf_reason(err, "'%s' is not supported", w);
			return -EOPNOTSUPP;
		}
	}
	if (!strncmp(w, "auth_opt_", 9) || !strncmp(w, "plugin_opt_", 11)) {
		conf_reason(err, "'%s' is not supported (no plugins)", w);
		return -EOPNOTSUPP;
	}
	conf_reason(err, "unknown directive '%s'", w);
	return -EINVAL;
}
