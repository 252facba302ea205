// SPDX-License-Identifier: GPL-2.0
/*
 * Golden tests of mqlb's renderers: text and JSON of backend, flow and
 * stats show over a fixture snapshot (no maps, no privileges), plus the
 * formatting helpers. The JSON goldens are also checked to parse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "test_cli_fixture.h"

static const char GOLD_BACKEND_PLAIN[] =
	"NAME   ADDRESS                STATE     ACTIVE     MAX     TOTAL     PKTS-IN      BYTES-IN    PKTS-OUT     BYTES-OUT   LATENCY  IN-STATE  CHECK\n"
	"b1     10.201.2.11:1883       up            10      12        30         100          6400          90          5000     1.2ms      1m5s  ok (CONNACK 0)\n"
	"b<2>   10.201.2.12:1883       down           0       0         0           0             0           0             0     500us      2h0m  failed (connection \"refused\")\n"
	"#5     10.201.2.13:8883       drain          1       1         1           0             0           0             0         -         -  -\n"
	"weird  10.201.2.14:1883       unknown        0       0         0           0             0           0             0         -         -  -\n";

static const char GOLD_FLOW_PLAIN[] =
	"CLIENT                 BACKEND     TRANSLATED                                          AGE      IDLE  STATE        MQTT       CLIENT-ID\n"
	"10.201.1.10:40000      b1          10.201.2.1:10001 -> 10.201.2.11:1883               2m5s        3s  established  3.1.1      sensor-1\n"
	"10.201.1.10:40001      #5          10.201.2.1:10002 -> 10.201.2.13:1883                 2s       0ms  fin-client   not-mqtt   -\n"
	"10.201.1.20:5000       #9          10.201.2.1:10003 -> 10.201.2.11:1883                0ms       0ms  syn          5.0/br     x\"y...\n";

static const char GOLD_BACKEND_JSON[] =
	"[{\"id\":0,\"name\":\"b1\",\"address\":\"10.201.2.11:1883\",\"state\":\"up\",\"weight\":1,\"active\":10,\"max\":12,\"total\":30,\"by_client_id\":28,\"by_fallback\":2,\"packets_in\":100,\"bytes_in\":6400,\"packets_out\":90,\"bytes_out\":5000,\"check\":\"ok\",\"check_message\":\"CONNACK 0\",\"check_latency_us\":1234,\"in_state_ms\":65000},"
	"{\"id\":1,\"name\":\"b<2>\",\"address\":\"10.201.2.12:1883\",\"state\":\"down\",\"weight\":2,\"active\":0,\"max\":0,\"total\":0,\"by_client_id\":0,\"by_fallback\":0,\"packets_in\":0,\"bytes_in\":0,\"packets_out\":0,\"bytes_out\":0,\"check\":\"failed\",\"check_message\":\"connection \\\"refused\\\"\",\"check_latency_us\":500,\"in_state_ms\":7200000},"
	"{\"id\":5,\"name\":\"#5\",\"address\":\"10.201.2.13:8883\",\"state\":\"drain\",\"weight\":1,\"active\":1,\"max\":1,\"total\":1,\"by_client_id\":0,\"by_fallback\":0,\"packets_in\":0,\"bytes_in\":0,\"packets_out\":0,\"bytes_out\":0,\"check\":\"none\",\"check_message\":null,\"check_latency_us\":null,\"in_state_ms\":null},"
	"{\"id\":7,\"name\":\"weird\",\"address\":\"10.201.2.14:1883\",\"state\":\"unknown\",\"weight\":1,\"active\":0,\"max\":0,\"total\":0,\"by_client_id\":0,\"by_fallback\":0,\"packets_in\":0,\"bytes_in\":0,\"packets_out\":0,\"bytes_out\":0,\"check\":\"none\",\"check_message\":null,\"check_latency_us\":null,\"in_state_ms\":null}]\n";

static const char GOLD_FLOW_JSON[] =
	"[{\"client\":\"10.201.1.10:40000\",\"vip\":\"10.201.1.1:1883\",\"backend\":\"b1\",\"backend_id\":0,\"snat\":\"10.201.2.1:10001\",\"backend_address\":\"10.201.2.11:1883\",\"age_ms\":125000,\"idle_ms\":3000,\"tcp_state\":\"established\",\"tcp_flags\":4103,\"tcp_ts_shifted\":true,\"mqtt\":\"parsed\",\"mqtt_level\":4,\"mqtt_bridge\":false,\"keepalive_s\":60,\"client_id\":\"sensor-1\",\"client_id_truncated\":false,\"maglev_slot\":15915,\"proxy_v2\":true},"
	"{\"client\":\"10.201.1.10:40001\",\"vip\":\"10.201.1.1:1883\",\"backend\":\"#5\",\"backend_id\":5,\"snat\":\"10.201.2.1:10002\",\"backend_address\":\"10.201.2.13:1883\",\"age_ms\":2000,\"idle_ms\":0,\"tcp_state\":\"fin-client\",\"tcp_flags\":15,\"tcp_ts_shifted\":false,\"mqtt\":\"not-mqtt\",\"mqtt_level\":null,\"mqtt_bridge\":false,\"keepalive_s\":0,\"client_id\":null,\"client_id_truncated\":false,\"maglev_slot\":null,\"proxy_v2\":false},"
	"{\"client\":\"10.201.1.20:5000\",\"vip\":\"10.201.1.1:1883\",\"backend\":\"#9\",\"backend_id\":9,\"snat\":\"10.201.2.1:10003\",\"backend_address\":\"10.201.2.11:1883\",\"age_ms\":0,\"idle_ms\":0,\"tcp_state\":\"syn\",\"tcp_flags\":1,\"tcp_ts_shifted\":false,\"mqtt\":\"parsed\",\"mqtt_level\":5,\"mqtt_bridge\":true,\"keepalive_s\":60,\"client_id\":\"x\\\"y\",\"client_id_truncated\":true,\"maglev_slot\":null,\"proxy_v2\":false}]\n";

struct capture {
	char *data;
	size_t len;
	FILE *f;
};

static FILE *cap_open(struct capture *c)
{
	c->data = NULL;
	c->f = open_memstream(&c->data, &c->len);
	assert_non_null(c->f);
	return c->f;
}

static char *cap_close(struct capture *c)
{
	fclose(c->f);
	return c->data;
}

static void assert_golden(const char *got, const char *want)
{
	if (strcmp(got, want))
		fprintf(stderr, "--- want\n%s--- got\n%s---\n", want, got);
	assert_string_equal(got, want);
}

static int setup(void **state)
{
	struct snapshot *s = snapshot_new();

	if (!s)
		return -1;
	fixture_fill(s);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	snapshot_free(*state);
	return 0;
}

/* Python's json module is on every test machine (tests/e2e use it). */
static void assert_json_parses(const char *text)
{
	FILE *p = popen("/usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null",
			"w");

	if (!p)
		return;
	fputs(text, p);
	assert_int_equal(pclose(p), 0);
}

