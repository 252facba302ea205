/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqbroker: one context (struct broker) passed to every function, one
 * struct client per TCP connection, one struct session per client id.
 * A session outlives its connection when the client asked for clean
 * session 0 [MQTT-3.1.2-4].
 */
#ifndef MQBROKER_H
#define MQBROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "conf.h"
#include "evloop.h"
#include "mqtt_codec.h"
#include "siphash.h"

#define MQBROKER_VERSION	"0.1.0"
#define BROKER_MAX_LISTENERS	16
/* Sockets of all listeners: a block without an address opens one per family. */
#define BROKER_MAX_SOCKETS	64
#define BROKER_READ_SCRATCH	(64 * 1024)
/*
 * Unsent output to one connection (client.c). At BROKER_OUT_LIMIT the
 * broker stops reading from it, QoS 0 to it is dropped and QoS 1/2 waits
 * in its session queue. Nothing should then add more than a few packets;
 * a packet added with BROKER_OUT_HARD already pending closes it, and so
 * does output that stays over the limit with nothing written for
 * BROKER_OUT_STALL_S (a client that never reads).
 */
#define BROKER_OUT_LIMIT	(1024 * 1024)
#define BROKER_OUT_HARD		(4 * BROKER_OUT_LIMIT)
#define BROKER_OUT_STALL_S	60
/* Counted from accept, whatever the client sends meanwhile. */
#define BROKER_CONNECT_TIMEOUT_MS 5000
/*
 * Mosquitto 2.0's TOPIC_HIERARCHY_LIMIT: a topic or filter with more '/'
 * than this is refused. It also bounds every recursion over the topic
 * tree (subs.c), whose depth would otherwise be the client's to choose.
 */
#define BROKER_TOPIC_MAX_SEPARATORS 200
/*
 * SUBSCRIBE and UNSUBSCRIBE are handled in slices of this much time, the
 * loop serving other connections in between (sub_job.c).
 */
#define BROKER_SLICE_NS		(2 * 1000 * 1000)
/*
 * Output to one connection waits for before_sleep to be written in one
 * batch, but not longer than this: past it, what is pending is written
 * between two events of the same loop iteration (client.c).
 */
#define BROKER_OUT_HOLD_NS	(50 * 1000)
#define BROKER_FD_SETSIZE	65536

/* ---- configuration (conf.c, conf_listener.c) ---- */

/*
 * Mosquitto's security options: one set for the whole broker, or one per
 * listener when per_listener_settings is true (conf_listener.c routes
 * each directive to the set in force where it appears).
 */
struct sec_conf {
	char *password_file;		/* NULL: no authentication (auth.c) */
	char *acl_file;			/* NULL: every client may do everything (acl.c) */
	char *auto_id_prefix;		/* NULL: "auto-" */
	bool allow_anonymous;
	bool allow_zero_length_clientid;
};

/*
 * One 'listener PORT [ADDRESS]' block: the directives after it, up to the
 * next 'listener', are its own (Mosquitto's grammar). Without ADDRESS, or
 * with a name, it may open several sockets (IPv4 and IPv6).
 */
/*
 * A listener's TLS directives, Mosquitto's names. certfile and keyfile
 * make it a TLS listener; cafile/capath verify client certificates.
 */
struct tls_conf {
	char *cafile, *capath, *certfile, *keyfile, *crlfile;
	char *ciphers;			/* TLS 1.2 and below, OpenSSL's list syntax */
	char *ciphers_tls13;		/* ciphers_tls1.3 */
	char *tls_version;		/* tlsv1.3, tlsv1.2, tlsv1.1: that version only */
	bool require_certificate;
	bool use_identity_as_username;	/* the certificate's CN is the user name */
	bool use_subject_as_username;	/* its whole subject (RFC 2253) is */
};

struct listener_conf {
	char *host;			/* NULL: every address */
	uint16_t port;
	uint8_t family;			/* socket_domain: AF_UNSPEC, AF_INET, AF_INET6 */
	bool proxy_v2;			/* enable_proxy_protocol 2: a PROXY v2 header first */
	/* listener_allow_anonymous: this listener's own answer, whatever the security options say */
	bool anon_set;
	bool anon;
	int lineno;			/* of 'listener', for errors found at the end */
	struct sec_conf sec;		/* per_listener_settings true */
	struct tls_conf tls;		/* certfile set: a TLS listener (tls.c) */
};

enum log_dest_bits {
	LOGD_STDERR = 1 << 0,
	LOGD_STDOUT = 1 << 1,
	LOGD_SYSLOG = 1 << 2,
	LOGD_TOPIC = 1 << 3,
	LOGD_FILE = 1 << 4,
	LOGD_NONE = 1 << 5,
};

enum log_type_bits {
	LOGT_ERROR = 1 << 0,
	LOGT_WARNING = 1 << 1,
	LOGT_NOTICE = 1 << 2,
	LOGT_INFO = 1 << 3,
	LOGT_DEBUG = 1 << 4,
	LOGT_SUBSCRIBE = 1 << 5,
	LOGT_UNSUBSCRIBE = 1 << 6,
	LOGT_WEBSOCKETS = 1 << 7,
	LOGT_ALL = 0xff,
};

/* Bridges (bridge_conf.c): one per 'connection' block, Mosquitto's grammar. */
#define BRIDGE_MAX_ADDRS	8
#define BRIDGE_MAX_TOPICS	64

enum bridge_dir {
	BRIDGE_OUT = 1 << 0,	/* local publications go to the remote */
	BRIDGE_IN = 1 << 1,	/* remote publications come in */
	BRIDGE_BOTH = BRIDGE_OUT | BRIDGE_IN,
};

struct bridge_addr {
	char *host;
	uint16_t port;
};

/*
 * 'topic PATTERN DIR QOS LOCAL_PREFIX REMOTE_PREFIX', as Mosquitto applies
 * it: the local side sees LOCAL_PREFIX + PATTERN, the remote side
 * REMOTE_PREFIX + PATTERN; an empty PATTERN ("") means the prefix alone.
 */
struct bridge_topic {
	char *local;		/* local filter: local prefix + pattern */
	char *remote;		/* remote filter: remote prefix + pattern */
	char *local_prefix;	/* "" when none */
	char *remote_prefix;
	uint8_t dir;		/* BRIDGE_* */
	uint8_t qos;
};

