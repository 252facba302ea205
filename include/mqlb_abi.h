/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqlb_abi.h: the one header shared by the XDP data plane (bpf/) and
 * userspace (mqlbd, mqlb, tests). Map keys and values, counters, state
 * values and pinned names live here and nowhere else, so that both sides
 * can never disagree about a layout.
 *
 * Byte order: fields named *_be are network order, everything else host.
 */
#ifndef MQLB_ABI_H
#define MQLB_ABI_H

#include <linux/types.h>

/* Capacities. */
#define MQLB_MAX_BACKENDS     256
#define MQLB_RING_SIZE        16384   /* slots of the weighted round-robin ring */
#define MQLB_MAX_WEIGHT       256
#define MQLB_DEFAULT_FLOWS    262144  /* flow table entries (config: flow-table-size) */
#define MQLB_SNAT_TRIES       16      /* distinct SNAT port candidates tried per SYN */
#define MQLB_TIME_WAIT_NS     (61ULL * 1000 * 1000 * 1000) /* Linux's 60 s TIME_WAIT, and a margin */
#define MQLB_MAX_IFACES       8
#define MQLB_CLIENT_ID_LEN    32      /* MQTT client id bytes kept per flow */
#define MQLB_MAGLEV_SIZE      65537   /* a prime >= 100 x MQLB_MAX_BACKENDS (balance client-id) */
#define MQLB_MAGLEV_NONE      0xffff  /* a Maglev slot with no backend (none is up) */

/*
 * Pinned names, under the pin path (default /sys/fs/bpf/mqlb). A map's
 * name is the identifier bpf/maps.h declares it with (libbpf pins it by
 * that name, and the skeleton's field has it), so the macros below are
 * those identifiers, and userspace opens MQLB_NAME(MQLB_MAP_FLOWS) ==
 * "flows": one spelling for both sides.
 */
#define MQLB_NAME_(x)          #x
#define MQLB_NAME(x)           MQLB_NAME_(x)
#define MQLB_PIN_DEFAULT       "/sys/fs/bpf/mqlb"
#define MQLB_MAP_CONFIG        config
#define MQLB_MAP_BACKENDS      backends
#define MQLB_MAP_RING          ring
#define MQLB_MAP_RR            rr_state
#define MQLB_MAP_FLOWS         flows
#define MQLB_MAP_SNAT          snat
#define MQLB_MAP_TW_TS         tw_ts
#define MQLB_MAP_STATS         stats
#define MQLB_MAP_BACKEND_STATS backend_stats
#define MQLB_MAP_BACKEND_INFO  backend_info
#define MQLB_MAP_BACKEND_ADDRS backend_addrs
#define MQLB_MAP_SRC           src_limits
#define MQLB_MAP_EMBRYOS       embryos
#define MQLB_MAP_EMBRYO_POS    embryo_pos
#define MQLB_MAP_MAGLEV        maglev
#define MQLB_MAP_STASH         stash
#define MQLB_MAP_TX_PORTS      tx_ports /* not pinned: see bpf/maps.h */
#define MQLB_LINK_PREFIX       "link_"  /* link_<ifname>: one pinned XDP link per interface */

/* mqlb_config.flags */
#define MQLB_CFG_STRICT       (1U << 0) /* reset flows whose first payload is not a CONNECT */
#define MQLB_CFG_KEEP_ON_DOWN (1U << 1) /* on-down keep: flows of a down backend go on */
#define MQLB_CFG_CLIENT_ID    (1U << 2) /* balance client-id: the backend by the client id's hash */
/* Every new connection is bound late (balance client-id, or a backend with proxy-v2). */
#define MQLB_CFG_BIND         (1U << 3)

/*
 * Global settings, single entry of the "config" array. A map rather than
 * .rodata so that a restarted daemon can adopt and change them without
 * reloading the program.
 */
struct mqlb_config {
	__be32 vip_addr_be;
	__be32 snat_addr_be;
	__be16 vip_port_be;
	__u16 snat_port_min;     /* host order, inclusive */
	__u16 snat_port_max;     /* host order, inclusive */
	__u16 ring_active;       /* which of the two rings new flows use (0/1) */
	__u32 flags;             /* MQLB_CFG_* */
	/*
	 * Where each side's frames must arrive (interface, backend-interface):
	 * VIP:port only on cli_ifindex, the SNAT range only on be_ifindex
	 * (the same one for a one-armed balancer). 0: not checked.
	 */
	__u32 cli_ifindex;
	__u32 be_ifindex;
	__u32 src_max_flows;     /* limit-per-source: live flows of one client address (0: off) */
	__u32 src_rate;          /* rate-per-source: new flows a second of one address (0: off) */
	__u32 flow_slots;        /* entries of "embryos" (flow-table-size); 0: nothing is evicted */
	__u64 hash_seed;         /* hash-seed: the client-id hash's seed, the same on every node */
	__u16 maglev_active;     /* which of the two Maglev tables client-id flows use (0/1) */
	__u16 synack_mss;        /* MSS the balancer's SYN cookies announce (delayed binding) */
	__u8 synack_wscale;      /* window scale they announce, when the client can keep it */
	__u8 pad[3];
};