typedef int (*json_render)(json_writer_t *w, const struct snapshot *s, const char *only);

static char *render_json(json_render fn, const struct snapshot *s, const char *only, int *ret)
{
	struct capture c;
	json_writer_t *w = jsonw_new(cap_open(&c));

	*ret = fn(w, s, only);
	jsonw_destroy(&w);
	return cap_close(&c);
}

static void test_backend_plain(void **state)
{
	struct capture c;
	char *out;

	assert_int_equal(backend_print_plain(cap_open(&c), *state, NULL), 0);
	out = cap_close(&c);
	assert_golden(out, GOLD_BACKEND_PLAIN);
	free(out);
}

/* balance client-id: the total split by how each flow's backend was chosen. */
static const char GOLD_BACKEND_PLAIN_CID[] =
	"NAME  ADDRESS                STATE     ACTIVE     MAX     TOTAL     BY-ID     BY-RR     PKTS-IN      BYTES-IN    PKTS-OUT     BYTES-OUT   LATENCY  IN-STATE  CHECK\n"
	"b1    10.201.2.11:1883       up            10      12        30        28         2         100          6400          90          5000     1.2ms      1m5s  ok (CONNACK 0)\n";

static void test_backend_plain_client_id(void **state)
{
	struct snapshot *s = *state;
	struct capture c;
	char *out;

	s->cfg.flags |= MQLB_CFG_CLIENT_ID;
	assert_int_equal(backend_print_plain(cap_open(&c), s, "b1"), 0);
	out = cap_close(&c);
	assert_golden(out, GOLD_BACKEND_PLAIN_CID);
	free(out);
}

/*
 * mqlb maglev show over a fixture table: every slot b1's but sensor-0042's
 * (53821 with seed 0, the hash test_maglev pins), which is b<2>'s, down.
 */
