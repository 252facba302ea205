// SPDX-License-Identifier: GPL-2.0
/*
 * tcpspray: the off-path attacker of the data plane's tests and benchmarks.
 * It sends forged TCP segments through a raw socket (IP_HDRINCL), with
 * sequence and acknowledgment numbers it does not know, so random:
 *
 *   tcpspray spray --dst ADDR:PORT --tuples FILE [--kinds rst,rstack,syn,ack,fin] [-n N]
 *       from each source ADDR:PORT in FILE (one a line), N segments of each kind
 *   tcpspray sweep --src ADDR:PORT --dst ADDR --ports LO-HI [--kinds rst] [-n N]
 *       from one source to every destination port of the range
 *   tcpspray flood --dst ADDR:PORT --src-net ADDR/LEN --rate N --seconds S [-n MAX]
 *       SYNs from random sources of the network, paced to N a second
 *
 * Every run is bounded: a count, and for floods a duration too. Meant only
 * for the test beds' network namespaces: it refuses destinations outside
 * 10.0.0.0/8 and loopback. Prints one JSON line: what was sent, how fast.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "inet_csum.h"

#define BATCH     64
#define SEG_LEN   (sizeof(struct iphdr) + sizeof(struct tcphdr))
#define MAX_SENDS 50000000ULL /* whatever the arguments, a run ends */

enum kind { K_RST, K_RSTACK, K_SYN, K_ACK, K_FIN, K_MAX };
static const char *const kind_names[K_MAX] = { "rst", "rstack", "syn", "ack", "fin" };
static const uint8_t kind_flags[K_MAX] = {
	[K_RST] = 0x04, [K_RSTACK] = 0x14, [K_SYN] = 0x02, [K_ACK] = 0x10, [K_FIN] = 0x11,
};

struct spray {
	int fd;
	uint64_t rng;
	unsigned int n;
	uint64_t sent, failed;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to[BATCH];
	uint8_t pkt[BATCH][SEG_LEN];
};

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tcpspray: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* xorshift64*: fast, and unpredictable enough for numbers nobody may know. */
static uint32_t rnd(struct spray *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (uint32_t)((s->rng * 2685821657736338717ULL) >> 32);
}

static void parse_tuple(const char *arg, struct sockaddr_in *sa, bool need_port)
{
	char buf[64], *colon;
	unsigned long port = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		port = strtoul(colon + 1, NULL, 10);
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, buf, &sa->sin_addr) != 1 || port > 65535 ||
	    (need_port && (!colon || !port)))
		die("'%s' is not ADDR%s", arg, need_port ? ":PORT" : "[:PORT]");
	sa->sin_port = htons((uint16_t)port);
}

/* Test beds only: the namespaces' 10/8, or loopback. */
static void check_dst(const struct sockaddr_in *sa)
{
	uint32_t a = ntohl(sa->sin_addr.s_addr);

	if ((a >> 24) != 10 && (a >> 24) != 127)
		die("destination %s is outside 10.0.0.0/8 and 127.0.0.0/8: refused",
		    inet_ntoa(sa->sin_addr));
}

static void flush(struct spray *s)
{
	unsigned int done = 0;
	int n;

	while (done < s->n) {
		n = sendmmsg(s->fd, s->msgs + done, s->n - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A full queue or an unreachable source: count it, go on. */
			s->failed += s->n - done;
			break;
		}
		done += (unsigned int)n;
		s->sent += (uint64_t)n;
	}
	s->n = 0;
}

static void add(struct spray *s, const struct sockaddr_in *src, const struct sockaddr_in *dst,
		enum kind k)
{
	uint8_t *p = s->pkt[s->n];
	struct iphdr *ip = (struct iphdr *)p;
	struct tcphdr *tcp = (struct tcphdr *)(p + sizeof(*ip));
	uint32_t sum;

