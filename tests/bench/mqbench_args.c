// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench's options, the address fence and the percentile code: kept apart
 * from the engine so that the unit test can link them without sockets.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "mqbench.h"
#include "version.h"

const char *const mqb_scenario_names[MQB_NR_SCENARIOS] = {
	[MQB_CONN_RATE] = "conn-rate", [MQB_P2P] = "p2p", [MQB_FANOUT] = "fanout",
	[MQB_FANIN] = "fanin",	       [MQB_SEED] = "seed", [MQB_IDLE] = "idle",
};

/*
 * A load generator pointed at the wrong address is a denial-of-service
 * tool: without a word from the operator it only talks to loopback. Any
 * other target needs --i-own-this-target, which says that the operator
 * runs (or may load) the brokers named, their own deployment or a test bed.
 */
bool mqb_addr_allowed(struct in_addr a, bool own_target)
{
	return own_target || (ntohl(a.s_addr) >> 24) == 127;
}

void mqb_version(FILE *f)
{
	fprintf(f, "mqbench %s\n", MQLB_VERSION_FULL);
}

void mqb_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqbench SCENARIO [OPTIONS]\n"
		"SCENARIO := { conn-rate | p2p | fanout | fanin | seed | idle }\n"
		"  -T, --target ADDR[:PORT][,...]   both sides (default 127.0.0.1:1883)\n"
		"      --sub-target ADDR[:PORT],... subscribers, conn-rate and idle connections\n"
		"      --pub-target ADDR[:PORT],... publishers\n"
		"      --src ADDR[,ADDR...]         source addresses, spread over connections\n"
		"  -n N        conn-rate: max connections (default 1000000, the duration ends it);\n"
		"              p2p: pairs; fanin and seed: publishers (default 100)\n"
		"  -m M        fanout and seed subscribers (default 100; seed 800)\n"
		"  -c C        idle connections (default 10000)\n"
		"  -q QOS      0 or 1 (default 0)\n"
		"  -s BYTES    payload size, at least %d (default 64)\n"
		"  -r RATE     conn/s (conn-rate), msg/s in all (p2p, fanout, fanin), publishers/s\n"
		"              (seed); default 0: as fast as possible\n"
		"  -d SECONDS  measured time (default 5) after -W SECONDS of warm-up (default 1)\n"
		"  -w N        unsettled messages allowed per publisher (default 100): neither\n"
		"              delivered nor known dropped; after %d ms full, one probe past it\n"
		"  -k N        connection attempts in flight (default 64)\n"
		"  -t SECONDS  hard bound on the whole run (default 120); always stops by then\n"
		"  -P PID      idle: report this broker's RSS growth per connection\n"
		"      --cpu-pid PID     CPU time of PID over the measured window\n"
		"      --cpu-pids PID,...  and of these, summed (the run's other processes)\n"
		"      --bpf-prog ID,... run time of these BPF programs over the window\n"
		"                        (needs kernel.bpf_stats_enabled=1)\n"
		"      --topic NAME      seed topic (default kuliah)\n"
		"      --tls-cafile FILE  TLS to the broker, its certificate checked against\n"
		"                        FILE (and its IP address against the certificate's)\n"
		"  -j          one JSON object on stdout\n"
		"      --i-own-this-target  allow targets outside 127.0.0.0/8: brokers you run,\n"
		"                        or may load; mqbench opens thousands of connections\n"
		"  -V, --version  print the version\n"
		"  -h, --help     this help\n"
		"Without --i-own-this-target, targets must be in 127.0.0.0/8.\n",
		MQB_MIN_PAYLOAD, (int)(MQB_PROBE_NS / 1000000));
}

static int parse_one_addr(char *tok, int default_port, bool port_allowed, bool own_target,
			  struct sockaddr_in *sa, char *err, size_t errlen)
{
	char *colon = strchr(tok, ':');
	long port = default_port;

	if (colon) {
		char *end;

		if (!port_allowed) {
			snprintf(err, errlen, "'%s': a source address takes no port", tok);
			return -EINVAL;
		}
		*colon = '\0';
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || port < 1 || port > 65535) {
			snprintf(err, errlen, "'%s': bad port '%s'", tok, colon + 1);
			return -EINVAL;
		}
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, tok, &sa->sin_addr) != 1) {
		snprintf(err, errlen, "'%s' is not an IPv4 address", tok);
		return -EINVAL;
	}
	if (!mqb_addr_allowed(sa->sin_addr, own_target)) {
		snprintf(err, errlen,
			 "refusing %s: without --i-own-this-target, load goes only to "
			 "127.0.0.0/8", tok);
		return -EPERM;
	}
	return 0;
}