static const char GOLD_MAGLEV_PLAIN[] =
	"CLIENT-ID                  HASH    SLOT  BACKEND     STATE     CHOICE\n"
	"sensor-0001  0xd26b7c696843fc70   15915  b1          up        client-id\n"
	"sensor-0042  0x62a269e9d2ce9dc3   53821  b<2>        down      round-robin: its backend is not up\n"
	"\"\"                            -       -  -           -         round-robin: empty client id\n";

static const char GOLD_MAGLEV_JSON[] =
	"[{\"client_id\":\"sensor-0001\",\"hash\":\"0xd26b7c696843fc70\",\"slot\":15915,\"backend\":\"b1\",\"backend_id\":0,\"backend_state\":\"up\",\"chosen_by\":\"client_id\",\"reason\":null},"
	"{\"client_id\":\"sensor-0042\",\"hash\":\"0x62a269e9d2ce9dc3\",\"slot\":53821,\"backend\":\"b<2>\",\"backend_id\":1,\"backend_state\":\"down\",\"chosen_by\":\"round_robin\",\"reason\":\"its backend is not up\"},"
	"{\"client_id\":\"\",\"hash\":null,\"slot\":null,\"backend\":null,\"backend_id\":null,\"backend_state\":null,\"chosen_by\":\"round_robin\",\"reason\":\"empty client id\"}]\n";

static void test_maglev_show(void **state)
{
	static const char *const ids[] = { "sensor-0001", "sensor-0042", "" };
	struct mqlb_maglev *m = calloc(1, sizeof(*m));
	struct maglev_answer a[3];
	json_writer_t *w;
	struct capture c;
	char *out;
	size_t i;

	assert_non_null(m);
	m->slot[53821] = 1;
	for (i = 0; i < 3; i++)
		maglev_answer(*state, m, ids[i], &a[i]);
	maglev_print_plain(cap_open(&c), a, 3);
	out = cap_close(&c);
	assert_golden(out, GOLD_MAGLEV_PLAIN);
	free(out);
	w = jsonw_new(cap_open(&c));
	maglev_print_json(w, a, 3);
	jsonw_destroy(&w);
	out = cap_close(&c);
	assert_golden(out, GOLD_MAGLEV_JSON);
	assert_json_parses(out);
	free(out);
	/* no backend in the slot at all (none was up when the table was built) */
	m->slot[53821] = MQLB_MAGLEV_NONE;
	maglev_answer(*state, m, "sensor-0042", &a[0]);
	assert_false(a[0].by_id);
	assert_null(a[0].backend);
	assert_string_equal(a[0].why, "no backend up");
	free(m);
}

static void test_backend_json(void **state)
{
	int ret;
	char *out = render_json(backend_print_json, *state, NULL, &ret);

	assert_int_equal(ret, 0);
	assert_golden(out, GOLD_BACKEND_JSON);
	assert_json_parses(out);
	free(out);
}

static void test_backend_filter(void **state)
{
	struct capture c;
	char *out;
	int ret;

	assert_int_equal(backend_print_plain(cap_open(&c), *state, "#5"), 0);
	out = cap_close(&c);
	assert_non_null(strstr(out, "\n#5 "));
	assert_null(strstr(out, "b1 "));
	free(out);

	out = render_json(backend_print_json, *state, "b1", &ret);
	assert_int_equal(ret, 0);
	assert_true(!strncmp(out, "[{\"id\":0,\"name\":\"b1\"", 20));
	assert_null(strstr(out, "\"id\":1"));
	free(out);

	out = render_json(backend_print_json, *state, "nope", &ret);
	assert_int_equal(ret, -ENOENT);
	assert_string_equal(out, "[]\n");
	free(out);
}

static void test_flow_plain(void **state)
{
	struct capture c;
	char *out;

	assert_int_equal(flow_print_plain(cap_open(&c), *state, NULL), 0);
	out = cap_close(&c);
	assert_golden(out, GOLD_FLOW_PLAIN);
	free(out);
}

static void test_flow_json(void **state)
{
	int ret;
	char *out = render_json(flow_print_json, *state, NULL, &ret);

	assert_int_equal(ret, 0);
	assert_golden(out, GOLD_FLOW_JSON);
	assert_json_parses(out);
	free(out);
}

