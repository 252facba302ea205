// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "health.h"
#include "log.h"
#include "mqtt_codec.h"
#include "netutil.h"

/* Jitter: first checks spread over 10% of the interval, each next one up to 10% early. */
static uint32_t jitter(struct health *h, uint32_t span)
{
	h->seed = h->seed * 1103515245u + 12345u;
	return span ? (h->seed >> 8) % span : 0;
}

static void probe_close(struct probe *pr)
{
	if (pr->fd >= 0) {
		ev_del(pr->h->loop, pr->fd);
		close(pr->fd);
	}
	pr->fd = -1;
	pr->stage = PROBE_IDLE;
	pr->got = 0;
}

static int probe_timer(struct ev_loop *l, long long id, void *arg);

static void probe_schedule(struct probe *pr, uint64_t delay_ms)
{
	struct health *h = pr->h;
	long long t;

	if (pr->timer > 0)
		ev_timer_del(h->loop, pr->timer);
	pr->timer = 0;
	t = ev_timer_add(h->loop, delay_ms, probe_timer, pr);
	if (t > 0)
		pr->timer = t;
	else
		pr_warn("health: can't schedule a check: %s\n", strerror((int)-t));
}

/*
 * Checks are paced start to start, so a check that waited for its timeout
 * does not push the next one back. While a backend is changing state (a
 * failure on an up backend, a success on a down one) the next check comes
 * after half the interval (HAProxy's fastinter idea): a dead broker is then
 * out of rotation well within fall x interval + timeout of its death.
 */
static uint64_t next_delay(struct probe *pr, bool ok, uint64_t now)
{
	struct health *h = pr->h;
	const struct pool_backend *b = &h->pool->be[pr->id];
	uint32_t iv = h->conf.interval_ms;
	bool changing = ok ? b->health != HEALTH_UP : b->health != HEALTH_DOWN;
	uint64_t period = changing ? iv / 2 : iv;
	/* Jitter only ever shortens the period, so the detection bound holds. */
	uint64_t due = pr->started_ms + period - jitter(h, (uint32_t)(period / 10) + 1);

	return due > now ? due - now : 0;
}

static void probe_done(struct probe *pr, bool ok, const char *msg)
{
	struct health *h = pr->h;
	uint64_t now = mono_ms();
	uint32_t latency_us = (uint32_t)(mono_us() - pr->started_us);

	probe_close(pr);
	/*
	 * A backend that never came up changes no state when its checks fail
	 * (unknown counts as down), so the state-change log would say nothing.
	 */
	if (!ok && h->pool->be[pr->id].health == HEALTH_UNKNOWN && !pr->reported_down) {
		pr_warn("backend %s: health check failed (%s): out of rotation until it passes\n",
			h->pool->be[pr->id].name, msg);
		pr->reported_down = true;
	}
	pool_check_result(h->pool, pr->id, ok, latency_us, msg, now * 1000000ULL);
	probe_schedule(pr, next_delay(pr, ok, now));
	h->on_result(h->arg);
}

/*
 * A backend that expects a PROXY v2 header (backend ... proxy-v2) gets one
 * before the check, with the LOCAL command and no addresses: the
 * connection is the balancer's own, as HAProxy's check-send-proxy says.
 * Returns its length.
 */
static size_t put_proxy_local(const struct pool_backend *b, uint8_t *buf)
{
	static const uint8_t sig[12] = MQLB_PROXY_V2_SIG;

	if (!b->proxy_v2)
		return 0;
	memcpy(buf, sig, sizeof(sig));
	buf[12] = 0x20; /* version 2, LOCAL */
	buf[13] = 0x00; /* AF_UNSPEC */
	buf[14] = 0;    /* no address block */
	buf[15] = 0;
	return 16;
}