	memset(p, 0, SEG_LEN);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(SEG_LEN);
	ip->id = htons((uint16_t)rnd(s));
	ip->frag_off = htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = src->sin_addr.s_addr;
	ip->daddr = dst->sin_addr.s_addr;
	tcp->source = src->sin_port;
	tcp->dest = dst->sin_port;
	tcp->seq = htonl(rnd(s));
	if (kind_flags[k] & 0x10)
		tcp->ack_seq = htonl(rnd(s));
	tcp->doff = 5;
	p[sizeof(*ip) + 13] = kind_flags[k];
	tcp->window = htons(k == K_SYN ? 64240 : 502);
	sum = inet_pseudo4_sum(ip->saddr, ip->daddr, IPPROTO_TCP, sizeof(*tcp));
	tcp->check = inet_csum_fold(inet_csum_add(sum, tcp, sizeof(*tcp)));
	/* The kernel fills in the IP checksum of an IP_HDRINCL datagram. */
	s->to[s->n] = *dst;
	s->n++;
	if (s->n == BATCH)
		flush(s);
}

static unsigned int parse_kinds(const char *arg)
{
	char buf[128], *tok, *save = NULL;
	unsigned int mask = 0;
	int k;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < K_MAX && strcmp(tok, kind_names[k]); k++)
			;
		if (k == K_MAX)
			die("unknown kind '%s' (rst, rstack, syn, ack, fin)", tok);
		mask |= 1U << k;
	}
	return mask;
}

static void spray_init(struct spray *s, uint64_t seed)
{
	int one = 1, size = 4 << 20, i;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (s->fd < 0)
		die("raw socket: %s (needs CAP_NET_RAW)", strerror(errno));
	setsockopt(s->fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	for (i = 0; i < BATCH; i++) {
		s->iov[i].iov_base = s->pkt[i];
		s->iov[i].iov_len = SEG_LEN;
		s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
		s->msgs[i].msg_hdr.msg_iovlen = 1;
		s->msgs[i].msg_hdr.msg_name = &s->to[i];
		s->msgs[i].msg_hdr.msg_namelen = sizeof(s->to[i]);
	}
	s->rng = seed ? seed : (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32);
	if (!s->rng)
		s->rng = 1;
}

static void report(const char *mode, struct spray *s, uint64_t t0)
{
	double secs = (double)(mono_ns() - t0) / 1e9;

	printf("{\"mode\":\"%s\",\"sent\":%llu,\"failed\":%llu,\"seconds\":%.3f,\"rate\":%.0f}\n",
	       mode, (unsigned long long)s->sent, (unsigned long long)s->failed, secs,
	       secs > 0 ? (double)s->sent / secs : 0.0);
}

static void usage(void)
{
	fprintf(stderr,
		"Usage: tcpspray spray --dst ADDR:PORT --tuples FILE [--kinds K,...] [-n N]\n"
		"       tcpspray sweep --src ADDR:PORT --dst ADDR --ports LO-HI [--kinds K,...] "
		"[-n N]\n"
		"       tcpspray flood --dst ADDR:PORT --src-net ADDR/LEN --rate N --seconds S "
		"[-n MAX]\n"
		"       K := { rst | rstack | syn | ack | fin }; [--seed N] for repeatable numbers\n");
	exit(2);
}

struct args {
	const char *mode, *tuples, *src, *dst, *ports, *net;
	unsigned int kinds;
	unsigned long n, rate;
	double seconds;
	uint64_t seed;
};

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "dst", required_argument, NULL, 'd' },   { "src", required_argument, NULL, 's' },
		{ "tuples", required_argument, NULL, 't' }, { "kinds", required_argument, NULL, 'k' },
		{ "ports", required_argument, NULL, 'p' }, { "src-net", required_argument, NULL, 'N' },
		{ "rate", required_argument, NULL, 'r' },  { "seconds", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'x' },  { NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	a->kinds = 1U << K_RST;
	a->n = 1;
	if (argc < 2)
		usage();
	a->mode = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': a->dst = optarg; break;
		case 's': a->src = optarg; break;
		case 't': a->tuples = optarg; break;
		case 'k': a->kinds = parse_kinds(optarg); break;
		case 'p': a->ports = optarg; break;
		case 'N': a->net = optarg; break;
		case 'r': a->rate = strtoul(optarg, NULL, 10); break;
		case 'S': a->seconds = strtod(optarg, NULL); break;
		case 'x': a->seed = strtoull(optarg, NULL, 0); break;
		case 'n': a->n = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc || !a->dst)
		usage();
}