struct bridge_conf {
	char *name;
	struct bridge_addr addrs[BRIDGE_MAX_ADDRS];
	int naddrs;
	struct bridge_topic topics[BRIDGE_MAX_TOPICS];
	int ntopics;
	uint32_t restart_base_s;	/* first retry delay */
	uint32_t restart_cap_s;		/* backoff ceiling; == base: constant */
	bool notifications;
	char *notification_topic;	/* NULL: $SYS/broker/connection/<id>/state */
	bool cleansession;
	bool try_private;
	uint8_t protocol_level;		/* MQTT_PROTO_V31 or MQTT_PROTO_V311 */
	char *remote_clientid;		/* NULL: <hostname>.<name> */
	char *remote_username;
	char *remote_password;
	uint16_t keepalive_s;
	bool attempt_unsubscribe;	/* UNSUBSCRIBE 'out' topics on the remote at connect */
	bool outgoing_retain;		/* false: the retain flag is cleared on what goes out */
	/* bridge_cafile or bridge_capath: over TLS, the remote's certificate verified */
	char *tls_cafile, *tls_capath, *tls_certfile, *tls_keyfile, *tls_version;
	bool tls_insecure;		/* bridge_insecure: its host name not checked */
	int lineno;			/* of 'connection', for errors found at the end */
};

struct broker_conf {
	struct listener_conf *listeners;
	int nlisteners;
	/*
	 * Mosquitto's default listener: the deprecated 'port' and
	 * 'bind_address', and listener directives given before any
	 * 'listener'. Opened when one of those appeared (port 1883 unless
	 * 'port' says otherwise).
	 */
	struct listener_conf def;
	bool has_def;
	int cur_listener;		/* while parsing: the block in force, -1: def */
	bool per_listener_settings;
	bool sec_set;			/* a security directive was seen (ordering check) */
	int def_sec_lineno;		/* first per-listener option before any 'listener' */
	char *def_sec_file;		/* and its file */
	struct sec_conf sec;		/* per_listener_settings false */
	char **bridge_users;		/* password_file users trusted as remote bridges */
	int nbridge_users;
	int include_depth;		/* include_dir nesting while parsing */
	int64_t max_connections;	/* -1: unlimited */
	uint32_t max_inflight_messages;	/* 0: unlimited */
	uint64_t max_inflight_bytes;	/* 0: unlimited */
	uint32_t max_queued_messages;	/* 0: unlimited */
	uint64_t max_queued_bytes;	/* 0: unlimited */
	uint32_t message_size_limit;	/* 0: protocol maximum */
	uint32_t max_packet_size;	/* 0: protocol maximum */
	uint32_t max_keepalive;		/* 0: any; only applies when max_keepalive_set */
	bool max_keepalive_set;
	uint64_t memory_limit;		/* bytes, 0: none */
	uint64_t persistent_client_expiration_s; /* 0: never */
	uint32_t sys_interval;		/* seconds, 0: off */
	unsigned int log_dest;		/* LOGD_* (0: default stderr) */
	char *log_file;
	unsigned int log_type;		/* LOGT_* (0: default) */
	bool log_type_set;
	bool connection_messages;
	bool log_timestamp;
	bool set_tcp_nodelay;
	bool upgrade_outgoing_qos;	/* deliver at the subscription's QoS (Mosquitto's) */
	bool check_retain_source;	/* a retained message goes out only while its publisher may write it */
	bool retain_available;		/* false: no retained messages at all */
	bool queue_qos0_messages;	/* QoS 0 queued for offline persistent sessions too */
	bool persistence;		/* save and restore sessions and retained (store.c) */
	char *persistence_location;	/* directory; NULL: the working directory */
	char *persistence_file;		/* NULL: mqbroker.db */
	uint32_t autosave_interval;	/* s, or changes with autosave_on_changes; 0: at exit only */
	bool autosave_on_changes;
	char *user;
	char *pid_file;
	struct bridge_conf *bridges;
	int nbridges;
};

void broker_conf_init(struct broker_conf *c);
void broker_conf_free(struct broker_conf *c);
/* 0, or -errno with err = "FILE:LINE: reason". */
int broker_conf_parse_file(struct broker_conf *c, const char *path, char *err);
int broker_conf_parse_string(struct broker_conf *c, const char *name, const char *text, char *err);

/* conf_listener.c: the listener blocks and the security options, for conf.c's table. */
int conf_kw_listener(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err);
int conf_kw_port(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err);
int conf_kw_bind_address(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			 char *err);
/* A directive of the current listener block: kw->off is an offset into struct listener_conf. */
int conf_kw_listener_field(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			   char *err);
int conf_kw_socket_domain(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			  char *err);
int conf_kw_enable_proxy_protocol(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
				  char *err);
int conf_kw_per_listener_settings(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
				  char *err);
int conf_kw_listener_allow_anonymous(void *obj, const struct conf_kw *kw,
				     const struct conf_line *ln, char *err);
/* A security option: kw->off is an offset into struct sec_conf, set in the one in force. */
int conf_kw_sec(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err);
/* What only the whole file can tell about listeners. */
int listener_conf_check(struct broker_conf *c, const char *name, char *err);
void sec_conf_init(struct sec_conf *s);
void sec_conf_free(struct sec_conf *s);
void listener_conf_free(struct listener_conf *l);
/* The security options a client of l is under (l NULL: an outgoing bridge). */
const struct sec_conf *sec_conf_of(const struct broker_conf *c, const struct listener_conf *l);
/* conf_include.c: DIR/\*.conf in Mosquitto's order; the count, or -errno. */
int conf_dir_files(const char *dir, char ***files);
/* conf_unsupported.c: the catch-all of conf.c's table ("'X' is not supported"). */
int conf_kw_unknown(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err);

/* bridge_conf.c: the 'connection' block's keyword parsers for conf.c's table. */
int bridge_kw_connection(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			 char *err);
int bridge_kw(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err);
/* Checks only possible once the file is read (an address and a topic per connection). */
int bridge_conf_check(struct broker_conf *c, const char *name, char *err);
void bridge_conf_free(struct broker_conf *c);

/* ---- memory (mem.c): what memory_limit counts ---- */

