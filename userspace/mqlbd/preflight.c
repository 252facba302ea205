// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "preflight.h"
#include "sysprobe.h"

int config_line_of(const char *path, const char *kw)
{
	char buf[4096];
	struct conf_line ln;
	int lineno = 0, found = 0;
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f)) {
		lineno++;
		if (conf_split(buf, &ln, CONF_INLINE_COMMENTS) > 0 && !strcmp(ln.argv[0], kw))
			found = lineno;
	}
	fclose(f);
	return found;
}

/* "FILE:LINE: " + reason, or "FILE: " + reason when kw has no line (a default). */
static int refuse(const struct mqlbd_config *c, const char *kw, int err, char *msg, size_t len,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int refuse(const struct mqlbd_config *c, const char *kw, int err, char *msg, size_t len,
		  const char *fmt, ...)
{
	int line = kw ? config_line_of(c->path, kw) : 0;
	va_list ap;
	int n;

	if (line)
		n = snprintf(msg, len, "%s:%d: ", c->path, line);
	else
		n = snprintf(msg, len, "%s: ", c->path);
	if (n < 0 || (size_t)n >= len)
		return err;
	va_start(ap, fmt);
	vsnprintf(msg + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

static void warn_readable_password(const struct mqlbd_config *c)
{
	struct stat st;

	if (!c->health.password_file[0] || stat(c->health.password_file, &st))
		return;
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		pr_warn("%s:%d: health: password-file %s is open to other users (mode %04o); "
			"chmod 600 %s\n", c->path, config_line_of(c->path, "health"),
			c->health.password_file, (unsigned int)(st.st_mode & 07777),
			c->health.password_file);
}

int preflight_check(const struct mqlbd_config *c, struct in_addr *snat, char *msg, size_t len)
{
	const char *bif = config_backend_ifname(c);
	const char *bif_kw = c->backend_ifname[0] ? "backend-interface" : "interface";
	char vip[INET_ADDRSTRLEN], sn[INET_ADDRSTRLEN];
	uint32_t eph_lo, eph_hi;

	if (!if_nametoindex(c->ifname))
		return refuse(c, "interface", -ENODEV, msg, len, "interface '%s' does not exist",
			      c->ifname);
	if (!if_nametoindex(bif))
		return refuse(c, bif_kw, -ENODEV, msg, len, "backend-interface '%s' does not exist",
			      bif);
	inet_ntop(AF_INET, &c->vip.sin_addr, vip, sizeof(vip));
	if (!sys_iface_has_addr(c->ifname, c->vip.sin_addr))
		return refuse(c, "vip", -EADDRNOTAVAIL, msg, len,
			      "vip %s is not an address of %s, so nobody answers ARP for it; add "
			      "it with:\n    ip addr add %s/32 dev %s", vip, c->ifname, vip,
			      c->ifname);
	if (c->have_snat) {
		*snat = c->snat;
		inet_ntop(AF_INET, snat, sn, sizeof(sn));
		if (!sys_iface_has_addr(bif, *snat))
			return refuse(c, "snat", -EADDRNOTAVAIL, msg, len,
				      "snat %s is not an address of %s, so the brokers' replies "
				      "cannot reach it; add it with:\n    ip addr add %s/32 dev %s",
				      sn, bif, sn, bif);
	} else if (sys_iface_first_addr(bif, snat)) {
		return refuse(c, bif_kw, -EADDRNOTAVAIL, msg, len,
			      "%s %s has no IPv4 address to use as snat; set 'snat ADDR'", bif_kw,
			      bif);
	}
	if (sys_ipv4_forwarding() != 1)
		return refuse(c, NULL, -EPERM, msg, len,
			      "IPv4 forwarding is off in this network namespace, and "
			      "bpf_fib_lookup() needs it; turn it on with:\n"
			      "    sysctl -w net.ipv4.ip_forward=1");
	if (!sys_local_port_range(&eph_lo, &eph_hi) && c->snat_port_min <= eph_hi &&
	    c->snat_port_max >= eph_lo)
		return refuse(c, "snat-ports", -EINVAL, msg, len,
			      "snat-ports %u-%u overlaps this machine's ephemeral ports %u-%u "
			      "(net.ipv4.ip_local_port_range): the balancer's own connections "
			      "could be taken for flows; choose another range",
			      c->snat_port_min, c->snat_port_max, eph_lo, eph_hi);
	if (c->nbackends == 0)
		pr_warn("%s: no backend configured: every SYN to %s:%u will be answered with a "
			"RST\n", c->path, vip, ntohs(c->vip.sin_port));
	warn_readable_password(c);
	return 0;
}