/* health tcp: connected, then only the PROXY header if the backend wants one. */
static int send_proxy_only(struct probe *pr)
{
	uint8_t buf[16];
	size_t n = put_proxy_local(&pr->h->pool->be[pr->id], buf);

	if (n && send(pr->fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
		return errno ? -errno : -EIO;
	return 0;
}

/*
 * MQTT 3.1.1 CONNECT: clean session, keep-alive 10 s, client id PREFIX +
 * backend name so that brokers' logs can tell checks from clients, and
 * the configured login.
 */
static int send_connect(struct probe *pr)
{
	const struct pool_backend *b = &pr->h->pool->be[pr->id];
	const struct health_conf *hc = &pr->h->conf;
	char cid[HEALTH_CID_PFX_LEN + BACKEND_NAME_LEN];
	uint8_t buf[16 + 64 + HEALTH_USER_LEN + HEALTH_PASSWORD_LEN + sizeof(cid)];
	size_t off = put_proxy_local(b, buf);
	struct mqtt_packet pkt;
	long n;
	int err = 0;

	snprintf(cid, sizeof(cid), "%s%s", hc->client_id_prefix, b->name);
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_CONNECT;
	pkt.connect.proto_name = mqtt_str_c("MQTT", 4);
	pkt.connect.level = 4;
	pkt.connect.clean = true;
	pkt.connect.keepalive = 10;
	pkt.connect.client_id = mqtt_str_c(cid, strlen(cid));
	if (hc->user[0]) {
		pkt.connect.has_username = true;
		pkt.connect.username = mqtt_str_c(hc->user, strlen(hc->user));
	}
	if (hc->password[0]) {
		pkt.connect.has_password = true;
		pkt.connect.password = mqtt_str_c(hc->password, strlen(hc->password));
	}
	n = mqtt_encode(&pkt, buf + off, sizeof(buf) - off);
	if (n < 0)
		err = (int)n;
	else if (send(pr->fd, buf, off + (size_t)n, MSG_NOSIGNAL) != (ssize_t)(off + (size_t)n))
		err = errno ? -errno : -EIO;
	explicit_bzero(buf, sizeof(buf)); /* the password was in it */
	return err;
}

static const char *connack_reason(uint8_t rc)
{
	static const char *const names[] = {
		"accepted", "unacceptable protocol version", "identifier rejected",
		"server unavailable", "bad user name or password", "not authorized",
	};

	return rc < sizeof(names) / sizeof(names[0]) ? names[rc] : "unknown return code";
}

/* CONNACK 4 and 5: the broker is up and refuses the check's login (see health.h). */
static bool credentials_refused(uint8_t rc)
{
	return rc == 4 || rc == 5;
}

static void log_auth_change(struct probe *pr, uint8_t rc)
{
	const struct pool_backend *b = &pr->h->pool->be[pr->id];
	const struct health_conf *hc = &pr->h->conf;
	bool refused = credentials_refused(rc);
	char addr[NET_ADDRSTR_LEN];

	/* Once per change, and once more after a restart (a reload that did not fix it). */
	if (refused == pr->auth_refused && (!refused || pr->auth_reported))
		return;
	pr->auth_refused = refused;
	pr->auth_reported = refused;
	net_fmt_ipv4_port(b->addr.sin_addr.s_addr, b->addr.sin_port, addr, sizeof(addr));
	if (refused)
		pr_warn("backend %s (%s): broker up, health check credentials refused "
			"(CONNACK %u: %s) for %s%s: fix 'user' or 'password-file' on the health "
			"line (the backend counts as up: clients log in with their own)\n",
			b->name, addr, rc, connack_reason(rc),
			hc->user[0] ? "user " : "no user name",
			hc->user[0] ? hc->user : "");
	else
		pr_info("backend %s (%s): the health check's credentials are accepted again\n",
			b->name, addr);
}

static void probe_read(struct probe *pr)
{
	char msg[MQLB_CHECK_MSG_LEN];
	ssize_t n;
	uint8_t rc;

	n = recv(pr->fd, pr->buf + pr->got, sizeof(pr->buf) - pr->got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		probe_done(pr, false, n == 0 ? "closed before CONNACK" : strerror(errno));
		return;
	}
	pr->got += (uint32_t)n;
	if (pr->got < sizeof(pr->buf))
		return;
	if (pr->buf[0] != 0x20 || pr->buf[1] != 2) {
		probe_done(pr, false, "answer is not a CONNACK");
		return;
	}
	rc = pr->buf[3];
	log_auth_change(pr, rc);
	if (credentials_refused(rc))
		snprintf(msg, sizeof(msg), HEALTH_MSG_AUTH_REFUSED, rc);
	else
		snprintf(msg, sizeof(msg), "CONNACK %u%s%s", rc, rc ? " " : "",
			 rc ? connack_reason(rc) : "");
	if (rc == 0) {
		static const uint8_t disconnect[] = { 0xe0, 0x00 };

		/*
		 * A clean goodbye, so the broker logs a client that disconnected
		 * rather than one that vanished. Best effort: the check has
		 * passed whether or not this goes out. A refused CONNECT gets
		 * none: the broker closes that connection itself.
		 */
		if (send(pr->fd, disconnect, sizeof(disconnect), MSG_NOSIGNAL) < 0)
			pr_debug("health: DISCONNECT: %s\n", strerror(errno));
	}
	probe_done(pr, rc == 0 || credentials_refused(rc), msg);
}

static void probe_io(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct probe *pr = arg;
	socklen_t len = sizeof(int);
	int soerr = 0, err;

	if (pr->stage == PROBE_CONNECTING) {
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		if (soerr) {
			probe_done(pr, false, strerror(soerr));
			return;
		}
		if (pr->h->conf.kind == HEALTH_TCP) {
			err = send_proxy_only(pr);
			probe_done(pr, !err, err ? strerror(-err) : "connected");
			return;
		}
		err = send_connect(pr);
		if (err) {
			probe_done(pr, false, strerror(-err));
			return;
		}
		pr->stage = PROBE_WAIT_CONNACK;
		ev_mod(l, fd, EV_READ);
		return;
	}
	if (pr->stage == PROBE_WAIT_CONNACK)
		probe_read(pr);
}

static void probe_begin(struct probe *pr)
{
	struct health *h = pr->h;
	const struct pool_backend *b = &h->pool->be[pr->id];
	int fd;

	pr->started_ms = mono_ms();
	pr->started_us = mono_us(); /* latency in microseconds; the loop's clock is in ms */
	fd = net_tcp_connect_nb(&b->addr);
	if (fd < 0) {
		probe_done(pr, false, strerror(-fd));
		return;
	}
	pr->fd = fd;
	pr->stage = PROBE_CONNECTING;
	if (ev_add(h->loop, fd, EV_WRITE, probe_io, pr)) {
		probe_done(pr, false, "event loop full");
		return;
	}
	probe_schedule(pr, h->conf.timeout_ms);
}

/* One timer per probe: when idle it starts a check, when running it is the timeout. */
static int probe_timer(struct ev_loop *l, long long id, void *arg)
{
	struct probe *pr = arg;

	pr->timer = 0;
	if (!pr->h->pool->be[pr->id].used) {
		probe_close(pr);
		return EV_TIMER_STOP;
	}
	if (pr->stage == PROBE_IDLE) {
		probe_begin(pr);
		return EV_TIMER_STOP;
	}
	probe_done(pr, false, "timeout");
	return EV_TIMER_STOP;
}

void health_init(struct health *h, struct ev_loop *loop, struct pool *pool,
		 const struct health_conf *conf, void (*on_result)(void *), void *arg)
{
	uint32_t i;

	memset(h, 0, sizeof(*h));
	h->loop = loop;
	h->pool = pool;
	h->conf = *conf;
	h->on_result = on_result;
	h->arg = arg;
	h->seed = (uint32_t)getpid() ^ (uint32_t)mono_ms();
	for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
		h->probes[i].h = h;
		h->probes[i].id = i;
		h->probes[i].fd = -1;
	}
}

void health_stop(struct health *h, uint32_t id)
{
	struct probe *pr = &h->probes[id];

	if (pr->timer > 0)
		ev_timer_del(h->loop, pr->timer);
	pr->timer = 0;
	probe_close(pr);
}

void health_start(struct health *h, uint32_t id)
{
	if (h->conf.kind == HEALTH_NONE || id >= MQLB_MAX_BACKENDS)
		return;
	health_stop(h, id);
	/* A restart (reload, backend re-added) reports what it still finds. */
	h->probes[id].auth_reported = false;
	h->probes[id].reported_down = false;
	probe_schedule(&h->probes[id], 1 + jitter(h, h->conf.interval_ms / 10 + 1));
}

void health_stop_all(struct health *h)
{
	uint32_t i;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		health_stop(h, i);
}

void health_start_all(struct health *h)
{
	uint32_t i;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
		if (h->pool->be[i].used)
			health_start(h, i);
		else
			health_stop(h, i);
	}
}

bool health_first_round_done(const struct health *h)
{
	uint32_t i;

	if (h->conf.kind == HEALTH_NONE)
		return true;
	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		if (h->pool->be[i].used && h->pool->be[i].check_result == MQLB_CHECK_NONE)
			return false;
	return true;
}
