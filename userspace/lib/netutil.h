/* SPDX-License-Identifier: GPL-2.0 */
/* anet-style socket and address helpers; every function returns 0/fd or -errno. */
#ifndef MQLB_NETUTIL_H
#define MQLB_NETUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#define NET_ADDRSTR_LEN 24 /* "255.255.255.255:65535" */

/* "A.B.C.D" into network order. */
int net_parse_ipv4(const char *s, struct in_addr *out);
/* "A.B.C.D:PORT" (port required unless default_port != 0). */
int net_parse_ipv4_port(const char *s, uint16_t default_port, struct sockaddr_in *out);
/* Formats network-order address and port; returns buf. */
const char *net_fmt_ipv4_port(uint32_t addr_be, uint16_t port_be, char *buf, size_t len);

int net_set_nonblock(int fd);
int net_set_nodelay(int fd, bool on);
/* Non-blocking, close-on-exec listening TCP socket with SO_REUSEADDR. */
int net_tcp_listen(const struct sockaddr_in *sa, int backlog);
/* Non-blocking connect: returns the fd; the connect may still be in progress. */
int net_tcp_connect_nb(const struct sockaddr_in *sa);
/* Non-blocking, close-on-exec accept; -EAGAIN when nothing is pending. */
int net_accept(int lfd, struct sockaddr_in *peer);

#endif