/*
 * Every allocation whose number or size a client decides (connections,
 * their buffers, sessions, subscriptions, tree nodes, messages and the
 * queues that hold them) goes through a budget, charged with the size
 * malloc really gave. Fixed start-up state is not counted.
 */
struct mem_budget {
	size_t used;		/* counted only while there is a limit */
	size_t limit;		/* 0: none */
	uint64_t refused;	/* allocations refused because of the limit */
};

/* The counted paths (mem.c), for a budget with a limit. */
void *mem_alloc_counted(struct mem_budget *m, size_t n);
void *mem_zalloc_counted(struct mem_budget *m, size_t n);
void *mem_realloc_counted(struct mem_budget *m, void *p, size_t n);
void mem_free_counted(struct mem_budget *m, void *p);

/*
 * NULL when malloc fails or the limit would be passed (errno ENOMEM either
 * way). Without a limit these are malloc and free themselves: inline, as
 * every message goes through them.
 */
static inline void *mem_alloc(struct mem_budget *m, size_t n)
{
	return m && m->limit ? mem_alloc_counted(m, n) : malloc(n);
}

static inline void *mem_zalloc(struct mem_budget *m, size_t n)
{
	return m && m->limit ? mem_zalloc_counted(m, n) : calloc(1, n);
}

/* On failure p is left as it was. */
static inline void *mem_realloc(struct mem_budget *m, void *p, size_t n)
{
	return m && m->limit ? mem_realloc_counted(m, p, n) : realloc(p, n);
}

static inline void mem_free(struct mem_budget *m, void *p)
{
	if (m && m->limit)
		mem_free_counted(m, p);
	else
		free(p);
}

/*
 * Bytes for a struct whose last member is a flexible char array holding n
 * bytes: from that member's offset, not from sizeof, which adds the
 * struct's tail padding (malloc rounds to 16: the difference is a chunk
 * size for many of the small nodes and sessions of idle clients).
 */
#define FLEX_SIZE(type, member, n) \
	(offsetof(type, member) + (n) > sizeof(type) ? offsetof(type, member) + (n) : sizeof(type))

/* ---- messages (msg.c): refcounted, shared by every queue that holds them ---- */

struct msg {
	uint32_t refcnt;	/* 0: borrowed view into a read buffer, never kept */
	uint32_t payload_len;
	uint16_t topic_len;
	uint8_t qos;		/* QoS it was published with */
	uint32_t origin;	/* link_id of the bridge link it came over; 0: local */
	uint64_t origin_peer;	/* broker id at the far end of that link; 0: unknown */
	const char *topic;
	const uint8_t *payload;
	char data[];
};

struct msg *msg_new(struct mem_budget *mem, const char *topic, uint16_t tlen, const void *payload,
		    uint32_t plen, uint8_t qos);
/*
 * Owned copy of m when m is borrowed; otherwise a new reference. mem is the
 * budget it is charged to, the same for msg_put(). Not kept in the msg: 8
 * more bytes took a 64-byte QoS 1 message out of glibc's fast bins.
 */
struct msg *msg_hold(struct mem_budget *mem, struct msg *m);
void msg_put(struct mem_budget *mem, struct msg *m);
/* Same topic and payload. */
bool msg_same(const struct msg *a, const struct msg *b);

/* ---- topic tree (subs.c) and topic checks (topic.c) ---- */

struct session;

/*
 * A subscription is one entry in its node's array and one in its
 * session's, each holding the other's index, so removing it is O(1) from
 * either side (subs.c).
 */
struct sub_ent {
	struct session *s;
	uint32_t sidx;			/* in s->subs */
	uint8_t qos;
};

/* Who published a retained message, for check_retain_source (retain.c). */
struct retain_src {
	const struct security *sec;
	char *user;			/* NULL: anonymous */
	char id[];
};

struct tnode {
	struct tnode *parent;
	struct tnode *hnext;		/* edge hash chain */
	struct tnode *child;		/* first child (enumeration) */
	struct tnode *sib_next, *sib_prev;
	struct sub_ent *subs;
	uint32_t nsubs, subs_cap;
	struct msg *retained;
	struct retain_src *rsrc;	/* check_retain_source: who published retained */
	uint32_t nchild;		/* few: found by a scan of the list, not by hashing */
	uint32_t hash;
	uint16_t len;
	uint8_t wild;			/* TNODE_HAS_*: which wildcard children exist */
	char name[];
};

/* Most levels have no wildcard child: then matching does not even look for one. */
#define TNODE_HAS_PLUS	(1 << 0)
#define TNODE_HAS_HASH	(1 << 1)

struct topic_tree {
	struct tnode *root;
	struct tnode **buckets;
	uint32_t nbuckets, nnodes;
	struct siphash_key key;		/* random: level names come from clients */
	uint64_t plus_h, hash_h;	/* the keyed hashes of "+" and "#" */
	struct mem_budget *mem;
};

bool topic_name_valid(const char *t, size_t len);
bool topic_filter_valid(const char *f, size_t len);
/* A topic under $SYS that clients may not publish to (Mosquitto's rule). */
bool topic_sys_denied(const char *t, size_t len);
/* Pure reference matcher, used by tests and kept in step with subs.c. */
bool topic_matches(const char *filter, size_t flen, const char *topic, size_t tlen);

/* mem may be NULL (nothing counted). */
int tree_init(struct topic_tree *t, struct mem_budget *mem);
void tree_free(struct topic_tree *t);
/*
 * Node for a filter or topic, created when create is set; NULL if absent,
 * out of memory, or deeper than BROKER_TOPIC_MAX_SEPARATORS.
 */
struct tnode *tree_get(struct topic_tree *t, const char *path, size_t len, bool create);
/* Drop nodes that hold nothing, from n upwards. */
void tree_prune(struct topic_tree *t, struct tnode *n);

struct match_ctx {
	struct sub_ent *v;
	uint32_t n, cap;
	uint32_t gen;
	struct mem_budget *mem;
};

/* Collect every session subscribed to topic, one entry each at its highest QoS. */
int sub_match(struct topic_tree *t, struct match_ctx *mc, const char *topic, size_t len);
/* 1 when added, 0 when an existing subscription's QoS was replaced, -errno. */
int sub_add(struct topic_tree *t, struct session *s, const char *filter, size_t len,
	    uint8_t qos);