enum mqlb_backend_state {
	MQLB_BE_EMPTY = 0,       /* slot not in use */
	MQLB_BE_UP,
	MQLB_BE_DOWN,
	MQLB_BE_DRAIN,           /* no new flows, existing flows continue */
	MQLB_BE_DISABLED,
};

/* One slot of the "backends" array, indexed by backend id. */
#define MQLB_BACKEND_PROXY_V2 (1U << 0) /* send a PROXY protocol v2 header before the stream */

struct mqlb_backend {
	__be32 addr_be;
	__be16 port_be;
	__u8 state;              /* enum mqlb_backend_state */
	__u8 flags;              /* MQLB_BACKEND_* */
	__u32 weight;
};

enum mqlb_check_result {
	MQLB_CHECK_NONE = 0,     /* not checked (yet), or health none */
	MQLB_CHECK_OK,
	MQLB_CHECK_FAILED,
};

#define MQLB_BACKEND_NAME_LEN 32
#define MQLB_CHECK_MSG_LEN    48

/*
 * What mqlbd knows about a backend beyond the data plane's needs: its name,
 * health results and live flow count. Written by the daemon only, pinned
 * so that the CLI can show it while the daemon is down. The XDP program
 * never reads it (kept apart so "backends" stays small and hot).
 */
struct mqlb_backend_info {
	char name[MQLB_BACKEND_NAME_LEN];
	__u64 state_since_ns;    /* CLOCK_MONOTONIC of the last state change */
	__u64 check_at_ns;       /* CLOCK_MONOTONIC of the last finished check */
	__u32 check_latency_us;
	__u8 check_result;       /* enum mqlb_check_result */
	__u8 pad[3];
	char check_msg[MQLB_CHECK_MSG_LEN]; /* "CONNACK 0", "connection refused", "timeout" */
	__u32 flows_active;      /* live flows, counted by the daemon's collector */
	__u32 flows_max;         /* highest flows_active seen */
};

/*
 * Weighted round-robin ring. Two entries: the daemon fills the inactive
 * one, then flips mqlb_config.ring_active, so the data plane never reads a
 * half-written ring.
 */
struct mqlb_ring {
	__u32 len;
	__u32 gen;
	__u16 slot[MQLB_RING_SIZE]; /* backend ids */
};

/*
 * Maglev lookup table of balance client-id (userspace/mqlbd/maglev.c), by
 * the client id's hash: slot[hash % MQLB_MAGLEV_SIZE] is the backend id.
 * Two entries, double-buffered like the ring (mqlb_config.maglev_active).
 */
struct mqlb_maglev {
	__u32 gen;
	__u32 pad;
	__u16 slot[MQLB_MAGLEV_SIZE + 1]; /* + 1: a whole number of words */
};

/* Shared (not per-CPU) ticket counter: exact round-robin across CPUs. */
struct mqlb_rr_state {
	__u64 next;
};

/* Client-side tuple: the key of "flows" (client -> VIP direction). */
struct mqlb_flow_key {
	__be32 client_addr_be;
	__be32 vip_addr_be;
	__be16 client_port_be;
	__be16 vip_port_be;
};

/* Translated tuple seen on the backend side: the key of "snat". */
struct mqlb_snat_key {
	__be32 backend_addr_be;
	__be32 snat_addr_be;
	__be16 backend_port_be;
	__be16 snat_port_be;
};

/*
 * Value of "src_limits", by client address (limit-per-source,
 * rate-per-source). An LRU: under pressure the least recently seen
 * sources are forgotten, and start again from nothing.
 */
struct mqlb_src {
	__u32 flows;             /* live flows counted (MQLB_FLOW_SRC_COUNTED) */
	__u32 pad;
	__u64 tat_ns;            /* the rate's theoretical arrival time (GCRA): a new flow is
				    allowed while tat_ns is at most a second ahead of now */
};

/*
 * "embryos": every new flow, in the order the data plane made them, a ring
 * of the flow table's size (positions in "embryo_pos"). When a SYN finds
 * no free SNAT port or table slot, the oldest flow of the ring that is
 * still half-open (no client ACK of the SYN-ACK) is evicted for it, as
 * conntrack drops an unassured entry when its table is full.
 */
struct mqlb_embryo {
	struct mqlb_flow_key key;
	__u32 pad;
	__u64 created_ns;        /* the flow's, to tell it from a later one on the same tuple */
};

