/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The service manager's readiness protocol (sd_notify(3)), spoken directly
 * rather than through libsystemd: one datagram of "KEY=VALUE" lines to the
 * AF_UNIX socket named by $NOTIFY_SOCKET. A name starting with '@' is in
 * the abstract namespace. Without the variable (not started by systemd, or
 * a Type= other than notify) every call is a no-op that returns 0.
 */
#ifndef MQLB_SD_NOTIFY_H
#define MQLB_SD_NOTIFY_H

/*
 * Send state (for example "READY=1\nSTATUS=balancing 10.0.0.1:1883").
 * Returns 1 when sent, 0 when there is no one to tell, -errno on failure.
 */
int sd_notify_send(const char *state);
int sd_notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