/* 0, or -ENOENT when s had no such subscription. */
int sub_remove(struct topic_tree *t, struct session *s, const char *filter, size_t len);
void sub_remove_all(struct topic_tree *t, struct session *s);
/* Call fn on every node with a retained message, '$' topics included. */
void retain_each(struct topic_tree *t, void (*fn)(void *arg, const struct tnode *n), void *arg);
/* The filter or topic n stands for, NUL-terminated in buf; its length, 0 if cap is too small. */
size_t tree_path(const struct tnode *n, char *buf, size_t cap);
/* Call fn on every node with a retained message whose topic matches filter. */
void retain_walk(struct topic_tree *t, const char *filter, size_t len,
		 void (*fn)(void *arg, const struct tnode *n), void *arg);

/* The QoS a message of qos goes out at to a subscription of sub_qos [MQTT-3.8.4-6]. */
static inline uint8_t deliver_qos(bool upgrade, uint8_t qos, uint8_t sub_qos)
{
	return upgrade || sub_qos < qos ? sub_qos : qos;
}

/* ---- sessions (session.c) ---- */

enum inflight_state {
	INF_WAIT_ACK,	/* QoS 1: PUBACK; QoS 2: PUBREC */
	INF_WAIT_COMP,	/* QoS 2: PUBREL sent, waiting for PUBCOMP */
};

struct inflight {
	struct msg *m;	/* NULL once PUBREC released it */
	uint16_t pid;
	uint8_t qos;
	uint8_t state;
	bool retain;
};

/*
 * An inbound QoS 2 message between PUBLISH and PUBREL (qos2_in.c): kept,
 * and delivered on PUBREL, as Mosquitto does. Open addressing on the id.
 */
struct qos2_slot {
	struct msg *m;
	uint16_t pid;
	bool used;
	bool retain;
};

struct queued {
	struct msg *m;
	uint16_t pid;		/* drawn when it was queued, as Mosquitto does; 0: QoS 0 */
	uint8_t qos;
	bool retain;
};

struct sess_sub {
	struct tnode *node;
	uint32_t nidx;			/* in node->subs */
	uint8_t qos;
};

struct client;

/* What a session is to the bridge loop rule (bridge.c). */
enum session_link {
	LINK_NONE,	/* an ordinary client */
	LINK_IN,	/* a client that set MQTT_PROTO_BRIDGE_BIT: a remote bridge */
	LINK_OUT,	/* the local end of one of our own 'connection's */
};

#define SESS_PID_BUCKETS 32

struct session {
	struct session *hnext;
	struct client *client;		/* NULL while offline */
	struct sess_sub *subs;
	uint32_t *sub_index;		/* node -> subs index + 1, once nsubs grows (subs.c) */
	struct inflight *inf;		/* ring, in send order: inf_at() */
	struct queued *q;		/* ring: q_at() */
	struct qos2_slot *q2;		/* inbound QoS 2 awaiting PUBREL */
	uint64_t *peer_nbrs;		/* the brokers it is bridged to */
	char *username;			/* of its last connection, for acl_file; NULL: none */
	const struct security *sec;	/* that connection's; NULL: one of our bridges */
	uint64_t inf_bytes;		/* payload bytes in flight (max_inflight_bytes) */
	uint64_t q_bytes;		/* payload bytes queued (max_queued_bytes) */
	uint64_t offline_since_ms;
	uint64_t peer_id;		/* mqbroker at the far end (bridge_peer.c); 0: unknown */
	uint64_t dropped;		/* messages for it dropped (queue bound, link down) */
	uint32_t hash;
	uint32_t nsubs, subs_cap, sub_index_cap;
	uint32_t inf_head, ninf, inf_cap;	/* inf_cap and q_cap: powers of two */
	uint32_t resend_pos;		/* window positions resend_pos.. to re-send after a reconnection */
	uint32_t q_head, q_count, q_cap;
	uint32_t nq2, q2_cap;
	uint32_t match_gen, match_idx;
	uint32_t link_id;		/* non-zero for bridge links */
	uint32_t npeer_nbrs;
	uint16_t id_len;
	uint16_t next_pid;
	bool clean;
	uint8_t link;			/* LINK_* */
	/*
	 * The loop rule may use what this link says (bridge hellos): our own
	 * connections, and remote bridges that authenticated as a bridge_user
	 * on the connection they are on now (never carried over from an
	 * offline session).
	 */
	bool trusted;
	char id[];			/* client id, NUL-terminated */
};

/*
 * How many ids in the window fall in each pid % SESS_PID_BUCKETS (255:
 * that many or more, until the window empties): an id drawn for a new
 * message is looked for in the window only when its bucket is not empty,
 * which with windows of up to SESS_PID_BUCKETS sequential ids is never.
 * Kept past the end of the window's array, so a session that never had a
 * QoS 1/2 message in flight pays nothing for them.
 */
static inline uint8_t *inf_pid_count(const struct session *s)
{
	return (uint8_t *)(s->inf + s->inf_cap);
}

/* The i-th message of the window (0: the oldest) and of the queue. */
static inline struct inflight *inf_at(const struct session *s, uint32_t i)
{
	return &s->inf[(s->inf_head + i) & (s->inf_cap - 1)];
}

static inline struct queued *q_at(const struct session *s, uint32_t i)
{
	return &s->q[(s->q_head + i) & (s->q_cap - 1)];
}

/* ---- connections (client.c) ---- */

#define CEV_READ	(1 << 0)	/* reading from it */
#define CEV_WRITE	(1 << 1)	/* its kernel buffer was full: waiting for room */
#define TLS_READ_WANTS_WRITE	(1 << 0)	/* SSL_read needs the socket writable */
#define TLS_WRITE_WANTS_READ	(1 << 1)	/* SSL_write needs input (a handshake) */

/* Why a connection is to be closed at the next safe point (client_doom()). */
enum client_doom {
	DOOM_NONE,
	DOOM_OUT_HARD,		/* output over b->out_hard */
	DOOM_OUT_MEM,		/* no memory for its output (memory_limit) */
	DOOM_MSG_MEM,		/* no memory for its messages (memory_limit) */
};