struct mqlb_embryo_pos {
	__u64 head;              /* next slot to write (atomic add) */
	__u64 tail;              /* next slot to look at for a victim (atomic add) */
};

/* mqlb_flow.tcp_flags: what the data plane has seen of the connection. */
#define MQLB_FLOW_SYN         (1U << 0) /* client SYN */
#define MQLB_FLOW_SYNACK      (1U << 1) /* backend SYN-ACK */
#define MQLB_FLOW_ESTABLISHED (1U << 2) /* client ACK after the SYN-ACK */
#define MQLB_FLOW_FIN_CLIENT  (1U << 3)
#define MQLB_FLOW_FIN_BACKEND (1U << 4)
#define MQLB_FLOW_RST         (1U << 5)
#define MQLB_FLOW_RESET_SENT  (1U << 6) /* the data plane reset the client (backend down, strict) */
/*
 * The first client payload (the segment at the client's ISN + 1) was seen
 * and judged as an MQTT CONNECT: set once, with an atomic fetch-or, by the
 * one CPU that then parses it, so a flow is parsed at most once.
 */
#define MQLB_FLOW_PAYLOAD     (1U << 7)
/*
 * strict refused the flow: its first payload went to the backend turned
 * into a RST, and every later client segment is answered with a RST.
 */
#define MQLB_FLOW_REFUSED     (1U << 8)
/*
 * The client was reset because its backend went down or away; reset_seq
 * holds the client's SEQ at that moment, which is the broker's RCV.NXT, so
 * the daemon can end the broker's side too with a RST it will accept.
 */
#define MQLB_FLOW_BACKEND_LOST (1U << 9)
/*
 * The backend sent its FIN before it had the client's: it closed first (or
 * both at once), so its socket ends in TIME_WAIT, for 60 s on Linux. That
 * tuple's SNAT port would be reused sooner, and a SYN carrying another
 * client's timestamps meets the TIME_WAIT, which drops it as an old
 * duplicate: a 1 s SYN retransmission for the new client. Shifted
 * timestamps (MQLB_FLOW_TS_SHIFT) make that SYN newer; when they do not
 * cover the flow, the daemon ends the TIME_WAIT as it collects the flow,
 * with a RST at the client's end after its FIN (RFC 1337's assassination, which Linux
 * allows by default).
 */
#define MQLB_FLOW_BACKEND_TIME_WAIT (1U << 10)
/*
 * A closed flow whose client tuple a new SYN took over before the
 * collector sent the backend its RST (LOST, or TIME_WAIT): the record
 * moved to a key of its own, its SNAT tuple (struct mqlb_snat_key's
 * fields in mqlb_flow_key's places: backend address, SNAT address,
 * backend port, SNAT port), and its SNAT reservation points there. The
 * port stays reserved until the collector has sent the RST and removed both.
 */
#define MQLB_FLOW_RETIRED     (1U << 11)
/*
 * The client's SYN carried TCP timestamps: every client TSval goes to the
 * backend plus ts_off, every backend TSecr comes back minus it, so that a
 * later SYN on the same SNAT port is newer than this flow's last TSval and
 * the broker's TIME_WAIT lets it in (bpf/tcp_ts.h).
 */
#define MQLB_FLOW_TS_SHIFT    (1U << 12)
/*
 * A client segment at or after its FIN carried no shifted TSval behind the
 * balancer's clock (or none at all): a later SYN might not be newer, so a
 * broker's TIME_WAIT still needs the collector's RST.
 */
#define MQLB_FLOW_TS_STALE    (1U << 13)
/* The backend sent payload (its CONNACK): only then does the client's keep-alive stretch the flow. */
#define MQLB_FLOW_BACKEND_DATA (1U << 14)
/* Counted in "src_limits" (limit-per-source): the count drops when the flow goes. */
#define MQLB_FLOW_SRC_COUNTED (1U << 15)
/*
 * Delayed binding (balance client-id, PROXY v2 backends): the balancer
 * answered the client's handshake itself with a SYN cookie, and opens the
 * backend's connection once the client's first segment is in. BIND_CONNECT:
 * the client's ACK came (a valid cookie), its first payload not yet;
 * BIND_SYNACK: the backend's SYN left, its SYN-ACK not back; XLATE: bound,
 * and every segment's numbers are translated between the two connections.
 */
#define MQLB_FLOW_BIND_CONNECT (1U << 16)
#define MQLB_FLOW_BIND_SYNACK  (1U << 17)
#define MQLB_FLOW_XLATE        (1U << 18)
/* The backend holds TIME_WAIT on the SNAT tuple (no RST from either side ended it). */
#define MQLB_FLOW_BACKEND_IN_TIME_WAIT(f)                                                      \
	(((f) & (MQLB_FLOW_BACKEND_TIME_WAIT | MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_RST)) ==       \
	 (MQLB_FLOW_BACKEND_TIME_WAIT | MQLB_FLOW_FIN_CLIENT))
