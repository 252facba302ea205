// SPDX-License-Identifier: GPL-2.0
/*
 * SUBSCRIBE and UNSUBSCRIBE of any size without stalling the loop. A
 * packet may carry tens of millions of filters (its remaining length
 * goes up to 256 MiB), so it is worked through in slices of
 * b->slice_ns: first every filter is checked, so that a bad packet
 * changes nothing [MQTT-4.7.3-1]; then each is applied; then the SUBACK
 * or UNSUBACK goes out [MQTT-3.8.4-1]; then, for SUBSCRIBE, the retained
 * messages of each filter follow it [MQTT-3.8.4-3]. A packet done within
 * its first slice (nearly all) costs nothing more. One that is not
 * becomes a job: it keeps the packet's memory (the big-packet buffer is
 * taken over, a small packet is copied), reading from the connection
 * stops, and a loop timer runs one slice per iteration over all jobs in
 * turn, serving every other connection in between. When it ends,
 * client_resume() handles what the connection sent after it.
 *
 * The packet is decoded here rather than by mqtt_decode(), which would
 * walk every filter at once; the walk uses the codec's own
 * mqtt_topic_next(), so the rules are the codec's.
 */
#include <errno.h>
#include <string.h>

#include "broker.h"
#include "clock.h"
#include "log.h"

enum job_phase {
	PH_CHECK,	/* validate every filter, count them */
	PH_APPLY,	/* subscribe or unsubscribe each, then acknowledge */
	PH_RETAINED,	/* SUBSCRIBE: retained messages of each filter */
};

/* Filters between two looks at the clock: far below a slice at any filter size. */
#define JOB_CHECK_EVERY 64

struct sub_job {
	struct client *c;
	struct sub_job *next;	/* b->jobs */
	uint8_t type;		/* MQTT_SUBSCRIBE or MQTT_UNSUBSCRIBE */
	uint8_t phase;
	uint16_t pid;
	uint8_t *owned;		/* the packet memory the job keeps; NULL while borrowed */
	struct pkt_reader it;	/* over the filter list */
	uint32_t count;		/* filters, once checked */
	uint32_t done;		/* filters through the current phase */
	uint8_t *rcs;		/* SUBACK return codes, count of them */
	uint8_t small_rcs[16];
};

static bool time_up(const struct sub_job *j, uint64_t deadline_ns)
{
	return !(j->done % JOB_CHECK_EVERY) && mono_ns() >= deadline_ns;
}

static void restart(struct sub_job *j, enum job_phase ph)
{
	j->phase = ph;
	j->it.pos = 0;
	j->done = 0;
}

static int check_step(struct client *c, struct sub_job *j, uint64_t deadline_ns)
{
	bool sub = j->type == MQTT_SUBSCRIBE;
	struct mqtt_topic_req req;
	int ret;

	while ((ret = mqtt_topic_next(&j->it, sub, &req)) > 0) {
		if (!topic_filter_valid((const char *)req.filter.p, req.filter.len))
			return -EPROTO; /* [MQTT-4.7.1-1]..[MQTT-4.7.1-3], [MQTT-4.7.3-1] */
		j->count++;
		j->done++;
		if (time_up(j, deadline_ns))
			return 0;
	}
	if (ret < 0)
		return -EBADMSG;
	if (sub) {
		j->rcs = j->count <= sizeof(j->small_rcs) ? j->small_rcs
							  : mem_alloc(&c->b->mem, j->count);
		if (!j->rcs)
			return -ENOMEM;
	}
	restart(j, PH_APPLY);
	return 0;
}

static int apply_step(struct client *c, struct sub_job *j, uint64_t deadline_ns)
{
	bool sub = j->type == MQTT_SUBSCRIBE;
	struct mqtt_packet ack = { .type = MQTT_SUBACK };
	struct mqtt_topic_req req;
	int err;

	while (mqtt_topic_next(&j->it, sub, &req) > 0) {
		if (sub)
			subscribe_one(c, &req, &j->rcs[j->done]);
		else
			unsubscribe_one(c, &req);
		j->done++;
		if (time_up(j, deadline_ns))
			return 0;
	}
	if (!sub) {
		/* [MQTT-3.10.4-4], [MQTT-3.10.4-5]: UNSUBACK even when nothing matched. */
		err = send_ack(c, MQTT_UNSUBACK, j->pid);
		return err ? err : 1;
	}
	/* [MQTT-3.9.3-1]: one return code per filter, in order. */
	ack.suback.pid = j->pid;
	ack.suback.count = j->count;
	ack.suback.rcs = j->rcs;
	err = send_packet(c, &ack);
	if (err)
		return err;
	restart(j, PH_RETAINED);
	return 0;
}