enum client_state {
	CS_PROXY,	/* enable_proxy_protocol 2: waiting for the PROXY v2 header */
	CS_NEW,		/* waiting for CONNECT */
	CS_CONNECTED,
	CS_CLOSED,	/* freed in before_sleep */
};

struct will {
	struct msg *m;
	struct mem_budget *mem;
	uint8_t qos;
	bool retain;
};

/* A peer's address: what accept() or connect() gave (addr.c). */
struct peer_addr {
	uint8_t ip[16];			/* IPv4: the first 4 bytes */
	uint16_t port;			/* network order */
	uint8_t family;			/* AF_INET or AF_INET6; 0: none (a socketpair) */
};

/* "1.2.3.4:5", "[2001:db8::1]:5". */
#define PEER_ADDRSTR_LEN 56

struct auth_table;
struct acl_table;

/*
 * A set of security options in force (the global one, or one listener's
 * with per_listener_settings) and what was loaded from its files.
 */
struct security {
	const struct sec_conf *conf;
	struct auth_table *auth;	/* password_file; NULL: none */
	struct acl_table *acl;		/* acl_file; NULL: none */
};

/* One listening socket; a listener block may open several (IPv4 and IPv6). */
struct listener {
	struct broker *b;
	int fd;
	const struct listener_conf *conf;
	struct security *sec;		/* of its clients */
	struct peer_addr addr;		/* bound address, for the log */
	struct ssl_ctx_st *tls;		/* SSL_CTX of a TLS listener, else NULL */
};

struct bridge;
struct bridge_resolver;

struct client {
	struct broker *b;
	struct bridge *bridge;		/* our outgoing bridge connection, else NULL */
	struct client *next, *prev;	/* b->clients */
	struct client *dirty_next;	/* b->dirty: has output to flush */
	struct session *sess;
	struct will *will;
	uint8_t *rbuf;			/* partial packet carried between reads */
	uint8_t *wbuf;
	uint32_t rlen, rcap, rneed;
	uint32_t wlen, woff, wcap;	/* at most 2 GiB: reserve checks in size_t */
	struct sub_job *job;		/* a SUBSCRIBE or UNSUBSCRIBE being handled in slices */
	/* Accept time until CS_CONNECTED (the CONNECT deadline), then the last packet's. */
	uint64_t last_rx_ms;
	uint32_t last_tx_s;		/* output last progressed, or was seen not full, in s */
	struct listener *lst;		/* accepted on; NULL: an outgoing bridge */
	int fd;
	struct peer_addr peer;
	uint16_t keepalive;
	uint8_t state;
	uint8_t level;
	uint8_t doom;			/* DOOM_*: close at the next safe point, and why */
	bool dirty;
	uint8_t ev;			/* CEV_*: what its epoll mask holds now */
	bool ev_in;			/* EV_READ in that mask (reading, or TLS needs input) */
	bool bridge_peer;		/* CONNECT had MQTT_PROTO_BRIDGE_BIT (try_private) */
	bool bridge_user;		/* authenticated as one of conf.bridge_users */
	bool hello_heard;		/* our bridge: the remote sent a hello, it is an mqbroker */
	bool no_retain_out;		/* our bridge with bridge_outgoing_retain false */
	uint8_t tls_wants;		/* TLS_*_WANTS_*: the record layer waits for the other way */
	struct ssl_st *ssl;		/* a TLS connection (tls.c), else NULL */
	/* b->tls_pending: decrypted input OpenSSL holds that epoll cannot announce */
	struct client *tls_next, *tls_prev;
	bool tls_queued;
};

/* ---- the broker context ---- */

struct broker_stats {
	uint64_t msgs_received, msgs_sent;
	uint64_t pub_received, pub_sent, pub_dropped;
	uint64_t bytes_received, bytes_sent;
	uint64_t connections_total;
	uint64_t pub_denied;		/* clients' PUBLISH to $SYS, or refused by acl_file, dropped */
	uint64_t pub_oversize;		/* over message_size_limit, dropped */
	uint32_t clients_connected, clients_max;
};

struct broker {
	struct broker_conf conf;
	struct ev_loop *loop;
	struct listener listeners[BROKER_MAX_SOCKETS];
	int nlisteners;
	struct security sec;		/* global; every client's without per_listener_settings */
	bool acl_on;			/* some set has an acl_file: deliveries are checked */
	/* per_listener_settings: conf.listeners[i]'s at i, the default listener's last */
	struct security lsec[BROKER_MAX_LISTENERS + 1];
	struct client *clients;		/* every open connection */
	struct client *dirty;		/* FIFO: flushed oldest first */
	struct client *dirty_tail;
	uint64_t dirty_since_ns;	/* when the oldest pending output was committed */
	uint64_t out_hold_ns;		/* BROKER_OUT_HOLD_NS; tests change it */
	uint32_t out_limit, out_hard;	/* BROKER_OUT_LIMIT, BROKER_OUT_HARD; tests change */
	uint32_t out_stall_s;		/* BROKER_OUT_STALL_S */
	uint64_t slice_ns;		/* BROKER_SLICE_NS */
	struct sub_job *jobs;		/* SUBSCRIBE/UNSUBSCRIBE in slices, served in turn */
	long long job_timer;		/* runs the jobs while there are any; 0: none */
	struct client *closed;		/* freed after the current iteration */
	struct client *tls_pending;	/* to read again before sleeping (tls.c) */
	/*
	 * The topic a PUBLISH of m carries over one of our bridge connections
	 * (c->bridge set): bridge.c sets it when it starts the bridges, so the
	 * sending layer never calls up into bridge code.
	 */
	struct mqtt_str (*bridge_topic_out)(struct client *c, const struct msg *m);
	uint32_t nclients;
	struct session **sess_buckets;
	uint32_t sess_nbuckets, nsessions;
	struct siphash_key id_key;	/* client ids come from clients: keyed hash */
	struct mem_budget mem;
	struct topic_tree tree;
	struct match_ctx match;
	uint32_t nretained;
	uint32_t nsubscriptions;
	uint64_t next_auto_id;
	uint64_t start_ms;
	uint64_t last_sys_ms;
	uint64_t accept_paused_until;	/* ms; 0 when accepting */
	uint8_t *scratch;		/* BROKER_READ_SCRATCH bytes */
	struct bridge *bridges;		/* one per conf.bridges */
	int nbridges;
	struct bridge_resolver *resolver; /* host names off the loop; NULL until needed */
	uint32_t next_link_id;
	uint64_t id;			/* random, names this broker to mqbroker peers */
	struct broker_stats st;
	struct log_dest *log;		/* log_dest other than stderr (logdest.c) */
	struct store *store;		/* persistence true (store.c); NULL: off */
	uint64_t store_changes;		/* since the last save */
};

