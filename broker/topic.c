// SPDX-License-Identifier: GPL-2.0
/*
 * Topic name and filter checks (MQTT 3.1.1 section 4.7), pure functions.
 * The codec has already checked UTF-8 and the absence of U+0000.
 */
#include <string.h>

#include "broker.h"

/*
 * Mosquitto's limit on levels, counted as it counts them: separators. A
 * topic can only pass it if it is longer than the limit, so the common
 * one costs nothing more.
 */
static bool depth_ok(const char *t, size_t len)
{
	unsigned int seps = 0;
	const char *p = t, *end = t + len;

	if (len <= BROKER_TOPIC_MAX_SEPARATORS)
		return true;
	while ((p = memchr(p, '/', (size_t)(end - p)))) {
		if (++seps > BROKER_TOPIC_MAX_SEPARATORS)
			return false;
		p++;
	}
	return true;
}

bool topic_name_valid(const char *t, size_t len)
{
	/* [MQTT-4.7.3-1] at least one character; [MQTT-3.3.2-2] no wildcards. */
	if (!len || len > MQTT_MAX_STR)
		return false;
	return !memchr(t, '+', len) && !memchr(t, '#', len) && !memchr(t, '\0', len) &&
	       depth_ok(t, len);
}

bool topic_filter_valid(const char *f, size_t len)
{
	size_t i;

	if (!len || len > MQTT_MAX_STR || memchr(f, '\0', len) || !depth_ok(f, len))
		return false;
	for (i = 0; i < len; i++) {
		bool starts = i == 0 || f[i - 1] == '/';
		bool ends = i + 1 == len || f[i + 1] == '/';

		if (f[i] == '+' && !(starts && ends))
			return false; /* [MQTT-4.7.1-3]: '+' fills a whole level */
		/* [MQTT-4.7.1-2]: '#' alone in its level and last. */
		if (f[i] == '#' && !(starts && i + 1 == len))
			return false;
	}
	return true;
}

/*
 * Level-by-level matcher. '#' also matches its parent level ("a/#" matches
 * "a"); topics starting with '$' are not matched by a first-level wildcard
 * [MQTT-4.7.2-1].
 */
bool topic_matches(const char *filter, size_t flen, const char *topic, size_t tlen)
{
	size_t fi = 0, ti = 0;

	if (tlen && topic[0] == '$' && flen && (filter[0] == '+' || filter[0] == '#'))
		return false;
	for (;;) {
		size_t fe = fi, te = ti;

		while (fe < flen && filter[fe] != '/')
			fe++;
		if (fe - fi == 1 && filter[fi] == '#')
			return true;
		if (ti > tlen)
			return false; /* topic exhausted, filter has more levels */
		while (te < tlen && topic[te] != '/')
			te++;
		if (!(fe - fi == 1 && filter[fi] == '+') &&
		    (fe - fi != te - ti || memcmp(filter + fi, topic + ti, fe - fi)))
			return false;
		if (fe >= flen && te >= tlen)
			return true;
		if (fe >= flen)
			return false;
		fi = fe + 1;
		ti = te + 1;
		if (te >= tlen) {
			/* topic ended: only a trailing "/#" still matches */
			return flen - fi == 1 && filter[fi] == '#';
		}
	}
}

/*
 * Mosquitto's rule for clients: $SYS is the broker's to write, except a
 * bridge's connection state, which remote bridges publish (as their will).
 */
bool topic_sys_denied(const char *t, size_t len)
{
	static const char state[] = "$SYS/broker/connection/+/state";

	return len >= 4 && t[0] == '$' && !memcmp(t, "$SYS", 4) &&
	       !topic_matches(state, sizeof(state) - 1, t, len);
}