/* ... and the shifted timestamps let the next SYN on the port through it. */
#define MQLB_FLOW_TS_COVERS(f) (((f) & (MQLB_FLOW_TS_SHIFT | MQLB_FLOW_TS_STALE)) == MQLB_FLOW_TS_SHIFT)
/*
 * The collector owes the backend a RST: LOST (at reset_seq), or a
 * TIME_WAIT the timestamps do not cover (at the client's end after its
 * FIN, side[MQLB_SIDE_CLIENT].end).
 */
#define MQLB_FLOW_BACKEND_RST_DUE(f)                                                           \
	(((f) & MQLB_FLOW_BACKEND_LOST) ||                                                     \
	 (MQLB_FLOW_BACKEND_IN_TIME_WAIT(f) && !MQLB_FLOW_TS_COVERS(f)))
#define MQLB_FLOW_CLOSED(f)                                                                    \
	(((f) & MQLB_FLOW_RST) ||                                                              \
	 (((f) & (MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND)) ==                             \
	  (MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND)))

/*
 * What one side of a connection has shown of its TCP state, conntrack's
 * window tracking (RFC 793 numbers, host order). A segment from side S to
 * side R is acceptable when its sequence space lies within what R granted
 * S and not further back than R's largest window, and its ACK within what
 * R sent (bpf/tcp_window.h). Each field is written by one direction's
 * packets only: end, maxwin, maxack by S's own, maxend by R's.
 */
struct mqlb_tcp_side {
	__u32 end;               /* highest SEQ + LEN it sent (SYN, FIN count one): its SND.NXT */
	__u32 maxend;            /* highest ACK + WIN the other side granted: how far it may send */
	__u32 maxwin;            /* largest window it advertised, scaled (0: not seen yet) */
	__u32 maxack;            /* highest ACK it sent: its RCV.NXT as last acknowledged */
};

#define MQLB_SIDE_CLIENT  0
#define MQLB_SIDE_BACKEND 1
#define MQLB_WSCALE_NONE  0xff  /* side[].wscale: the SYN announced no window scale */

/*
 * Value of "flows". Every packet reads the first two cache lines (tuple,
 * flags, next hops, both sides' TCP state); what is written once per flow
 * (creation time, the MQTT CONNECT record) follows.
 */
struct mqlb_flow {
	__u64 last_ns;           /* last packet, either direction (about 250 ms precision) */
	__be32 backend_addr_be;  /* copied so that the flow outlives backend changes */
	__be32 snat_addr_be;
	__be16 backend_port_be;
	__be16 snat_port_be;
	__u16 backend_id;
	__u16 keepalive_s;       /* MQTT keep-alive from CONNECT (0 = none/unknown) */
	__u32 tcp_flags;         /* MQLB_FLOW_*, updated with atomic or */
	__u32 ts_off;            /* added to client TSvals (MQLB_FLOW_TS_SHIFT) */
	__u32 cli_ifindex;       /* where the client's frames arrive and replies leave */
	__u8 cli_mac[6];         /* source MAC of the SYN: next hop back to the client */
	__u8 lb_mac[6];          /* destination MAC of the SYN: our own MAC on that side */
	/*
	 * Next hop toward the backend from the last bpf_fib_lookup, reused for
	 * MQLB_NEXTHOP_TTL_NS so that established packets skip the lookup; a
	 * changed neighbour or route is picked up within that time.
	 */
	__u8 nh_smac[6];
	__u8 nh_dmac[6];
	__u32 nh_ifindex;
	__u64 nh_ns;             /* when looked up (0: never) */
	struct mqlb_tcp_side side[2]; /* MQLB_SIDE_CLIENT, MQLB_SIDE_BACKEND */
	/*
	 * Window scale of each side, from the SYNs: what its window field is
	 * shifted by; 0 for both unless both announced one (RFC 7323 2.3).
	 * MQLB_WSCALE_NONE until the SYN-ACK settles it.
	 */
	__u8 wscale[2];
	__u8 mqtt_level;         /* 3, 4, 5 from a parsed CONNECT; else 0 (see mqtt_flags) */
	__u8 client_id_len;      /* bytes kept in client_id: min(id length, MQLB_CLIENT_ID_LEN) */
	__u8 mqtt_flags;         /* MQLB_MQTT_*: how the first payload was judged */
	__u8 pad[3];
	__u32 client_isn;        /* client's initial sequence number, from its SYN (host order) */
	__u32 reset_seq;         /* see MQLB_FLOW_BACKEND_LOST (host order) */
	/* -- once per flow -- */
	__u64 created_ns;        /* bpf_ktime_get_ns() == CLOCK_MONOTONIC */
	char client_id[MQLB_CLIENT_ID_LEN]; /* not NUL-terminated; bytes as sent */
	/* -- delayed binding (MQLB_FLOW_XLATE and the BIND_* states) -- */
	__u64 cid_slot;          /* the client id's Maglev slot + 1 when it chose the backend; 0: it did not */
	__u32 s_isn;             /* the balancer's ISN toward the client: its SYN cookie */
	__u32 seq_delta;         /* the backend's SEQ minus the client's view of it */
	__u32 s_tsval;           /* the TSval of the balancer's SYN-ACK (its cookie options) */
	__u32 tsval_delta;       /* the backend's TSval minus the client's view of it */
	__u16 proxy_len;         /* bytes put in front of the client's stream (PROXY v2) */
	__u8 syn_opts;           /* MQLB_SYNOPT_*: the client's SYN, as the cookie kept it */
	__u8 s_wscale;           /* window scale announced to the client (0: none) */
	__u32 pad2;
};