static int retained_step(struct client *c, struct sub_job *j, uint64_t deadline_ns)
{
	struct mqtt_topic_req req;

	while (mqtt_topic_next(&j->it, true, &req) > 0) {
		if (j->rcs[j->done] != MQTT_SUBACK_FAILURE)
			subscribe_retained(c, &req);
		j->done++;
		if (time_up(j, deadline_ns))
			return 0;
	}
	return 1;
}

/* 1 when the packet is done, 0 when time is up first, or -errno (close c). */
static int job_run(struct client *c, struct sub_job *j, uint64_t deadline_ns)
{
	int ret;

	do {
		switch (j->phase) {
		case PH_CHECK:
			ret = check_step(c, j, deadline_ns);
			break;
		case PH_APPLY:
			ret = apply_step(c, j, deadline_ns);
			break;
		default:
			ret = retained_step(c, j, deadline_ns);
			break;
		}
	} while (!ret && mono_ns() < deadline_ns);
	return ret;
}

static void job_release(struct mem_budget *mem, struct sub_job *j)
{
	if (j->rcs != j->small_rcs)
		mem_free(mem, j->rcs);
	mem_free(mem, j->owned);
}

void sub_job_free(struct client *c)
{
	struct broker *b = c->b;
	struct sub_job **pp;

	if (!c->job)
		return;
	for (pp = &b->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == c->job) {
			*pp = c->job->next;
			break;
		}
	}
	job_release(&b->mem, c->job);
	mem_free(&b->mem, c->job);
	c->job = NULL;
}

static void jobs_append(struct broker *b, struct sub_job *j)
{
	struct sub_job **pp = &b->jobs;

	while (*pp)
		pp = &(*pp)->next;
	j->next = NULL;
	*pp = j;
}

/* One slice of the job at the head of the list, which then goes to the back. */
static int jobs_tick(struct ev_loop *l, long long id, void *arg)
{
	struct broker *b = arg;
	struct sub_job *j = b->jobs;
	struct client *c;
	int ret;

	if (j) {
		uint8_t type = j->type;

		c = j->c;
		b->jobs = j->next;
		ret = job_run(c, j, mono_ns() + b->slice_ns);
		if (!ret) {
			jobs_append(b, j);
		} else {
			sub_job_free(c);
			if (ret < 0)
				read_handle_fail(c, ret, type);
			else
				client_resume(c); /* may start another job */
		}
	}
	if (b->jobs)
		return 0; /* again at the next iteration, after the loop served the others */
	b->job_timer = 0;
	return EV_TIMER_STOP;
}

/* Keep the job past this packet's handling: its memory, a place in the list, the timer. */
static int job_keep(struct client *c, const struct sub_job *j, const uint8_t *list,
		    uint32_t list_len)
{
	struct broker *b = c->b;
	struct sub_job *h;

	/* First: a timer that finds no job stops by itself, so nothing to undo. */
	if (!b->job_timer) {
		long long t = ev_timer_add(b->loop, 0, jobs_tick, b);

		if (t < 0)
			return (int)t;
		b->job_timer = t;
	}
	h = mem_alloc(&b->mem, sizeof(*h));
	if (!h)
		return -ENOMEM;
	*h = *j;
	if (j->rcs == j->small_rcs)
		h->rcs = h->small_rcs;
	if (c->rbuf && list >= c->rbuf && list < c->rbuf + c->rlen) {
		/* The big-packet buffer: take it over rather than copy megabytes. */
		h->owned = c->rbuf;
		c->rbuf = NULL;
		c->rlen = c->rcap = c->rneed = 0;
	} else {
		/* In the shared scratch buffer, which the next read overwrites. */
		h->owned = mem_alloc(&b->mem, list_len);
		if (!h->owned) {
			mem_free(&b->mem, h);
			return -ENOMEM;
		}
		memcpy(h->owned, list, list_len);
		h->it.p = h->owned;
	}
	h->c = c;
	c->job = h;
	jobs_append(b, h);
	client_update_events(c);
	return -EINPROGRESS;
}

int handle_sub_packet(struct client *c, uint8_t type, const uint8_t *body, uint32_t len)
{
	struct sub_job j = { .type = type };
	int ret;

	if (len < 2)
		return -EBADMSG;
	j.pid = (uint16_t)(body[0] << 8 | body[1]);
	if (!j.pid)
		return -EBADMSG; /* [MQTT-2.3.1-1] */
	j.it = (struct pkt_reader){ body + 2, len - 2, 0 };
	if (!pkt_left(&j.it))
		return -EBADMSG; /* [MQTT-3.8.3-3], [MQTT-3.10.3-2]: at least one filter */
	ret = job_run(c, &j, mono_ns() + c->b->slice_ns);
	if (!ret)
		ret = job_keep(c, &j, body + 2, len - 2);
	if (ret != -EINPROGRESS)
		job_release(&c->b->mem, &j);
	return ret < 0 ? ret : 0;
}