static void do_spray(struct spray *s, const struct args *a)
{
	struct sockaddr_in dst, src;
	char line[128];
	unsigned long i;
	FILE *f;
	int k;

	parse_tuple(a->dst, &dst, true);
	check_dst(&dst);
	if (!a->tuples)
		usage();
	f = fopen(a->tuples, "r");
	if (!f)
		die("%s: %s", a->tuples, strerror(errno));
	while (fgets(line, sizeof(line), f) && s->sent + s->n < MAX_SENDS) {
		line[strcspn(line, " \r\n")] = '\0';
		if (!line[0])
			continue;
		parse_tuple(line, &src, true);
		for (k = 0; k < K_MAX; k++)
			for (i = 0; (a->kinds & (1U << k)) && i < a->n; i++)
				add(s, &src, &dst, (enum kind)k);
	}
	fclose(f);
	flush(s);
}

static void do_sweep(struct spray *s, const struct args *a)
{
	struct sockaddr_in dst, src;
	unsigned long lo, hi, port, i;
	int k;

	if (!a->src || !a->ports || sscanf(a->ports, "%lu-%lu", &lo, &hi) != 2 || !lo || lo > hi ||
	    hi > 65535)
		usage();
	parse_tuple(a->src, &src, true);
	parse_tuple(a->dst, &dst, false);
	check_dst(&dst);
	for (port = lo; port <= hi && s->sent + s->n < MAX_SENDS; port++) {
		dst.sin_port = htons((uint16_t)port);
		for (k = 0; k < K_MAX; k++)
			for (i = 0; (a->kinds & (1U << k)) && i < a->n; i++)
				add(s, &src, &dst, (enum kind)k);
	}
	flush(s);
}

/* Random-source SYNs at a steady rate, batch by batch, until the time or the count is up. */
static void do_flood(struct spray *s, const struct args *a)
{
	struct sockaddr_in dst, src = { .sin_family = AF_INET };
	unsigned long max = a->n > 1 ? a->n : MAX_SENDS;
	uint64_t t0 = mono_ns(), end, due;
	uint32_t base, mask;
	char net[64], *slash;
	unsigned long len;
	int i;

	parse_tuple(a->dst, &dst, true);
	check_dst(&dst);
	if (!a->net || !a->rate || a->seconds <= 0 || a->seconds > 600)
		usage();
	snprintf(net, sizeof(net), "%s", a->net);
	slash = strchr(net, '/');
	len = slash ? strtoul(slash + 1, NULL, 10) : 32;
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, net, &base) != 1 || len < 8 || len > 32)
		die("--src-net '%s' is not ADDR/LEN (LEN 8-32)", a->net);
	mask = len == 32 ? 0 : 0xffffffffu >> len;
	end = t0 + (uint64_t)(a->seconds * 1e9);
	while (s->sent + s->failed < max) {
		uint64_t now = mono_ns();

		if (now >= end)
			break;
		/* Pace by batches: the batch is due when the rate says so. */
		due = t0 + (s->sent + s->failed) * 1000000000ULL / a->rate;
		if (due > now) {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(due - now) };

			if (due - now > 200000)
				nanosleep(&ts, NULL);
			continue;
		}
		for (i = 0; i < BATCH; i++) {
			src.sin_addr.s_addr = htonl((ntohl(base) & ~mask) | (rnd(s) & mask));
			src.sin_port = htons((uint16_t)(1024 + rnd(s) % 64000));
			add(s, &src, &dst, K_SYN);
		}
	}
	flush(s);
}

int main(int argc, char **argv)
{
	struct spray *s = malloc(sizeof(*s));
	struct args a;
	uint64_t t0;

	if (!s)
		die("out of memory");
	parse_args(argc, argv, &a);
	spray_init(s, a.seed);
	t0 = mono_ns();
	if (!strcmp(a.mode, "spray"))
		do_spray(s, &a);
	else if (!strcmp(a.mode, "sweep"))
		do_sweep(s, &a);
	else if (!strcmp(a.mode, "flood"))
		do_flood(s, &a);
	else
		usage();
	report(a.mode, s, t0);
	close(s->fd);
	free(s);
	return 0;
}