/*
 * What the client's SYN offered, kept in the low bits of the balancer's
 * SYN-ACK TSval (the cookie keeps only the MSS, and the client echoes the
 * TSval): without timestamps nothing is kept, and the backend's SYN says
 * MSS 536, no window scale, no SACK.
 */
#define MQLB_SYNOPT_WSCALE     0x0f /* the client's window scale; 0x0f: none */
#define MQLB_SYNOPT_SACK       0x10
#define MQLB_SYNOPT_MSS_SHIFT  5    /* 2 bits: index into 536, 1300, 1440, 1460 */
#define MQLB_SYNOPT_TS         0x80 /* the client sent timestamps (so the rest is known) */
#define MQLB_SYNOPT_MASK       0xff

/*
 * "stash": a delayed-binding flow's first client segment (the CONNECT),
 * from the moment the backend's SYN leaves until its SYN-ACK is turned
 * into the ACK that carries these bytes. Per handshake in progress only.
 */
#define MQLB_STASH_MAX 1460
#define MQLB_STASH_FLOWS 16384
struct mqlb_stash {
	__u16 len;               /* payload bytes */
	__u16 window;            /* the client's window field, as sent */
	__u32 tsval;             /* its TSval (0: no timestamps) */
	__u8 data[MQLB_STASH_MAX + 4]; /* zero past len, so the checksum may read whole words */
};

#define MQLB_PROXY_V2_LEN 28     /* signature, version/command, family, length, IPv4 tuple */
/* The PROXY protocol v2 signature (its specification, section 2.2), an initialiser. */
#define MQLB_PROXY_V2_SIG { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a }

#define MQLB_NEXTHOP_TTL_NS (1000ULL * 1000 * 1000)

/*
 * The collector's batch for the reaper (SEC("syscall") mqlb_reap): mqlbd
 * writes the flows it judged expired, as it read them, into the object's
 * .bss (mmapped by the skeleton) and runs the program once per batch. For
 * each, the program removes the flow and its SNAT reservation only if the
 * flow is still exactly what was judged: not replaced by a new connection
 * on the same client tuple, nor touched by a packet since. One syscall per
 * batch instead of four per flow.
 */
#define MQLB_REAP_MAX 256

enum mqlb_reap_result {
	MQLB_REAP_PENDING = 0,
	MQLB_REAP_DONE,          /* removed, with its SNAT reservation if it still held it */
	MQLB_REAP_GONE,          /* no flow under that key any more */
	MQLB_REAP_CHANGED,       /* replaced or touched since: left for the next pass */
};

struct mqlb_reap_entry {
	struct mqlb_flow_key key;
	__u32 tcp_flags;         /* as judged */
	__u64 created_ns;
	__u64 last_ns;
	__be16 snat_port_be;
	__u8 result;             /* enum mqlb_reap_result, written by the program */
	__u8 pad[5];
};

#ifndef __bpf__
/* The reaper's entry for flow f at key, exactly as it was read (the fields the reaper compares). */
static inline struct mqlb_reap_entry mqlb_reap_entry_of(const struct mqlb_flow_key *key,
							const struct mqlb_flow *f)
{
	return (struct mqlb_reap_entry){ .key = *key, .tcp_flags = f->tcp_flags,
					 .created_ns = f->created_ns, .last_ns = f->last_ns,
					 .snat_port_be = f->snat_port_be };
}
#endif

/*
 * mqlb_flow.mqtt_flags: the outcome of the CONNECT parser (bpf/mqtt.h).
 * Exactly one of PARSED, SPLIT, NOT_MQTT, MALFORMED once MQLB_FLOW_PAYLOAD
 * is set; none before. mqtt_level, keepalive_s and the client id are only
 * written with PARSED, and are then exactly what the client sent (the id
 * cut to MQLB_CLIENT_ID_LEN bytes, with ID_TRUNCATED). Nothing is guessed.
 */
