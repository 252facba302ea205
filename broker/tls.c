// SPDX-License-Identifier: GPL-2.0
/*
 * TLS with OpenSSL, on the event loop.
 *
 * Nothing here blocks. A connection's SSL object sits on its non-blocking
 * socket, and the handshake is driven by the same SSL_read()/SSL_write()
 * calls that carry MQTT afterwards: a ClientHello that arrives in pieces
 * only makes SSL_read() say "want read" until the rest comes, while every
 * other connection is served. The handshake has no deadline of its own:
 * a connection's CONNECT deadline (5 s from accept) covers it.
 *
 * The record layer may need the other direction: SSL_read() may have to
 * write (a handshake message when the kernel buffer is full), SSL_write()
 * may have to read (a bridge's CONNECT waits for the server's hello). Those
 * are c->tls_wants, which client.c turns into epoll interest.
 *
 * Epoll sees the socket, not OpenSSL's buffer: a record decrypted but not
 * all handed out (a read into a small buffer) would wait for the next
 * bytes from the peer. Such connections go on b->tls_pending and are read
 * again before the loop sleeps.
 *
 * Versions: TLS 1.2 and 1.3 unless tls_version names one version (then
 * that one only, tlsv1.1 included, as Mosquitto pins it); renegotiation
 * is off.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "broker.h"
#include "log.h"

/* OpenSSL's reason for the last failure of any connection; one loop, one at a time. */
static char last_reason[160];

static void ssl_reason(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char r[120] = "";

	if (e)
		ERR_error_string_n(e, r, sizeof(r));
	ERR_clear_error();
	snprintf(buf, len, "%s%s%s", what, *r ? ": " : "", r);
}

static int version_of(const char *v, int *ver)
{
	if (!v)
		*ver = 0;
	else if (!strcmp(v, "tlsv1.3"))
		*ver = TLS1_3_VERSION;
	else if (!strcmp(v, "tlsv1.2"))
		*ver = TLS1_2_VERSION;
	else if (!strcmp(v, "tlsv1.1"))
		*ver = TLS1_1_VERSION;
	else
		return -EINVAL;
	return 0;
}