/* broker.c */
int broker_init(struct broker *b);
void broker_fini(struct broker *b);
/*
 * Route a message to every matching subscriber and, if retain, store it
 * [MQTT-3.3.1-5]. -ENOMEM when a borrowed m could not be kept (the
 * publisher is then disconnected, as memory_limit says).
 */
int broker_publish(struct broker *b, struct msg *m, bool retain);
/* The same for a message a client published: src is its session (check_retain_source). */
int broker_publish_from(struct broker *b, struct msg *m, bool retain, const struct session *src);
/* Publish a message the broker makes itself ($SYS, will, log). */
void broker_publish_str(struct broker *b, const char *topic, const void *payload, uint32_t plen,
			uint8_t qos, bool retain);
/* src: the publisher's session, or NULL for the broker's own and bridged messages. */
void retain_store(struct broker *b, struct msg *m, const struct session *src);
/* May the retained message of n go to s (acl_file read, check_retain_source)? */
bool retain_readable(struct broker *b, const struct tnode *n, const struct session *s);
void retain_src_free(struct tnode *n);
/* Persistence: the publisher of m, the retained message of its topic; 0 or -ENOMEM. */
int retain_src_restore(struct broker *b, const struct msg *m, const struct security *sec,
		       const char *id, const char *user, uint16_t user_len);

/* session.c */
struct session *session_find(struct broker *b, const char *id, size_t len);
struct session *session_new(struct broker *b, const char *id, size_t len, bool clean);
void session_free(struct broker *b, struct session *s);
void session_deliver(struct broker *b, struct session *s, struct msg *m, uint8_t qos, bool retain);
/* Move queued messages into the in-flight window while there is room. */
void session_pump(struct broker *b, struct session *s);
/*
 * Re-send unacknowledged PUBLISH (DUP) and PUBREL, in order [MQTT-4.4.0-1],
 * as output room allows (session_pump() goes on with the rest).
 */
void session_resend(struct broker *b, struct session *s);
int session_ack(struct broker *b, struct session *s, uint8_t type, uint16_t pid);
void session_expire(struct broker *b);
/* Drop the messages waiting for s that its ACL no longer lets it read (a new connection). */
void session_acl_recheck(struct broker *b, struct session *s);
/* Persistence: put back one in-flight message (m NULL after PUBREC) or one queued; 0 or -ENOMEM. */
int session_restore_inflight(struct broker *b, struct session *s, uint16_t pid, uint8_t qos,
			     uint8_t state, bool retain, struct msg *m);
int session_restore_queued(struct broker *b, struct session *s, uint16_t pid, uint8_t qos,
			   bool retain, struct msg *m);
/* The largest in-flight window (max_inflight_messages; 0 means 65535). */
uint32_t session_inflight_max(const struct broker *b);

/* qos2_in.c: inbound QoS 2 between PUBLISH and PUBREL, O(1) by packet id */
struct qos2_slot *qos2_in_find(const struct broker *b, const struct session *s, uint16_t pid);
/* Keep m (a reference is taken) until PUBREL; -ENOSPC past max_inflight_messages. */
int qos2_in_store(struct broker *b, struct session *s, uint16_t pid, struct msg *m, bool retain);
/* Replace the message of a slot (a re-used id with other content). */
void qos2_in_replace(struct broker *b, struct qos2_slot *slot, struct msg *m, bool retain);
/* Forget pid; its message (the caller's reference now), or NULL when unknown. */
struct msg *qos2_in_release(struct broker *b, struct session *s, uint16_t pid, bool *retain);
void qos2_in_free(struct broker *b, struct session *s);

/* listener.c */
/* Every socket of a listener block (its address resolved, or each family); 0 or -errno. */
int listener_open(struct broker *b, const struct listener_conf *lc, struct security *sec);
/* One socket on sa; 0 or -errno. */
int listener_open_sa(struct broker *b, const struct sockaddr *sa, socklen_t len,
		     const struct listener_conf *lc, struct security *sec);
/* Out of descriptors: stop accepting for a moment (-errno says why). */
void listener_pause(struct broker *b, int err);
void listener_tick(struct broker *b);

/* addr.c */
void peer_addr_set(struct peer_addr *p, const struct sockaddr *sa);
const char *peer_addr_fmt(const struct peer_addr *p, char *buf, size_t len);

/* proxy_v2.c: the PROXY protocol v2 header, parsed */
#define PROXY_V2_HDR_LEN	16
/* Addresses and TLVs: far more than mqlb or HAProxy send, far less than a read. */
#define PROXY_V2_MAX_BODY	2048

struct proxy_v2_info {
	bool local;			/* LOCAL: the balancer's own connection */
	struct peer_addr src, dst;	/* PROXY: the client, and the address it reached */
};

/*
 * Look at the len bytes read so far: the header's length once it is all
 * there (*out filled), 0 while they are the start of one, -EBADMSG with
 * *why set when they cannot be one.
 */
long proxy_v2_parse(const uint8_t *buf, size_t len, struct proxy_v2_info *out, const char **why);

/* security.c: the password files (and ACLs) of each set of security options */
/* Load what every set in use names; 0, or -errno with err "FILE:LINE: reason". */
int security_load(struct broker *b, char *err);
void security_free(struct broker *b);
/* SIGHUP: read every password_file and acl_file again; a bad one keeps its old table. */
void security_reload(struct broker *b);
/* Listener block idx's set (BROKER_MAX_LISTENERS: the default listener's). */
struct security *security_of_listener(struct broker *b, int idx);
static inline struct security *client_security(const struct client *c)
{
	return c->lst ? c->lst->sec : &c->b->sec;
}
/*
 * May the holder of this id and user name (NULL: anonymous) under sec have
 * access (ACL_READ, ACL_WRITE) to topic? Always, without an acl_file or
 * for our own bridges (sec NULL), as Mosquitto lets bridges through.
 */