#define MQLB_MQTT_PARSED       (1U << 0) /* a CONNECT, fields up to the client id in the segment */
#define MQLB_MQTT_SPLIT        (1U << 1) /* CONNECT so far, but the segment ended before the
					    end of the client id: left unparsed */
#define MQLB_MQTT_NOT_MQTT     (1U << 2) /* first byte is not 0x10, a CONNECT fixed header */
#define MQLB_MQTT_MALFORMED    (1U << 3) /* 0x10, then a field that breaks the spec */
#define MQLB_MQTT_ID_TRUNCATED (1U << 4) /* client id longer than MQLB_CLIENT_ID_LEN */
#define MQLB_MQTT_BRIDGE       (1U << 5) /* level had mosquitto's try_private bridge bit (0x80) */

/*
 * Per-CPU counters of "stats": X(ENUM_SUFFIX, name) once each, so that the
 * enum (BPF and userspace) and the names (CLI, metrics) cannot drift.
 */
#define MQLB_STATS(X) \
	X(RX_PACKETS, rx_packets) \
	X(FWD_TO_BACKEND, fwd_to_backend) \
	X(FWD_TO_CLIENT, fwd_to_client) \
	X(XDP_TX, xdp_tx) \
	X(REDIRECT, redirect) \
	X(FLOW_NEW, flow_new) \
	X(FLOW_SYN_RETRANS, flow_syn_retrans) \
	X(FLOW_RECYCLED, flow_recycled) \
	X(FLOW_RACE, flow_race) \
	X(PASS_NON_IP, pass_non_ip) \
	X(PASS_IPV6, pass_ipv6) \
	X(PASS_VLAN, pass_vlan) \
	X(PASS_NON_TCP, pass_non_tcp) \
	X(PASS_NOT_OURS, pass_not_ours) \
	X(PASS_NO_FLOW_REPLY, pass_no_flow_reply) \
	X(PASS_FRAGMENT, pass_fragment) \
	X(DROP_TRUNC_ETH, drop_trunc_eth) \
	X(DROP_BAD_IP, drop_bad_ip) \
	X(DROP_FRAGMENT, drop_fragment) \
	X(DROP_IP_OPTIONS, drop_ip_options) \
	X(DROP_TRUNC_TCP, drop_trunc_tcp) \
	X(DROP_BAD_DOFF, drop_bad_doff) \
	X(DROP_NO_FLOW, drop_no_flow) \
	X(RESET_NO_BACKEND, reset_no_backend) \
	X(DROP_TABLE_FULL, drop_table_full) \
	X(DROP_SNAT_EXHAUSTED, drop_snat_exhausted) \
	X(DROP_FIB, drop_fib) \
	X(DROP_NO_NEIGH, drop_no_neigh) \
	X(DROP_NO_TX_PORT, drop_no_tx_port) \
	X(RESET_BACKEND_DOWN, reset_backend_down) \
	X(PASS_NOT_CONFIGURED, pass_not_configured) \
	/* First client payload of a flow, one of these per flow (see MQLB_MQTT_*). */ \
	X(MQTT_CONNECT_V3, mqtt_connect_v3) /* MQTT 3.1 ("MQIsdp", level 3) */ \
	X(MQTT_CONNECT_V4, mqtt_connect_v4) /* MQTT 3.1.1 */ \
	X(MQTT_CONNECT_V5, mqtt_connect_v5) /* MQTT 5.0 */ \
	X(MQTT_CONNECT_SPLIT, mqtt_connect_split) /* not parsed: continues in a later segment */ \
	X(MQTT_CONNECT_MALFORMED, mqtt_connect_malformed) \
	X(MQTT_NOT_MQTT, mqtt_not_mqtt) \
	X(MQTT_STRICT_RESET, mqtt_strict_reset) /* strict: malformed or not MQTT, flow refused */ \
	X(RESET_REFUSED, reset_refused) /* RST to a client segment of a refused flow */ \
	/* new flow with TCP timestamps, shifted (MQLB_FLOW_TS_SHIFT) */ \
	X(FLOW_TS_SHIFTED, flow_ts_shifted) \
	/* backend TIME_WAIT left to the shifted timestamps */ \
	X(FLOW_BACKEND_TIME_WAIT_TS, flow_backend_time_wait_ts) \
	/* a SYN without timestamps passed over such a tuple */ \
	X(SNAT_TW_AVOIDED, snat_tw_avoided) \
	X(SNAT_TW_FALLBACK, snat_tw_fallback) /* ... and found no other: took one anyway */ \
	/* Written by mqlbd when it collects a flow (one CPU's slot), never by the program. */ \
	/* RST ending the backend's TIME_WAIT */ \
	X(FLOW_BACKEND_RST_TIME_WAIT, flow_backend_rst_time_wait) \
	X(FLOW_BACKEND_RST_LOST, flow_backend_rst_lost) /* RST to a live backend of a BACKEND_LOST flow */ \
	/* Off-path attackers and floods (bpf/tcp_window.h, new_flow()). */ \
	/* a segment to VIP:port or the SNAT range on the other side's interface */ \
	X(DROP_WRONG_IFACE, drop_wrong_iface) \
	/* to the SNAT range from an address that is not a backend's */ \
	X(DROP_NOT_BACKEND, drop_not_backend) \
	/* ACK, data or FIN outside the receiver's window: state unchanged */ \
	X(DROP_OUT_OF_WINDOW, drop_out_of_window) \
	X(DROP_RST_OUT_OF_WINDOW, drop_rst_out_of_window) \
	/* RST in the window but not at RCV.NXT: forwarded for a challenge ACK, state unchanged */ \
	X(PASS_RST_IN_WINDOW, pass_rst_in_window) \
	/* SYN on a live flow's tuple: forwarded to its backend, not re-balanced */ \
	X(FLOW_SYN_CHALLENGE, flow_syn_challenge) \
	/* the oldest half-open flow, evicted for a new one */ \
	X(FLOW_EVICTED, flow_evicted) \
	X(DROP_SOURCE_LIMIT, drop_source_limit) /* limit-per-source */ \
	X(DROP_SOURCE_RATE, drop_source_rate)   /* rate-per-source */ \
	/* a backend answered a new flow's SYN with a bare ACK (a stale connection on the tuple) */ \
	X(RESET_STALE_BACKEND, reset_stale_backend) \
	/* Written by mqlbd: idle established flows removed with a RST to each end. */ \
	X(FLOW_IDLE_RESET, flow_idle_reset) \
	/* Delayed binding (balance client-id, PROXY v2 backends). */ \
	X(COOKIE_SYNACK, cookie_synack)           /* a SYN answered with a SYN cookie */ \
	X(COOKIE_ACK, cookie_ack)                 /* a client ACK with a valid cookie: a flow */ \
	X(DROP_BAD_COOKIE, drop_bad_cookie)       /* an ACK without a flow or a valid cookie */ \
	X(CID_HASHED, cid_hashed)                 /* backend chosen by the client id's hash */ \
	/* no client id to hash (empty, split, not MQTT), or its backend not up: round-robin */ \
	X(CID_FALLBACK, cid_fallback) \
	X(BIND_SYN, bind_syn)                     /* the backend's SYN sent for a bound flow */ \
	X(BIND_ACK, bind_ack)                     /* its SYN-ACK turned into the ACK with the data */ \
	/* the data did not fit in the SYN-ACK's frame: a bare ACK, the client resends the data */ \
	X(BIND_DATA_DEFERRED, bind_data_deferred) \
	/* a client segment while the backend's handshake is under way: dropped, resent by TCP */ \
	X(DROP_BIND_PENDING, drop_bind_pending) \
	/* the client resent its first segment before the backend answered: the SYN again */ \
	X(BIND_SYN_RESENT, bind_syn_resent) \
	/* the backend resent its SYN-ACK, or asked for the PROXY header again: ACK (+ header) */ \
	X(BIND_ACK_RESENT, bind_ack_resent) \
	/* binding failed (the backend refused, no stash room): the client reset */ \
	X(RESET_BIND_FAILED, reset_bind_failed) \
	X(PROXY_V2_SENT, proxy_v2_sent)           /* a PROXY v2 header put before a stream */