/* What both sides share: versions, no renegotiation, partial writes from a moving buffer. */
static SSL_CTX *ctx_new(const SSL_METHOD *m, const char *tls_version, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int ver;

	if (version_of(tls_version, &ver)) {
		snprintf(err, errlen, "unknown tls_version '%s' (tlsv1.3, tlsv1.2 or tlsv1.1)",
			 tls_version);
		return NULL;
	}
	ctx = SSL_CTX_new(m);
	if (!ctx) {
		ssl_reason(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, ver ? ver : TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, ver);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/*
	 * A peer gone without close_notify is a closed connection, as over
	 * plain TCP: MQTT's own framing tells a cut packet, and a port probe
	 * or health check is no "handshake failure" for the log.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	/* The output buffer moves as it grows; a write may go out in part. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

static int load_verify(SSL_CTX *ctx, const char *cafile, const char *capath, char *err,
		       size_t errlen)
{
	if ((cafile || capath) && !SSL_CTX_load_verify_locations(ctx, cafile, capath)) {
		ssl_reason(err, errlen, cafile ? "cannot load cafile" : "cannot load capath");
		return -EINVAL;
	}
	return 0;
}

static int load_cert(SSL_CTX *ctx, const char *certfile, const char *keyfile, char *err,
		     size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) {
		ssl_reason(err, errlen, "cannot load certfile");
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) != 1) {
		ssl_reason(err, errlen, "cannot load keyfile");
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_reason(err, errlen, "keyfile does not match certfile");
		return -EINVAL;
	}
	return 0;
}

/* crlfile: certificates it revokes are refused; the CA's CRL must be there (leaf checked). */
static int load_crl(SSL_CTX *ctx, const char *crlfile, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP *lk = X509_STORE_add_lookup(store, X509_LOOKUP_file());

	if (!lk || X509_load_crl_file(lk, crlfile, X509_FILETYPE_PEM) < 1) {
		ssl_reason(err, errlen, "cannot load crlfile");
		return -EINVAL;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return 0;
}

int tls_listener_ctx(const struct listener_conf *lc, SSL_CTX **out, char *err, size_t errlen)
{
	const struct tls_conf *t = &lc->tls;
	SSL_CTX *ctx;
	int mode;

	*out = NULL;
	if (!t->certfile)
		return 0;
	ctx = ctx_new(TLS_server_method(), t->tls_version, err, errlen);
	if (!ctx)
		return -EINVAL;
	if (load_cert(ctx, t->certfile, t->keyfile, err, errlen) ||
	    load_verify(ctx, t->cafile, t->capath, err, errlen) ||
	    (t->crlfile && load_crl(ctx, t->crlfile, err, errlen)))
		goto fail;
	if (t->ciphers && SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
		ssl_reason(err, errlen, "no cipher of 'ciphers' is usable");
		goto fail;
	}
	if (t->ciphers_tls13 && SSL_CTX_set_ciphersuites(ctx, t->ciphers_tls13) != 1) {
		ssl_reason(err, errlen, "no cipher of 'ciphers_tls1.3' is usable");
		goto fail;
	}
	/*
	 * require_certificate: a client without a valid certificate fails the
	 * handshake, as in Mosquitto. A user name taken from the certificate
	 * alone asks for one without requiring it: a client with none gets
	 * through the handshake and its CONNECT is refused with CONNACK 4,
	 * Mosquitto's answer (handle_connect.c); one it sends is verified.
	 */
	mode = SSL_VERIFY_NONE;
	if (t->use_identity_as_username || t->use_subject_as_username)
		mode = SSL_VERIFY_PEER;
	if (t->require_certificate)
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	if (t->cafile) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->cafile);

		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	/* Resumed sessions skip the full handshake; the cache is per listener. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"mqbroker", 8);
	*out = ctx;
	return 0;

fail:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

int tls_bridge_ctx(const struct bridge_conf *bc, SSL_CTX **out, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	*out = NULL;
	if (!bc->tls_cafile && !bc->tls_capath)
		return 0;
	ctx = ctx_new(TLS_client_method(), bc->tls_version, err, errlen);
	if (!ctx)
		return -EINVAL;
	if (load_verify(ctx, bc->tls_cafile, bc->tls_capath, err, errlen) ||
	    (bc->tls_certfile && load_cert(ctx, bc->tls_certfile, bc->tls_keyfile, err, errlen))) {
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	/* The remote's chain is always verified; bridge_insecure only skips its name. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*out = ctx;
	return 0;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* server_name: NULL accepts (a listener); else connects to it (a bridge). */
int tls_attach(struct client *c, SSL_CTX *ctx, const char *server_name, bool verify_name)
{
	SSL *ssl = SSL_new(ctx);

	if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return -ENOMEM;
	}
	if (server_name) {
		struct in6_addr a;
		bool ip = inet_pton(AF_INET, server_name, &a) == 1 ||
			  inet_pton(AF_INET6, server_name, &a) == 1;
		int ok = 1;

		SSL_set_connect_state(ssl);
		/* A name goes in SNI and must be the certificate's; an address must be in it. */
		/* A name SNI cannot carry (over 255 bytes) is sent without SNI. */
		if (!ip && SSL_set_tlsext_host_name(ssl, server_name) != 1)
			ERR_clear_error();
		if (verify_name)
			ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name)
				: SSL_set1_host(ssl, server_name);
		if (ok != 1) {
			SSL_free(ssl);
			ERR_clear_error();
			return -ENOMEM;
		}
	} else {
		SSL_set_accept_state(ssl);
	}
	c->ssl = ssl;
	return 0;
}

void tls_detach(struct client *c)
{
	if (!c->ssl)
		return;
	/* A close_notify if the socket takes it; never waited for. */
	if (SSL_is_init_finished(c->ssl)) {
		ERR_clear_error();
		SSL_shutdown(c->ssl);
	}
	SSL_free(c->ssl);
	ERR_clear_error();
	c->ssl = NULL;
	tls_unqueue(c);
}

/*
 * An SSL_read/SSL_write result as read(2)/write(2) would give it. other:
 * the SSL_ERROR_WANT_* of the opposite direction, noted in c->tls_wants
 * as flag so client.c listens for it.
 */
static ssize_t as_syscall(struct client *c, int n, int other, uint8_t flag)
{
	int saved = errno;
	int e = SSL_get_error(c->ssl, n);

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		if (e == other)
			c->tls_wants |= flag;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify: the end of its input */
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (!saved || n == 0)
			return 0; /* closed without close_notify: an end all the same */
		errno = saved;
		return -1;
	default:
		ssl_reason(last_reason, sizeof(last_reason),
			   SSL_is_init_finished(c->ssl) ? "TLS error" : "TLS handshake failed");
		/* As Mosquitto logs it: a refused certificate is something to see without -v. */
		if (!SSL_is_init_finished(c->ssl)) {
			long v = SSL_get_verify_result(c->ssl);
			char addr[PEER_ADDRSTR_LEN];
			size_t used = strlen(last_reason);

			/* "certificate verify failed" says little: why (revoked, expired...). */
			if (v != X509_V_OK)
				snprintf(last_reason + used, sizeof(last_reason) - used, " (%s)",
					 X509_verify_cert_error_string(v));

			pr_info("%s %s: %s\n", c->bridge ? "bridge to" : "connection from",
				peer_addr_fmt(&c->peer, addr, sizeof(addr)), last_reason);
		}
		errno = EPROTO;
		return -1;
	}
}

