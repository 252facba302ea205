// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "log.h"
#include "neigh.h"

struct route_answer {
	int oif;
	struct in_addr gw;
	bool have_gw;
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	struct route_answer *ra = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			ra->oif = (int)mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
			ra->gw.s_addr = mnl_attr_get_u32(attr);
			ra->have_gw = true;
		}
		break;
	}
	return MNL_CB_OK;
}

/* RTM_GETROUTE answers with exactly one message and no ACK: stop after it. */
static int route_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	if (mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr_cb, data) < 0)
		return MNL_CB_ERROR;
	return MNL_CB_STOP;
}

/* One request, its answers through cb (may be NULL), until the ACK or an error. */
static int nl_open(struct mnl_socket **out)
{
	struct timeval tv = { .tv_sec = 2 };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int err;

	if (!nl)
		return -errno;
	/* The kernel always answers; the timeout only guards the daemon's loop. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	*out = nl;
	return 0;
}

static int nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int route_get(struct mnl_socket *nl, struct in_addr dst, struct route_answer *ra)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = (unsigned int)time(NULL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 32;
	mnl_attr_put_u32(nlh, RTA_DST, dst.s_addr);
	return nl_talk(nl, nlh, route_msg_cb, ra);
}

static int neigh_request(struct mnl_socket *nl, int type, unsigned int flags,
			 const struct neigh_entry *e, bool managed)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = (unsigned int)time(NULL) + 1;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_INET;
	ndm->ndm_ifindex = e->ifindex;
	ndm->ndm_state = NUD_NONE;
	mnl_attr_put_u32(nlh, NDA_DST, e->nexthop.s_addr);
	if (managed)
		mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
	return nl_talk(nl, nlh, NULL, NULL);
}

int neigh_ensure(struct in_addr dst, struct neigh_entry *out)
{
	struct route_answer ra = { 0 };
	struct mnl_socket *nl;
	char addr[INET_ADDRSTRLEN];
	int err;

	memset(out, 0, sizeof(*out));
	err = nl_open(&nl);
	if (err)
		return err;
	err = route_get(nl, dst, &ra);
	inet_ntop(AF_INET, &dst, addr, sizeof(addr));
	if (err || !ra.oif) {
		pr_warn("backend %s: no route (%s)\n", addr, err ? strerror(-err) : "no device");
		err = err ? err : -ENETUNREACH;
		goto out_close;
	}
	out->ifindex = ra.oif;
	out->nexthop = ra.have_gw ? ra.gw : dst;
	/* EXCL: an existing entry (permanent, or another manager's) is left alone. */
	err = neigh_request(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, out, true);
	if (!err)
		out->created = true;
	else if (err == -EEXIST)
		err = 0;
	else
		pr_warn("backend %s: can't add managed neighbour: %s\n", addr, strerror(-err));
out_close:
	mnl_socket_close(nl);
	return err;
}

int neigh_remove(const struct neigh_entry *e)
{
	struct mnl_socket *nl;
	int err;

	if (!e->created)
		return 0;
	err = nl_open(&nl);
	if (err)
		return err;
	err = neigh_request(nl, RTM_DELNEIGH, 0, e, false);
	mnl_socket_close(nl);
	return err == -ENOENT ? 0 : err;
}