static void test_flow_filter(void **state)
{
	struct capture c;
	char *out;
	int ret;

	flow_print_plain(cap_open(&c), *state, "b1");
	out = cap_close(&c);
	assert_non_null(strstr(out, "10.201.1.10:40000"));
	assert_null(strstr(out, "10.201.1.10:40001"));
	assert_null(strstr(out, "10.201.1.20:5000"));
	free(out);

	/* A flow whose backend slot is gone is still reachable by its id. */
	out = render_json(flow_print_json, *state, "#9", &ret);
	assert_non_null(strstr(out, "\"client\":\"10.201.1.20:5000\""));
	assert_null(strstr(out, "40000"));
	free(out);
}

/* A retired flow is keyed by its SNAT tuple: no client is shown for it, in either form. */
static void test_flow_retired(void **state)
{
	struct snapshot *s = *state;
	struct capture c;
	char *out;
	int ret;

	s->flows[1].f.tcp_flags |= MQLB_FLOW_RETIRED;
	flow_print_plain(cap_open(&c), s, "#5");
	out = cap_close(&c);
	assert_non_null(strstr(out, "\n-                      #5  "));
	assert_non_null(strstr(out, "retired"));
	assert_null(strstr(out, "40001"));
	free(out);

	out = render_json(flow_print_json, s, "#5", &ret);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(out, "[{\"client\":null,\"vip\":null,\"backend\":\"#5\""));
	assert_non_null(strstr(out, "\"tcp_state\":\"retired\""));
	assert_json_parses(out);
	free(out);
}

/* Delayed binding: a flow waiting for its CONNECT has no backend yet, in either form. */
static void test_flow_unbound(void **state)
{
	struct snapshot *s = *state;
	struct capture c;
	char *out;
	int ret;

	s->flows[1].f.tcp_flags = MQLB_FLOW_BIND_CONNECT;
	s->flows[1].f.backend_id = MQLB_MAX_BACKENDS;
	flow_print_plain(cap_open(&c), s, NULL);
	out = cap_close(&c);
	assert_non_null(strstr(out, "\n10.201.1.10:40001      -           "));
	assert_non_null(strstr(out, "await-connect"));
	free(out);
	out = render_json(flow_print_json, s, NULL, &ret);
	assert_non_null(strstr(out, "\"client\":\"10.201.1.10:40001\",\"vip\":\"10.201.1.1:1883\","
				    "\"backend\":null,\"backend_id\":null,"));
	assert_json_parses(out);
	free(out);
}

/* The counter list grows with the data plane, so the golden is built from the ABI names. */
static void test_stats_plain(void **state)
{
	struct snapshot *s = *state;
	struct capture c, w;
	unsigned int i;
	char *out, *want;

	stats_print_plain(cap_open(&c), s);
	out = cap_close(&c);
	cap_open(&w);
	for (i = 0; i < MQLB_STAT_MAX; i++)
		fprintf(w.f, "%-22s  %u\n", mqlb_stat_names[i], i * 10);
	fprintf(w.f, "%-22s  3/262144 (0.0%%)\n", "flow_table");
	want = cap_close(&w);
	assert_golden(out, want);
	free(out);
	free(want);
}

static void test_stats_json(void **state)
{
	struct snapshot *s = *state;
	struct capture c, w;
	json_writer_t *jw;
	unsigned int i;
	char *out, *want;

	jw = jsonw_new(cap_open(&c));
	stats_print_json(jw, s);
	jsonw_destroy(&jw);
	out = cap_close(&c);
	cap_open(&w);
	fputc('{', w.f);
	for (i = 0; i < MQLB_STAT_MAX; i++)
		fprintf(w.f, "\"%s\":%u,", mqlb_stat_names[i], i * 10);
	fputs("\"flow_entries\":3,\"flow_max_entries\":262144}\n", w.f);
	want = cap_close(&w);
	assert_golden(out, want);
	assert_json_parses(out);
	free(out);
	free(want);
}

static void test_empty_snapshot(void **state)
{
	struct snapshot *s = snapshot_new();
	struct capture c;
	char *out;
	int ret;

	backend_print_plain(cap_open(&c), s, NULL);
	out = cap_close(&c);
	assert_true(!strncmp(out, "NAME ", 5));
	/* the header line only */
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);
	out = render_json(flow_print_json, s, NULL, &ret);
	assert_string_equal(out, "[]\n");
	free(out);
	snapshot_free(s);
}