bool security_allows(const struct security *sec, const char *id, const char *user,
		     const char *topic, size_t len, unsigned int access);
static inline bool session_may(const struct session *s, const char *topic, size_t len,
			       unsigned int access)
{
	return !s->sec || !s->sec->acl || security_allows(s->sec, s->id, s->username, topic, len,
							   access);
}

/* client.c */
void client_accept(struct broker *b, struct listener *lst);
/*
 * Register a connected socket as a new connection (CS_NEW) from peer,
 * accepted on lst (NULL: an outgoing bridge); NULL with errno set.
 */
struct client *client_attach(struct broker *b, int fd, const struct sockaddr *peer,
			     struct listener *lst);
/* Close a connection; abnormal closes publish the will [MQTT-3.1.2-8]. */
void client_close(struct client *c, bool abnormal, const char *why);

/*
 * tls.c: OpenSSL on the event loop. Connections read and write through
 * conn_read()/conn_write(), which are read(2)/write(2) on a plain one; on
 * a TLS one the handshake runs inside them, non-blocking, and an -1 with
 * EAGAIN may mean the other direction is awaited (c->tls_wants).
 */
int tls_listener_ctx(const struct listener_conf *lc, struct ssl_ctx_st **ctx, char *err,
		     size_t errlen);
int tls_bridge_ctx(const struct bridge_conf *bc, struct ssl_ctx_st **ctx, char *err,
		   size_t errlen);
void tls_ctx_free(struct ssl_ctx_st *ctx);
int tls_attach(struct client *c, struct ssl_ctx_st *ctx, const char *server_name,
	       bool verify_name);
void tls_detach(struct client *c);
ssize_t conn_read(struct client *c, void *buf, size_t len);
ssize_t conn_write(struct client *c, const void *buf, size_t len);
/* Why the last conn_read/conn_write of c failed (errno, or OpenSSL's reason). */
const char *conn_error(const struct client *c, int err);
/* Decrypted input waits in OpenSSL: read it before sleeping, epoll will not say. */
void tls_check_pending(struct client *c);
void tls_unqueue(struct client *c);
void tls_run_pending(struct broker *b);
/* use_identity_as_username / use_subject_as_username: into buf, or -EACCES. */
int tls_peer_name(const struct client *c, bool subject, char *buf, size_t len,
		  const char **why);
/*
 * Close c at the next safe point (client_flush_all()): for callers that
 * may be inside a walk over sessions, which closing now could free.
 */
void client_doom(struct client *c, enum client_doom why);
static inline uint32_t client_out_pending(const struct client *c)
{
	return c->wlen - c->woff;
}
/* Output at or over b->out_limit: no more reading, QoS 0 dropped, QoS 1/2 queued. */
static inline bool client_out_full(const struct client *c)
{
	return client_out_pending(c) >= c->b->out_limit;
}
/* Pending bytes past which a write is tried at once rather than at before_sleep. */
#define CLIENT_OUT_EAGER (64 * 1024)
/* client.c: the cases client_out_reserve() and client_out_commit() do not inline. */
uint8_t *client_out_reserve_slow(struct client *c, size_t n);
void client_out_commit_slow(struct client *c);
/*
 * Room for n more output bytes; NULL when out of memory or when
 * b->out_hard bytes are already pending (c is then doomed). Inline:
 * it runs once per packet sent, and nearly always finds the room.
 */
static inline uint8_t *client_out_reserve(struct client *c, size_t n)
{
	if (!c->doom && client_out_pending(c) < c->b->out_hard && (size_t)c->wcap - c->wlen >= n)
		return c->wbuf + c->wlen;
	return client_out_reserve_slow(c, n);
}
/* The n bytes written at client_out_reserve()'s pointer are to be sent. */
static inline void client_out_commit(struct client *c, size_t n)
{
	uint32_t pending;

	c->wlen += (uint32_t)n;
	pending = client_out_pending(c);
	if (!c->dirty || pending >= CLIENT_OUT_EAGER || pending >= c->b->out_limit)
		client_out_commit_slow(c);
}
/* Read from c when nothing holds it back (a job, full output); epoll mask from state. */
void client_update_events(struct client *c);
/* Handle what was carried over in c->rbuf, as after a read (when a job ends). */
void client_resume(struct client *c);
void client_flush_all(struct broker *b);
void client_free_closed(struct broker *b);
void client_housekeeping(struct broker *b);
const char *client_name(const struct client *c, char *buf, size_t len);

/* send.c */
int send_packet(struct client *c, const struct mqtt_packet *pkt);
int send_connack(struct client *c, bool session_present, uint8_t rc);
int send_ack(struct client *c, uint8_t type, uint16_t pid);
int send_publish(struct client *c, const struct msg *m, uint8_t qos, uint16_t pid, bool retain,
		 bool dup);

/* read_handle.c */
/*
 * Parse and handle every complete packet in buf (up to one that starts a
 * sub_job); bytes consumed, or -1 if c was closed.
 */
long read_handle(struct client *c, const uint8_t *buf, size_t len);
/* Close c for a handler's -errno, with the one log line naming the reason. */
void read_handle_fail(struct client *c, int err, uint8_t type);

/* handle_*.c: 0 or -errno (read_handle.c maps it to a reason and closes) */
int handle_connect(struct client *c, const struct mqtt_connect *p);
int handle_publish(struct client *c, const struct mqtt_publish *p);
/*
 * SUBSCRIBE and UNSUBSCRIBE, decoded here rather than by the codec so that
 * a packet of any size is handled in slices (sub_job.c): 0 when done,
 * -EINPROGRESS when a job goes on (reading from c stops until it ends).
 */
int handle_sub_packet(struct client *c, uint8_t type, const uint8_t *body, uint32_t len);
int handle_pingreq(struct client *c);
int handle_disconnect(struct client *c);
int handle_ack(struct client *c, uint8_t type, uint16_t pid);

/* sub_job.c */
void sub_job_free(struct client *c);
/* handle_subscribe.c, handle_unsubscribe.c: one filter each, for the job */
struct sub_job;
int subscribe_one(struct client *c, const struct mqtt_topic_req *req, uint8_t *rc);
void subscribe_retained(struct client *c, const struct mqtt_topic_req *req);
void unsubscribe_one(struct client *c, const struct mqtt_topic_req *req);