enum mqlb_stat {
#define MQLB_STAT_ENUM(e, n) MQLB_STAT_##e,
	MQLB_STATS(MQLB_STAT_ENUM)
#undef MQLB_STAT_ENUM
	MQLB_STAT_MAX,
};

/* Per-CPU counters of "backend_stats", indexed by backend id. */
struct mqlb_backend_stats {
	__u64 packets_in;        /* client -> backend */
	__u64 bytes_in;
	__u64 packets_out;       /* backend -> client */
	__u64 bytes_out;
	__u64 flows_total;
	/* balance client-id: flows placed by their client id's Maglev slot, and by round-robin */
	__u64 flows_client_id;
	__u64 flows_fallback;
};

#ifndef __bpf__
/* Stable names for counters (CLI, metrics, logs); index = enum mqlb_stat. */
static const char *const mqlb_stat_names[MQLB_STAT_MAX] = {
#define MQLB_STAT_NAME(e, n) [MQLB_STAT_##e] = #n,
	MQLB_STATS(MQLB_STAT_NAME)
#undef MQLB_STAT_NAME
};

static const char *const mqlb_backend_state_names[] = {
	[MQLB_BE_EMPTY] = "empty",   [MQLB_BE_UP] = "up",	  [MQLB_BE_DOWN] = "down",
	[MQLB_BE_DRAIN] = "drain",   [MQLB_BE_DISABLED] = "disabled",
};
#endif