static void test_formatting(void **state)
{
	char buf[32];

	assert_string_equal(fmt_duration(0, buf, sizeof(buf)), "0ms");
	assert_string_equal(fmt_duration(999999999ULL, buf, sizeof(buf)), "999ms");
	assert_string_equal(fmt_duration(59 * FIX_SEC, buf, sizeof(buf)), "59s");
	assert_string_equal(fmt_duration(3600 * FIX_SEC, buf, sizeof(buf)), "1h0m");
	assert_string_equal(fmt_duration((86400 * 3 + 7200) * FIX_SEC, buf, sizeof(buf)), "3d2h");
	assert_string_equal(fmt_duration(UINT64_MAX, buf, sizeof(buf)), "213503d23h");
	assert_string_equal(fmt_latency_us(0, buf, sizeof(buf)), "0us");
	assert_string_equal(fmt_latency_us(999, buf, sizeof(buf)), "999us");
	assert_string_equal(fmt_latency_us(25400, buf, sizeof(buf)), "25.4ms");
	assert_string_equal(mqtt_level_name(3, buf, sizeof(buf)), "3.1");
	assert_string_equal(mqtt_level_name(0, buf, sizeof(buf)), "-");
	assert_string_equal(mqtt_level_name(200, buf, sizeof(buf)), "?200");
	assert_null(mqtt_outcome_name(0));
	assert_string_equal(mqtt_outcome_name(MQLB_MQTT_PARSED | MQLB_MQTT_ID_TRUNCATED), "parsed");
	assert_string_equal(mqtt_outcome_name(MQLB_MQTT_SPLIT), "split");
	assert_string_equal(mqtt_outcome_name(MQLB_MQTT_NOT_MQTT), "not-mqtt");
	assert_string_equal(mqtt_outcome_name(MQLB_MQTT_MALFORMED), "malformed");
	assert_string_equal(flow_tcp_state(0), "-");
	assert_string_equal(flow_tcp_state(FIX_EST | MQLB_FLOW_RST), "reset");
	assert_string_equal(flow_tcp_state(FIX_EST | MQLB_FLOW_RST | MQLB_FLOW_BACKEND_LOST |
					   MQLB_FLOW_RETIRED), "retired");
	assert_string_equal(flow_tcp_state(FIX_EST | MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND),
			    "closed");
	/* delayed binding: the client's handshake done, then the backend's SYN sent */
	assert_string_equal(flow_tcp_state(MQLB_FLOW_BIND_CONNECT), "await-connect");
	assert_string_equal(flow_tcp_state(MQLB_FLOW_SYN | MQLB_FLOW_BIND_SYNACK), "binding");
	assert_string_equal(flow_tcp_state(MQLB_FLOW_BIND_SYNACK | MQLB_FLOW_RST), "reset");
	assert_string_equal(check_result_name(9), "unknown");
	assert_string_equal(snap_state_name(MQLB_BE_DISABLED), "disabled");
	assert_string_equal(snap_state_name(255), "unknown");
}

/* What the snapshot does to strings read from a map: bounded, printable. */
static void test_printable(void **state)
{
	char raw[8] = { 'a', '\n', (char)0xff, 'b', 'c', 'd', 'e', 'f' }; /* no NUL */
	char out[9];

	snap_printable(out, raw, sizeof(raw));
	assert_string_equal(out, "a??bcdef");
	snap_printable(out, raw, 3);
	assert_string_equal(out, "a??");
	snap_printable(out, "", 8);
	assert_string_equal(out, "");
}

static void test_lookup(void **state)
{
	const struct snapshot *s = *state;

	assert_int_equal(snapshot_backend_by_name(s, "b1")->id, 0);
	assert_int_equal(snapshot_backend_by_name(s, "#5")->id, 5);
	assert_null(snapshot_backend_by_name(s, "b"));
	assert_int_equal(snapshot_backend_by_id(s, 7)->id, 7);
	assert_null(snapshot_backend_by_id(s, 9));
}

/* Without the daemon's fds a snapshot is refused, not read from fd -1. */
static void test_snapshot_bad_source(void **state)
{
	struct snapshot *s = snapshot_new();
	struct snap_src src;

	snap_src_init(&src);
	assert_int_equal(snapshot_from_fds(&src, s, 0), -EINVAL);
	snapshot_close(&src);
	snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backend_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_plain_client_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maglev_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_retired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_unbound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_json, setup, teardown),
		cmocka_unit_test(test_empty_snapshot),
		cmocka_unit_test(test_formatting),
		cmocka_unit_test(test_printable),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test(test_snapshot_bad_source),
	};

	return cmocka_run_group_tests_name("cli_render", tests, NULL, NULL);
}