/* escape.c: client-chosen text made fit for a log line */
/* Printable ASCII and UTF-8 kept, controls as \xNN, cut at cap with "..."; returns buf. */
const char *log_esc(const void *s, size_t len, char *buf, size_t cap);

/* will.c */
int will_set(struct client *c, const struct mqtt_connect *p);
/* s: the session of the client whose will it is (NULL: none left). */
void will_publish(struct broker *b, struct will *w, const struct session *s);
void will_free(struct will *w);

/* bridge.c */
/* Start every configured connection (first attempt at once); 0 or -errno. */
int bridge_start_all(struct broker *b);
void bridge_fini(struct broker *b);
/* $SYS/broker/bridge/NAME/...: state and counters of each connection. */
void bridge_sys_publish(struct broker *b);
/* A packet from the remote end of one of our connections (read_handle.c). */
int bridge_handle(struct client *c, const struct mqtt_packet *pkt);
/* The connection of c->bridge closed. */
void bridge_on_close(struct client *c);
/* bridge_topic.c: pure helpers, unit-tested */
/*
 * Map topic to the other side through the first 'topic' line of direction
 * dir (BRIDGE_OUT: local to remote; BRIDGE_IN: remote to local) whose
 * pattern matches it: one prefix off, the other on. Length written to out
 * (not NUL-terminated), -ENOENT when no line matches, -ENAMETOOLONG.
 */
long bridge_remap(const struct bridge_conf *bc, uint8_t dir, const char *topic, size_t len,
		  char *out, size_t cap);
/* Delay before attempt number attempt + 1 (attempt 0 follows the first failure). */
uint64_t bridge_backoff_ms(const struct bridge_conf *bc, uint32_t attempt, unsigned int *seed);

/*
 * bridge_resolve.c: bridge host names resolved by a short-lived thread
 * that only calls getaddrinfo(); the answer comes back through the loop.
 */
struct bridge_lookup;
/* sa is NULL when the name did not resolve, and why says why. */
typedef void (*bridge_resolved_fn)(void *arg, const struct sockaddr_in *sa, const char *why);
/* NULL with errno set. */
struct bridge_resolver *bridge_resolver_new(struct ev_loop *l);
/* Pending lookups are abandoned: their callbacks never run. */
void bridge_resolver_free(struct bridge_resolver *r);
/* A numeric IPv4 address, converted without any lookup: 0, or -EINVAL for a name. */
int bridge_resolve_numeric(const char *host, uint16_t port, struct sockaddr_in *sa);
/* cb runs on the loop once host is resolved or not; NULL with errno set (EAGAIN: too many). */
struct bridge_lookup *bridge_resolve_start(struct bridge_resolver *r, const char *host,
					   uint16_t port, bridge_resolved_fn cb, void *arg);
/* The caller gives up on lk: cb will not run, the late answer is freed when it comes. */
void bridge_resolve_cancel(struct bridge_lookup *lk);

/* bridge_peer.c: which mqbroker is at the far end of each link, and its links. */
#define BRIDGE_HELLO_TOPIC "$SYS/broker/mqbroker/bridge-hello"
void bridge_hello_send(struct broker *b, struct client *c);
/* A link came up or went down: tell every link what we are bridged to now. */
void bridge_hello_all(struct broker *b);
/* true when p was a hello and is consumed. */
bool bridge_hello_recv(struct broker *b, struct session *s, const struct mqtt_publish *p);
bool bridge_peer_linked(const struct session *s, uint64_t id);

/*
 * Loop rule (bridge.c): may m, which came over a bridge link, go to
 * session s? Not back, not out over our own connections, and not to a
 * remote bridge that is itself bridged to the message's origin broker.
 */
static inline bool bridge_may_deliver(const struct msg *m, const struct session *s)
{
	if (!m->origin)
		return true;
	if (s->link == LINK_OUT || s->link_id == m->origin)
		return false;
	return !(s->link == LINK_IN && m->origin_peer && bridge_peer_linked(s, m->origin_peer));
}

/* store*.c: persistence (store.h has the file format) */
struct store_stats {
	uint64_t sessions, subs, retained, msgs, inflight, queued, qos2_in, dropped;
	uint64_t bytes;
};
struct store;
/*
 * Load the persistence file into b, at start (after broker_init, before
 * the listeners and bridges). A missing file is an empty start. A file
 * that cannot be taken (torn, corrupt, another version, not ours) stops
 * the start with the reason, unless discard: then it is renamed
 * FILE.bad-SECONDS and mqbroker starts empty, saying so. 0 or -errno.
 */
int store_open(struct broker *b, bool discard);
/* After privileges are dropped: the directory must take the temporary file; 0 or -errno. */
int store_check_writable(struct broker *b);
/* The 1 s tick: autosave_interval seconds, or changes with autosave_on_changes. */
void store_tick(struct broker *b);
/* Save now in the background (SIGUSR1); why goes into the log line. */
void store_save(struct broker *b, const char *why);
/* Shutdown: wait for the save under way, then save once more and fsync, in this thread. */
void store_close(struct broker *b);
/* A change to what is saved (sessions, subscriptions, messages, retained). */
static inline void store_changed(struct broker *b)
{
	b->store_changes++;
}
/* store_write.c: the state as one buffer, format version 1; *len: a size hint (0: none). */
int store_serialize(struct broker *b, uint8_t **buf, size_t *len, uint64_t now_wall_ms,
		    struct store_stats *st);
/* store_read.c: a whole, sound file into b, or nothing (err: the reason). */
int store_load(struct broker *b, const uint8_t *p, size_t len, uint64_t now_wall_ms,
	       struct store_stats *st, char *err, size_t errlen);

/* sys.c */
void sys_publish(struct broker *b);

/* logdest.c: log_dest and log_type, through log.c's sink hook */
int log_dest_open(struct broker *b);
/* Publish the lines buffered for $SYS/broker/log (before_sleep only). */
void log_dest_flush(struct broker *b);
void log_dest_close(struct broker *b);
/* SIGHUP: open log_dest file again (logrotate moved it); 0 or -errno, the old fd kept. */
int log_dest_reopen(struct broker *b);
bool log_subscribe_enabled(const struct broker *b);

#endif
