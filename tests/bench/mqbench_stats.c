// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench's measurements: CPU samples taken at the edges of the measured
 * window (the machine from /proc/stat, one process from /proc/PID/stat, BPF
 * programs' run time from bpf_prog_info), broker RSS, and the report.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "mqbench.h"

/* All CPUs' busy ticks; *irq gets the part spent in hard and soft interrupts. */
static uint64_t read_busy_ticks(uint64_t *irq)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	/* user nice system idle iowait irq softirq steal: busy is all but idle, iowait */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) != 8)
		v[0] = v[1] = v[2] = v[5] = v[6] = v[7] = 0;
	fclose(f);
	*irq = v[5] + v[6];
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

static uint64_t read_proc_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return 0;
	return ut + st;
}

void take_sample(struct bench *b, struct sample *s)
{
	int i;

	s->t_ns = mono_ns();
	s->busy_ticks = read_busy_ticks(&s->irq_ticks);
	s->self_ticks = read_proc_ticks(getpid());
	s->proc_ticks = b->o.cpu_pid ? read_proc_ticks(b->o.cpu_pid) : 0;
	s->pids_ticks = 0;
	for (i = 0; i < b->o.npids; i++)
		s->pids_ticks += read_proc_ticks(b->o.pids[i]);
	s->bpf_ns = s->bpf_cnt = 0;
	for (i = 0; i < b->o.nbpf; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (b->bpf_fd[i] >= 0 && !bpf_obj_get_info_by_fd(b->bpf_fd[i], &info, &len)) {
			s->bpf_ns += info.run_time_ns;
			s->bpf_cnt += info.run_cnt;
		}
	}
}

long rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

uint64_t expected(const struct bench *b)
{
	uint64_t sent = 0;
	int i;

	if (b->o.scenario == MQB_SEED)	/* each publisher owes exactly one message */
		return (uint64_t)b->npub * (uint64_t)b->fan;
	for (i = 0; i < b->npub; i++)
		sent += b->pubs[i].sent;
	return sent * (uint64_t)b->fan;
}