/*
 * Layout pins. The data plane (clang, BPF target) and userspace (gcc) each
 * check every shared struct against these numbers, so a change that moves
 * a field fails both builds instead of misreading maps that a running data
 * plane shares with the next mqlbd (pin_compat.c refuses maps pinned with
 * another layout at run time; these catch it at build time).
 */
#define MQLB_ABI_SIZE(s, n) _Static_assert(sizeof(struct s) == (n), "ABI: size of " #s)
#define MQLB_ABI_AT(s, f, n)                                                                   \
	_Static_assert(__builtin_offsetof(struct s, f) == (n), "ABI: offset of " #s "." #f)

MQLB_ABI_SIZE(mqlb_config, 56);
MQLB_ABI_AT(mqlb_config, snat_port_min, 10);
MQLB_ABI_AT(mqlb_config, ring_active, 14);
MQLB_ABI_AT(mqlb_config, flags, 16);
MQLB_ABI_AT(mqlb_config, cli_ifindex, 20);
MQLB_ABI_AT(mqlb_config, src_max_flows, 28);
MQLB_ABI_AT(mqlb_config, flow_slots, 36);
MQLB_ABI_AT(mqlb_config, hash_seed, 40);
MQLB_ABI_AT(mqlb_config, maglev_active, 48);
MQLB_ABI_SIZE(mqlb_backend, 12);
MQLB_ABI_AT(mqlb_backend, state, 6);
MQLB_ABI_AT(mqlb_backend, flags, 7);
MQLB_ABI_AT(mqlb_backend, weight, 8);
MQLB_ABI_SIZE(mqlb_backend_info, 112);
MQLB_ABI_AT(mqlb_backend_info, state_since_ns, 32);
MQLB_ABI_AT(mqlb_backend_info, check_result, 52);
MQLB_ABI_AT(mqlb_backend_info, check_msg, 56);
MQLB_ABI_AT(mqlb_backend_info, flows_active, 104);
MQLB_ABI_SIZE(mqlb_ring, 8 + 2 * MQLB_RING_SIZE);
MQLB_ABI_AT(mqlb_ring, slot, 8);
MQLB_ABI_SIZE(mqlb_rr_state, 8);
MQLB_ABI_SIZE(mqlb_maglev, 8 + 2 * (MQLB_MAGLEV_SIZE + 1));
MQLB_ABI_SIZE(mqlb_flow_key, 12);
MQLB_ABI_AT(mqlb_flow_key, client_port_be, 8);
MQLB_ABI_SIZE(mqlb_snat_key, 12);
MQLB_ABI_AT(mqlb_snat_key, backend_port_be, 8);
MQLB_ABI_AT(mqlb_snat_key, snat_port_be, 10);
MQLB_ABI_SIZE(mqlb_tcp_side, 16);
MQLB_ABI_SIZE(mqlb_flow, 192);
MQLB_ABI_AT(mqlb_flow, backend_id, 20);
MQLB_ABI_AT(mqlb_flow, tcp_flags, 24);
MQLB_ABI_AT(mqlb_flow, ts_off, 28);
MQLB_ABI_AT(mqlb_flow, cli_ifindex, 32);
MQLB_ABI_AT(mqlb_flow, nh_ns, 64); /* the first cache line: tuple, flags, next hops */
MQLB_ABI_AT(mqlb_flow, side, 72); /* the second: the next hop's age and the TCP state */
MQLB_ABI_AT(mqlb_flow, wscale, 104);
MQLB_ABI_AT(mqlb_flow, client_isn, 112);
MQLB_ABI_AT(mqlb_flow, reset_seq, 116);
MQLB_ABI_AT(mqlb_flow, created_ns, 120);
MQLB_ABI_AT(mqlb_flow, client_id, 128);
MQLB_ABI_AT(mqlb_flow, cid_slot, 160);
MQLB_ABI_AT(mqlb_flow, proxy_len, 184);
MQLB_ABI_SIZE(mqlb_stash, 1472);
MQLB_ABI_SIZE(mqlb_src, 16);
MQLB_ABI_SIZE(mqlb_embryo, 24);
MQLB_ABI_SIZE(mqlb_reap_entry, 40);
MQLB_ABI_AT(mqlb_reap_entry, tcp_flags, 12);
MQLB_ABI_AT(mqlb_reap_entry, created_ns, 16);
MQLB_ABI_AT(mqlb_reap_entry, snat_port_be, 32);
MQLB_ABI_AT(mqlb_reap_entry, result, 34);
MQLB_ABI_SIZE(mqlb_backend_stats, 56); /* per-CPU values: a multiple of 8 bytes */

#endif /* MQLB_ABI_H */