ssize_t conn_read(struct client *c, void *buf, size_t len)
{
	int n;

	if (!c->ssl)
		return read(c->fd, buf, len);
	if (len > INT32_MAX)
		len = INT32_MAX;
	c->tls_wants &= (uint8_t)~TLS_READ_WANTS_WRITE;
	/* SSL_get_error() reads the whole queue: nothing left by another call may count. */
	ERR_clear_error();
	n = SSL_read(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	return as_syscall(c, n, SSL_ERROR_WANT_WRITE, TLS_READ_WANTS_WRITE);
}

ssize_t conn_write(struct client *c, const void *buf, size_t len)
{
	int n;

	if (!c->ssl)
		return write(c->fd, buf, len);
	if (len > INT32_MAX)
		len = INT32_MAX;
	c->tls_wants &= (uint8_t)~TLS_WRITE_WANTS_READ;
	ERR_clear_error();
	n = SSL_write(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	return as_syscall(c, n, SSL_ERROR_WANT_READ, TLS_WRITE_WANTS_READ);
}

const char *conn_error(const struct client *c, int err)
{
	if (c->ssl && err == EPROTO && *last_reason)
		return last_reason;
	return strerror(err);
}

void tls_check_pending(struct client *c)
{
	struct broker *b = c->b;

	if (!c->ssl || c->tls_queued || !SSL_pending(c->ssl))
		return;
	c->tls_queued = true;
	c->tls_prev = NULL;
	c->tls_next = b->tls_pending;
	if (b->tls_pending)
		b->tls_pending->tls_prev = c;
	b->tls_pending = c;
}

void tls_unqueue(struct client *c)
{
	if (!c->tls_queued)
		return;
	if (c->tls_prev)
		c->tls_prev->tls_next = c->tls_next;
	else
		c->b->tls_pending = c->tls_next;
	if (c->tls_next)
		c->tls_next->tls_prev = c->tls_prev;
	c->tls_queued = false;
	c->tls_next = c->tls_prev = NULL;
}

/*
 * The cut at the certificate's CN (use_identity_as_username) or its whole
 * subject in RFC 2253 form (use_subject_as_username), as Mosquitto takes
 * them; a CN with a NUL in it is refused rather than cut short.
 */
int tls_peer_name(const struct client *c, bool subject, char *buf, size_t len, const char **why)
{
	X509 *cert = c->ssl ? SSL_get1_peer_certificate(c->ssl) : NULL;
	X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
	int err = -EACCES;

	*why = c->ssl ? "no client certificate" : "not a TLS connection";
	if (!name)
		goto out;
	if (subject) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *data;
		long n;

		if (!bio)
			goto out;
		X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
		n = BIO_get_mem_data(bio, &data);
		if (n > 0 && (size_t)n < len) {
			memcpy(buf, data, (size_t)n);
			buf[n] = '\0';
			err = 0;
		} else {
			*why = "certificate subject too long";
		}
		BIO_free(bio);
	} else {
		int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
		const ASN1_STRING *cn;
		int n;

		*why = "certificate without a common name";
		if (i < 0)
			goto out;
		cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
		n = cn ? ASN1_STRING_length(cn) : -1;
		if (n <= 0 || (size_t)n >= len ||
		    memchr(ASN1_STRING_get0_data(cn), 0, (size_t)n)) {
			*why = "certificate common name empty, too long or with a NUL";
			goto out;
		}
		memcpy(buf, ASN1_STRING_get0_data(cn), (size_t)n);
		buf[n] = '\0';
		err = 0;
	}
out:
	X509_free(cert);
	return err;
}