int mqb_parse_addrs(const char *s, int default_port, bool port_allowed, bool own_target,
		    struct mqb_addrs *l, char *err, size_t errlen)
{
	char buf[512], *tok, *save = NULL;
	int ret;

	if (!s || !*s || strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "empty or overlong address list");
		return -EINVAL;
	}
	strcpy(buf, s);
	l->n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (l->n == MQB_MAX_ADDRS) {
			snprintf(err, errlen, "more than %d addresses in '%s'", MQB_MAX_ADDRS, s);
			return -EINVAL;
		}
		ret = parse_one_addr(tok, default_port, port_allowed, own_target, &l->a[l->n], err,
				     errlen);
		if (ret)
			return ret;
		l->n++;
	}
	if (!l->n) {
		snprintf(err, errlen, "empty address list '%s'", s);
		return -EINVAL;
	}
	return 0;
}

/* A whole-string number within [lo, hi]; anything else is a bad option. */
static int num(const char *s, double lo, double hi, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || *v != *v || *v < lo || *v > hi)
		return -EINVAL;
	return 0;
}

static int inum(const char *s, long lo, long hi, int *v)
{
	double d;

	if (num(s, (double)lo, (double)hi, &d) || d != (double)(long)d)
		return -EINVAL;
	*v = (int)d;
	return 0;
}

static int parse_bpf_ids(const char *s, struct mqb_opts *o)
{
	char buf[128], *tok, *save = NULL;
	int id;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	o->nbpf = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nbpf == MQB_MAX_BPF || inum(tok, 1, INT_MAX, &id))
			return -EINVAL;
		o->bpf_ids[o->nbpf++] = (uint32_t)id;
	}
	return o->nbpf ? 0 : -EINVAL;
}

static int parse_pids(const char *s, struct mqb_opts *o)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	o->npids = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (o->npids == MQB_MAX_PIDS || inum(tok, 1, INT_MAX, &o->pids[o->npids++]))
			return -EINVAL;
	return o->npids ? 0 : -EINVAL;
}

enum { OPT_SUB = 256, OPT_PUB, OPT_SRC, OPT_CPU_PID, OPT_CPU_PIDS, OPT_BPF, OPT_TOPIC, OPT_OWN,
       OPT_TLS };

