/* SPDX-License-Identifier: GPL-2.0 */
/* mqlbd.conf: the daemon's settings, parsed by the shared table-driven parser. */
#ifndef MQLBD_CONFIG_H
#define MQLBD_CONFIG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqlb_abi.h"
#include "conf.h"
#include "log.h"

#define BACKEND_NAME_LEN 32

enum xdp_attach_mode {
	XDP_ATTACH_AUTO = 0, /* native, else generic */
	XDP_ATTACH_NATIVE,
	XDP_ATTACH_GENERIC,
};

enum health_kind {
	HEALTH_MQTT = 0,
	HEALTH_TCP,
	HEALTH_NONE,
};

#define HEALTH_USER_LEN      128
#define HEALTH_PASSWORD_LEN  256
#define HEALTH_PATH_LEN      256
#define HEALTH_CID_PFX_LEN   24
#define HEALTH_CID_PFX_DEFAULT "mqlb-hc-"

/*
 * Fixed arrays rather than pointers: the struct is copied into the checker
 * and compared with memcmp() on reload, and a changed password file must
 * count as a change.
 */
struct health_conf {
	enum health_kind kind;
	uint32_t interval_ms;
	uint32_t timeout_ms;
	uint32_t rise;
	uint32_t fall;
	char user[HEALTH_USER_LEN];           /* empty: CONNECT without a user name */
	char password_file[HEALTH_PATH_LEN];  /* empty: no password */
	char password[HEALTH_PASSWORD_LEN];   /* the file's first line; never logged */
	char client_id_prefix[HEALTH_CID_PFX_LEN]; /* checks log in as PREFIX + backend name */
};

struct backend_conf {
	char name[BACKEND_NAME_LEN];
	struct sockaddr_in addr;
	uint32_t weight;
	bool disabled;
	bool proxy_v2;  /* send a PROXY protocol v2 header before the client's stream */
	int line; /* where it was declared, for later errors */
};

enum balance_kind {
	BALANCE_ROUNDROBIN = 0,
	BALANCE_CLIENT_ID,  /* Maglev over the CONNECT's client id, delayed binding */
};

struct mqlbd_config {
	const char *path;
	struct sockaddr_in vip;
	bool have_vip;
	char ifname[IF_NAMESIZE];
	char backend_ifname[IF_NAMESIZE]; /* empty: same as ifname */
	struct in_addr snat;
	bool have_snat;
	uint32_t snat_port_min; /* inclusive, host order */
	uint32_t snat_port_max;
	enum xdp_attach_mode xdp_mode;
	char *pin_path;
	uint32_t flow_table_size;
	uint32_t idle_timeout_ms;
	uint32_t syn_timeout_ms;
	uint32_t close_timeout_ms;
	uint32_t fin_wait_timeout_ms;   /* one side sent FIN, not yet acknowledged */
	uint32_t close_wait_timeout_ms; /* one side's FIN acknowledged, the other's not sent */
	enum balance_kind balance;
	uint64_t hash_seed;             /* balance client-id: the same on every balancer node */
	uint32_t limit_per_source;      /* live flows of one client address (0: no limit) */
	uint32_t rate_per_source;       /* new flows a second of one client address (0: no limit) */
	struct health_conf health;
	bool on_down_keep;  /* on-down keep (default reset) */
	bool strict;        /* strict: reset flows whose first payload is not a CONNECT */
	bool persist;       /* SIGTERM leaves XDP attached and the maps pinned */
	char *control;      /* control socket path */
	char *stats_addr;   /* stats ADDR:PORT (NULL: no stats listener) */
	char *stats_user;   /* basic auth, both or neither */
	char *stats_password;
	enum log_target log_target; /* log auto|stderr|journal|syslog */
	int nbackends;
	struct backend_conf backends[MQLB_MAX_BACKENDS];
};

#define CONF_DEFAULT_SNAT_PORT_MIN 10000
#define CONF_DEFAULT_SNAT_PORT_MAX 32767

void config_init(struct mqlbd_config *c);
void config_free(struct mqlbd_config *c);
/*
 * Parse and validate a whole file. On failure returns -errno and err holds
 * "FILE:LINE: reason" (or "FILE: reason" for what no single line causes).
 */
int config_load(struct mqlbd_config *c, const char *path, char *err);
int config_load_string(struct mqlbd_config *c, const char *name, const char *text, char *err);

const char *config_backend_ifname(const struct mqlbd_config *c);
/* Whether new connections are bound late (client-id, or a backend that wants PROXY v2). */
bool config_delayed_binding(const struct mqlbd_config *c);
const char *health_kind_name(enum health_kind k);
bool config_valid_backend_name(const char *s);

#endif