void report(struct bench *b, long rss0, long rss1)
{
	double win = (double)(b->t_end - b->t_start) / 1e9, tck = (double)sysconf(_SC_CLK_TCK);
	double machine_ms = (double)(b->s1.busy_ticks - b->s0.busy_ticks) * 1000.0 / tck;
	double proc_ms = (double)(b->s1.proc_ticks - b->s0.proc_ticks) * 1000.0 / tck;
	/*
	 * The machine is shared: what this run costs is its own processes, not
	 * whatever else was busy. Their times already hold the interrupt and
	 * softirq work (forwarding, XDP) that ran while they were on the CPU,
	 * ksoftirqd's included: the kernel charges a tick spent in softirq to
	 * the current task's system time as well as to /proc/stat's softirq
	 * field, so adding that field too would count it twice. irq_ms is
	 * reported apart, for reference.
	 */
	double run_ms = (double)(b->s1.self_ticks - b->s0.self_ticks + b->s1.proc_ticks -
				 b->s0.proc_ticks + b->s1.pids_ticks - b->s0.pids_ticks) * 1000.0 /
			tck;
	double irq_ms = (double)(b->s1.irq_ticks - b->s0.irq_ticks) * 1000.0 / tck;
	uint64_t bpf_ns = b->s1.bpf_ns - b->s0.bpf_ns, bpf_cnt = b->s1.bpf_cnt - b->s0.bpf_cnt;
	const char *name = mqb_scenario_names[b->o.scenario];
	bool cr = b->o.scenario == MQB_CONN_RATE, idle = b->o.scenario == MQB_IDLE;
	uint64_t exp = cr || idle ? 0 : expected(b);
	double rate;
	uint32_t p50, p99;

	if (b->o.scenario == MQB_SEED)
		b->count = b->delivered;
	rate = win > 0 ? (double)b->count / win : 0;
	mqb_sort_u32(b->lat.v, b->lat.n);
	p50 = mqb_percentile(b->lat.v, b->lat.n, 50);
	p99 = mqb_percentile(b->lat.v, b->lat.n, 99);
	if (b->o.json) {
		printf("{\"scenario\":\"%s\",\"qos\":%d,\"payload\":%d,\"publishers\":%d,"
		       "\"subscribers\":%d,\"connections\":%llu,\"window\":%d,\"target_rate\":%.1f,"
		       "\"window_s\":%.3f,\"count\":%llu,"
		       "\"rate\":%.1f,\"unit\":\"%s\",\"p50_us\":%u,\"p99_us\":%u,\"max_us\":%u,"
		       "\"latency_samples\":%llu,"
		       "\"delivered\":%llu,\"expected\":%llu,\"duplicates\":%llu,\"lost\":%llu,"
		       "\"probes\":%llu,\"errors\":%llu,"
		       "\"timed_out\":%s,\"machine_cpu_ms\":%.1f,\"run_cpu_ms\":%.1f,"
		       "\"irq_cpu_ms\":%.1f",
		       name, b->o.qos, b->o.payload, b->npub, b->nsub,
		       (unsigned long long)b->opened, b->o.window, b->o.rate, win,
		       (unsigned long long)b->count, rate, cr ? "conn/s" : "msg/s", p50, p99,
		       b->lat.max, (unsigned long long)b->lat.seen, (unsigned long long)b->delivered,
		       (unsigned long long)exp, (unsigned long long)b->dups,
		       (unsigned long long)b->lost, (unsigned long long)b->probes,
		       (unsigned long long)b->errors, b->timed_out ? "true" : "false", machine_ms,
		       run_ms, irq_ms);
		if (b->o.cpu_pid)
			printf(",\"proc_cpu_ms\":%.1f", proc_ms);
		if (b->o.nbpf)
			printf(",\"bpf_run_ns\":%llu,\"bpf_run_cnt\":%llu",
			       (unsigned long long)bpf_ns, (unsigned long long)bpf_cnt);
		if (idle)
			printf(",\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,\"bytes_per_conn\":%.0f",
			       rss0, rss1, (double)(rss1 - rss0) * 1024.0 / b->nsub);
		printf("}\n");
		return;
	}
	printf("%s: qos %d, payload %d B, %d publishers, %d subscribers, %llu connections\n",
	       name, b->o.qos, b->o.payload, b->npub, b->nsub, (unsigned long long)b->opened);
	if (idle) {
		printf("  broker RSS %ld kB -> %ld kB: %.0f B per connection\n", rss0, rss1,
		       (double)(rss1 - rss0) * 1024.0 / b->nsub);
	} else {
		printf("  rate %.0f %s over %.2f s; latency p50 %u us, p99 %u us, max %u us\n",
		       rate, cr ? "conn/s" : "msg/s", win, p50, p99, b->lat.max);
	}
	printf("  machine CPU %.0f ms (this run's processes %.0f ms; interrupts %.0f ms)", machine_ms,
	       run_ms, irq_ms);
	if (b->o.cpu_pid)
		printf(", pid %d %.0f ms", b->o.cpu_pid, proc_ms);
	if (bpf_cnt)
		printf(", BPF %.1f ms over %llu runs (%.0f ns/run)", bpf_ns / 1e6,
		       (unsigned long long)bpf_cnt, (double)bpf_ns / (double)bpf_cnt);
	printf("\n  errors %llu%s\n", (unsigned long long)b->errors,
	       b->timed_out ? ", stopped by -t" : "");
	if (!cr && !idle && (b->lost || b->probes))
		printf("  lost %llu (sequence numbers skipped: the broker dropped them), %llu probes\n",
		       (unsigned long long)b->lost, (unsigned long long)b->probes);
	/* Last, in the form 'make demo' ends with (README.md), so a script can tail -1 it. */
	if (!cr && !idle)
		printf("delivered: %llu/%llu duplicates: %llu\n", (unsigned long long)b->delivered,
		       (unsigned long long)exp, (unsigned long long)b->dups);
}
