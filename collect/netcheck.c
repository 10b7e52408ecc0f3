/*
 * netcheck.c - the network check's probes on POSIX: sockets and OpenSSL.
 *
 * The check itself (endpoint list, order of the checks, DNS, HTTP, SNTP,
 * the JSON document) is netcheck_core.c; this file is the platform side of
 * netcheck_int.h.  TLS is an OpenSSL handshake with SNI, verified against
 * the system's trust store (plus APDIAG_NETCHECK_CAFILE, for tests) and the
 * host name: protocol, cipher, verification result, certificate subject
 * and expiry.
 */
#include "netcheck_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct nc_plat {
	SSL_CTX *ctx;
};

double
nc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

double
nc_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
nc_sock_errno(void)
{
	return errno;
}

void
nc_strerror(int e, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(e));
}

void
nc_sock_close(nc_sock s)
{
	close(s);
}

/* Wait for s to become readable or writable; 0 ok, else an errno. */
static int
wait_fd(int fd, short ev, unsigned timeout_ms)
{
	struct pollfd p = { fd, ev, 0 };
	int r;

	do
		r = poll(&p, 1, (int)timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return ETIMEDOUT;
	return r < 0 ? errno : 0;
}

int
nc_wait_readable(nc_sock s, unsigned timeout_ms)
{
	return wait_fd(s, POLLIN, timeout_ms);
}

nc_sock
nc_tcp_connect(const struct addrinfo *ai, unsigned timeout_ms, int *err)
{
	int fd = nc_socket(ai->ai_family, SOCK_STREAM), e = 0;
	socklen_t el = sizeof(e);
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			*err = errno;
			close(fd);
			return -1;
		}
		if ((e = wait_fd(fd, POLLOUT, timeout_ms)) != 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) {
			*err = e ? e : errno;
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

int
nc_plat_open(struct nc_plat **pl, const struct apd_netcheck_opts *o, struct apd_error *err)
{
	if ((*pl = calloc(1, sizeof(**pl))) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	if (((*pl)->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		free(*pl);
		return apd_set_error(err, APD_FATAL, "cannot set up OpenSSL");
	}
	SSL_CTX_set_verify((*pl)->ctx, SSL_VERIFY_NONE, NULL);   /* the result is read and recorded */
	SSL_CTX_set_default_verify_paths((*pl)->ctx);
	if (o->ca_file)
		SSL_CTX_load_verify_locations((*pl)->ctx, o->ca_file, NULL);
	return APD_OK;
}

void
nc_plat_close(struct nc_plat *pl)
{
	SSL_CTX_free(pl->ctx);
	free(pl);
}

static void
ssl_error(char *out, size_t n, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(out, n, "%s: %s", what, buf);
	} else {
		snprintf(out, n, "%s", what);
	}
	ERR_clear_error();
}

void
nc_tls_start(struct nc_plat *pl, nc_sock s, const struct nc_ep *e, struct nc_probe *p,
    struct nc_tls **t)
{
	SSL *ssl = SSL_new(pl->ctx);

	*t = NULL;
	if (ssl == NULL || SSL_set_fd(ssl, s) != 1 ||
	    SSL_set_tlsext_host_name(ssl, e->host) != 1 || SSL_set1_host(ssl, e->host) != 1) {
		ssl_error(p->error, sizeof(p->error), "cannot set up TLS");
	} else if (SSL_connect(ssl) != 1) {
		long v = SSL_get_verify_result(ssl);
		p->os_error = errno;
		if (v != X509_V_OK)
			snprintf(p->error, sizeof(p->error), "certificate not trusted: %s",
			    X509_verify_cert_error_string(v));
		else
			ssl_error(p->error, sizeof(p->error), "TLS handshake failed");
	} else {
		X509 *cert = SSL_get1_peer_certificate(ssl);
		char subj[200] = "", until[64] = "";
		long v;
		if (cert) {
			BIO *b = BIO_new(BIO_s_mem());
			X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof(subj));
			if (b && ASN1_TIME_print(b, X509_get0_notAfter(cert)) == 1) {
				int n = BIO_read(b, until, sizeof(until) - 1);
				until[n > 0 ? n : 0] = '\0';
			}
			BIO_free(b);
			X509_free(cert);
		}
		v = SSL_get_verify_result(ssl);
		snprintf(p->detail, sizeof(p->detail), "%s %s, certificate %s, valid until %s",
		    SSL_get_version(ssl), SSL_get_cipher_name(ssl), subj, until);
		if (v != X509_V_OK) {
			snprintf(p->error, sizeof(p->error), "certificate not trusted: %s",
			    X509_verify_cert_error_string(v));
		} else {
			p->status = "ok";
		}
	}
	/* the session is kept for shutdown even when the check failed */
	*t = (struct nc_tls *)ssl;
}

void
nc_tls_end(struct nc_tls *t)
{
	SSL *ssl = (SSL *)t;

	SSL_shutdown(ssl);
	SSL_free(ssl);
}

long
nc_tls_send(struct nc_tls *t, const void *b, size_t n, int *err)
{
	int r = SSL_write((SSL *)t, b, (int)n);

	*err = r <= 0 ? errno : 0;
	return r;
}

long
nc_tls_recv(struct nc_tls *t, void *b, size_t n, int *err)
{
	int r = SSL_read((SSL *)t, b, (int)n);

	*err = r <= 0 ? errno : 0;
	return r;
}