static const struct option long_opts[] = {
	{ "target", required_argument, NULL, 'T' },
	{ "sub-target", required_argument, NULL, OPT_SUB },
	{ "pub-target", required_argument, NULL, OPT_PUB },
	{ "src", required_argument, NULL, OPT_SRC },
	{ "cpu-pid", required_argument, NULL, OPT_CPU_PID },
	{ "cpu-pids", required_argument, NULL, OPT_CPU_PIDS },
	{ "bpf-prog", required_argument, NULL, OPT_BPF },
	{ "topic", required_argument, NULL, OPT_TOPIC },
	{ "tls-cafile", required_argument, NULL, OPT_TLS },
	{ "json", no_argument, NULL, 'j' },
	{ "i-own-this-target", no_argument, NULL, OPT_OWN },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

static void defaults(struct mqb_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->scenario = MQB_NR_SCENARIOS;
	o->n = -1;
	o->m = -1;
	o->c = 10000;
	o->payload = 64;
	o->duration = 5;
	o->warmup = 1;
	o->time_bound = 120;
	o->window = 100;
	o->concurrency = 64;
	o->topic = "kuliah";
}

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

int mqb_parse_args(int argc, char **argv, struct mqb_opts *o, char *err, size_t errlen)
{
	const char *sub = NULL, *pub = NULL, *both = NULL, *src = NULL;
	int opt, i, ret;

	defaults(o);
	err[0] = '\0';
	optind = 0;	/* glibc: rescan from scratch (the unit test parses many argvs) */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "T:n:m:c:q:s:r:d:W:w:k:t:P:jVh", long_opts,
				  NULL)) != -1) {
		const char *a = optarg;

		switch (opt) {
		case 'T': both = a; break;
		case OPT_SUB: sub = a; break;
		case OPT_PUB: pub = a; break;
		case OPT_SRC: src = a; break;
		case OPT_TLS: o->tls_cafile = a; break;
		case OPT_TOPIC:
			if (!*a || strpbrk(a, "+#"))
				BAD("--topic: '%s' is not a topic name", a);
			o->topic = a;
			break;
		case 'n': if (inum(a, 1, 10000000, &o->n)) BAD("-n: bad count '%s'", a); break;
		case 'm': if (inum(a, 1, 19000, &o->m)) BAD("-m: bad count '%s'", a); break;
		case 'c': if (inum(a, 1, 19000, &o->c)) BAD("-c: bad count '%s'", a); break;
		case 'q': if (inum(a, 0, 1, &o->qos)) BAD("-q: QoS is 0 or 1, got '%s'", a); break;
		case 's':
			if (inum(a, MQB_MIN_PAYLOAD, 1 << 20, &o->payload))
				BAD("-s: payload is %d..1048576 bytes, got '%s'", MQB_MIN_PAYLOAD, a);
			break;
		case 'r': if (num(a, 0, 1e7, &o->rate)) BAD("-r: bad rate '%s'", a); break;
		case 'd': if (num(a, 0.1, 3600, &o->duration)) BAD("-d: bad duration '%s'", a); break;
		case 'W': if (num(a, 0, 60, &o->warmup)) BAD("-W: bad warm-up '%s'", a); break;
		case 't': if (num(a, 1, 3600, &o->time_bound)) BAD("-t: bad time bound '%s'", a); break;
		case 'w': if (inum(a, 1, 1000000, &o->window)) BAD("-w: bad window '%s'", a); break;
		case 'k': if (inum(a, 1, 19000, &o->concurrency)) BAD("-k: bad concurrency '%s'", a); break;
		case 'P': if (inum(a, 1, INT_MAX, &o->broker_pid)) BAD("-P: bad pid '%s'", a); break;
		case OPT_CPU_PID:
			if (inum(a, 1, INT_MAX, &o->cpu_pid))
				BAD("--cpu-pid: bad pid '%s'", a);
			break;
		case OPT_CPU_PIDS:
			if (parse_pids(a, o))
				BAD("--cpu-pids: bad pid list '%s'", a);
			break;
		case OPT_BPF: if (parse_bpf_ids(a, o)) BAD("--bpf-prog: bad id list '%s'", a); break;
		case 'j': o->json = true; break;
		case OPT_OWN: o->own_target = true; break;
		case 'V': return 2;
		case 'h': return 1;
		default: BAD("unknown option or missing argument '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		BAD(optind < argc ? "one scenario, got '%s' and more" : "no scenario given",
		    optind < argc ? argv[optind] : "");
	for (i = 0; i < MQB_NR_SCENARIOS; i++)
		if (!strcmp(argv[optind], mqb_scenario_names[i]))
			o->scenario = i;
	if (o->scenario == MQB_NR_SCENARIOS)
		BAD("unknown scenario '%s'", argv[optind]);

	/* Both sides default to --target, which defaults to the local broker. */
	if (!both)
		both = "127.0.0.1:1883";
	ret = mqb_parse_addrs(sub ? sub : both, 1883, true, o->own_target, &o->sub, err, errlen);
	if (!ret)
		ret = mqb_parse_addrs(pub ? pub : both, 1883, true, o->own_target, &o->pub, err,
				      errlen);
	/* Source addresses are this machine's own: they send load to no one. */
	if (!ret && src)
		ret = mqb_parse_addrs(src, 0, false, true, &o->src, err, errlen);
	if (ret)
		return ret;

	if (o->n < 0)
		o->n = o->scenario == MQB_CONN_RATE ? 1000000 : 100;
	if (o->m < 0)
		o->m = o->scenario == MQB_SEED ? 800 : 100;
	/* One process holds at most ~19,000 sockets here (docs/kernel.md). */
	if ((o->scenario == MQB_P2P && 2 * o->n > 19000) ||
	    ((o->scenario == MQB_SEED || o->scenario == MQB_FANIN) && o->n + o->m > 19000))
		BAD("more than 19000 connections in one process");
	if (o->scenario == MQB_SEED && (long)o->n * o->m > 50000000L)
		BAD("seed: publishers x subscribers above 50,000,000");
	if (o->scenario == MQB_IDLE && !o->broker_pid)
		BAD("idle needs -P BROKER_PID");
	if (o->warmup + o->duration + 1 > o->time_bound &&
	    o->scenario != MQB_SEED && o->scenario != MQB_IDLE)
		BAD("-W + -d must end a second before -t");
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void mqb_sort_u32(uint32_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_u32);
}

/*
 * Nearest rank: the smallest sample with at least p% of the samples at or
 * below it, so p99 of 100 samples is the 99th, and of 10 the 10th.
 */
uint32_t mqb_percentile(const uint32_t *sorted, size_t n, double p)
{
	double rank;
	size_t k;

	if (!n)
		return 0;
	rank = p / 100.0 * (double)n;
	k = (size_t)rank;
	if ((double)k < rank)
		k++;
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}
