/*
 * netcheck.c - reachability of the Autopilot endpoints (collect --network).
 *
 * Exports apd_netcheck_run.  The endpoint list is a data file
 * (collect/endpoints.xml, embedded; --endpoints FILE replaces it, which is
 * how the tests point it at servers of their own on 127.0.0.1).  Each
 * endpoint names its checks, run in this order with one time-out each:
 *   dns   getaddrinfo: the addresses and the time taken
 *   tcp   a connect to the first address and the port
 *   tls   an OpenSSL handshake with SNI, verified against the system's
 *         trust store (plus APDIAG_NETCHECK_CAFILE, for tests): protocol,
 *         cipher, verification result, certificate subject and expiry
 *   http  "GET path" over the TLS connection (or plain TCP for port 80):
 *         status line, and whether the body holds the expected text (NCSI)
 *   ntp   one SNTP v4 query over UDP: stratum, round trip and clock offset
 * A check that cannot run because an earlier one failed is "skipped".
 * Proxies are not used: the device's own path to the service is what is
 * measured (docs/collect.md says what that leaves out).
 *
 * The result is one JSON document (docs/sources/netcheck.md), read back
 * by lib/parsers/apd_parse_netcheck.c.
 */
#include "collect.h"
#include "plat.h"
#include "apd_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENDPOINTS 256

struct ep {
	char *id, *host, *purpose, *path, *expect, *checks;
	unsigned port;
};

struct probe {
	const char *check;
	const char *status;   /* ok, failed, skipped */
	double ms;
	int os_error;
	char detail[512];
	char error[512];
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static bool
has_check(const struct ep *e, const char *c)
{
	const char *p = e->checks;
	size_t n = strlen(c);

	while ((p = strstr(p, c)) != NULL) {
		if ((p == e->checks || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

static void
jw_probe(struct apd_jw *w, const struct ep *e, const struct probe *p)
{
	char t[32];
	struct tm tm;
	time_t now = time(NULL);

	apd_plat_gmtime(now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	apd_jw_open(w, NULL, '{');
	apd_jw_str(w, "endpoint", apd_sv_cstr(e->id));
	apd_jw_str(w, "host", apd_sv_cstr(e->host));
	apd_jw_int(w, "port", e->port);
	apd_jw_str(w, "check", apd_sv_cstr(p->check));
	apd_jw_str(w, "status", apd_sv_cstr(p->status));
	apd_jw_int(w, "ms", (int64_t)(p->ms + 0.5));
	apd_jw_str(w, "time_utc", apd_sv_cstr(t));
	apd_jw_str(w, "detail", p->detail[0] ? apd_sv_cstr(p->detail) : APD_SV_NULL);
	apd_jw_str(w, "error", p->error[0] ? apd_sv_cstr(p->error) : APD_SV_NULL);
	apd_jw_int(w, "os_error", p->os_error);
	apd_jw_str(w, "purpose", apd_sv_cstr(e->purpose));
	apd_jw_close(w, '}');
}

/* Wait for fd to become readable or writable; 0 ok, else an errno. */
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

static int
tcp_connect(const struct addrinfo *ai, unsigned timeout_ms, int *err)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), e = 0;
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

/* HTTP GET over plain fd or ssl; fills p. */
static void
http_get(const struct ep *e, int fd, SSL *ssl, unsigned timeout_ms, struct probe *p)
{
	char req[1024], buf[8192];
	size_t got = 0;
	double t0 = now_ms();
	int r;

	(void)timeout_ms;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: apdiag/%s netcheck\r\n"
	    "Accept: */*\r\nConnection: close\r\n\r\n", e->path ? e->path : "/", e->host,
	    apd_version());
	r = ssl ? SSL_write(ssl, req, (int)strlen(req)) : (int)write(fd, req, strlen(req));
	if (r <= 0) {
		p->os_error = errno;
		snprintf(p->error, sizeof(p->error), "cannot send the request: %s", strerror(errno));
		goto done;
	}
	while (got + 1 < sizeof(buf)) {
		r = ssl ? SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got)) :
		    (int)read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (got == 0) {
		p->os_error = errno;
		snprintf(p->error, sizeof(p->error), "no response%s%s", errno ? ": " : "",
		    errno ? strerror(errno) : "");
		goto done;
	}
	{
		char *eol = strstr(buf, "\r\n");
		int code = 0;
		if (eol)
			*eol = '\0';
		if (strncmp(buf, "HTTP/", 5) != 0 || sscanf(buf, "HTTP/%*s %d", &code) != 1) {
			snprintf(p->error, sizeof(p->error), "not an HTTP response");
			goto done;
		}
		snprintf(p->detail, sizeof(p->detail), "%.200s", buf);
		if (eol)
			*eol = '\r';
		if (e->expect && strstr(buf, e->expect) == NULL) {
			snprintf(p->error, sizeof(p->error), "HTTP %d, but the body lacks \"%.100s\"",
			    code, e->expect);
			goto done;
		}
		if (code >= 500) {
			snprintf(p->error, sizeof(p->error), "HTTP %d", code);
			goto done;
		}
		p->status = "ok";
	}
done:
	p->ms = now_ms() - t0;
}

static void
ntp_query(const struct addrinfo *ai, unsigned port, unsigned timeout_ms, struct probe *p)
{
	unsigned char pkt[48];
	struct sockaddr_storage ss;
	struct timespec tx, rx;
	double t0 = now_ms();
	int fd;
	ssize_t r;

	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x23;   /* LI 0, version 4, mode 3 (client) */
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		p->os_error = errno;
		snprintf(p->error, sizeof(p->error), "socket: %s", strerror(errno));
		return;
	}
	clock_gettime(CLOCK_REALTIME, &tx);
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, ai->ai_addrlen) != 48) {
		p->os_error = errno;
		snprintf(p->error, sizeof(p->error), "send: %s", strerror(errno));
		close(fd);
		return;
	}
	if ((p->os_error = wait_fd(fd, POLLIN, timeout_ms)) != 0) {
		snprintf(p->error, sizeof(p->error), "no NTP answer: %s", strerror(p->os_error));
		close(fd);
		p->ms = now_ms() - t0;
		return;
	}
	r = recv(fd, pkt, sizeof(pkt), 0);
	clock_gettime(CLOCK_REALTIME, &rx);
	p->ms = now_ms() - t0;
	close(fd);
	if (r < 48 || (pkt[0] & 7) != 4) {
		p->os_error = r < 0 ? errno : 0;
		snprintf(p->error, sizeof(p->error), "not an NTP server answer (%zd bytes)", r);
		return;
	}
	{
		uint32_t sec = (uint32_t)pkt[40] << 24 | (uint32_t)pkt[41] << 16 |
		    (uint32_t)pkt[42] << 8 | pkt[43];
		uint32_t frac = (uint32_t)pkt[44] << 24 | (uint32_t)pkt[45] << 16 |
		    (uint32_t)pkt[46] << 8 | pkt[47];
		double server = (double)sec - 2208988800.0 + (double)frac / 4294967296.0;
		double mid = ((double)tx.tv_sec + (double)rx.tv_sec) / 2 +
		    ((double)tx.tv_nsec + (double)rx.tv_nsec) / 2e9;
		if (pkt[1] == 0 || sec == 0) {
			snprintf(p->error, sizeof(p->error), "the server is unsynchronised (stratum %u)",
			    pkt[1]);
			return;
		}
		snprintf(p->detail, sizeof(p->detail), "stratum %u, clock offset %+.3f s", pkt[1],
		    server - mid);
		p->status = "ok";
	}
}

static void
run_endpoint(const struct ep *e, const struct apd_netcheck_opts *o, SSL_CTX *ctx,
    struct apd_jw *w, unsigned *probes, unsigned *failures)
{
	struct addrinfo hints, *ai = NULL, *a;
	struct probe p;
	char port[16], addrs[256];
	int fd = -1, r;
	SSL *ssl = NULL;
	bool dns_ok = false, tcp_ok = false, tls_ok = false;
	double t0;

#define BEGIN(name) do { memset(&p, 0, sizeof(p)); p.check = (name); p.status = "failed"; } while (0)
#define END() do { jw_probe(w, e, &p); (*probes)++; if (strcmp(p.status, "failed") == 0) \
	(*failures)++; } while (0)
#define SKIP(name, why) do { BEGIN(name); p.status = "skipped"; \
	snprintf(p.error, sizeof(p.error), "%s", why); END(); } while (0)

	snprintf(port, sizeof(port), "%u", e->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = has_check(e, "ntp") && !has_check(e, "tcp") ? SOCK_DGRAM : SOCK_STREAM;
	BEGIN("dns");
	t0 = now_ms();
	r = getaddrinfo(e->host, port, &hints, &ai);
	p.ms = now_ms() - t0;
	if (r != 0) {
		snprintf(p.error, sizeof(p.error), "%s", gai_strerror(r));
		p.os_error = r == EAI_SYSTEM ? errno : 0;
	} else {
		size_t k = 0;
		addrs[0] = '\0';
		for (a = ai; a && k + 50 < sizeof(addrs); a = a->ai_next) {
			char h[INET6_ADDRSTRLEN] = "";
			if (getnameinfo(a->ai_addr, a->ai_addrlen, h, sizeof(h), NULL, 0,
			    NI_NUMERICHOST) == 0 && strstr(addrs, h) == NULL)
				k += (size_t)snprintf(addrs + k, sizeof(addrs) - k, "%s%s", k ? " " : "", h);
		}
		snprintf(p.detail, sizeof(p.detail), "%s", addrs);
		p.status = "ok";
		dns_ok = true;
	}
	if (has_check(e, "dns"))
		END();
	if (has_check(e, "tcp")) {
		if (!dns_ok) {
			SKIP("tcp", "no address: the DNS check failed");
		} else {
			BEGIN("tcp");
			t0 = now_ms();
			fd = tcp_connect(ai, o->timeout_ms, &p.os_error);
			p.ms = now_ms() - t0;
			if (fd < 0) {
				snprintf(p.error, sizeof(p.error), "%s", strerror(p.os_error));
			} else {
				p.status = "ok";
				tcp_ok = true;
				getnameinfo(ai->ai_addr, ai->ai_addrlen, addrs, sizeof(addrs), NULL, 0,
				    NI_NUMERICHOST);
				snprintf(p.detail, sizeof(p.detail), "connected to %s port %u", addrs, e->port);
			}
			END();
		}
	}
	if (has_check(e, "tls")) {
		if (!tcp_ok) {
			SKIP("tls", "no connection: the TCP check failed");
		} else {
			BEGIN("tls");
			ssl = SSL_new(ctx);
			t0 = now_ms();
			if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
			    SSL_set_tlsext_host_name(ssl, e->host) != 1 || SSL_set1_host(ssl, e->host) != 1) {
				ssl_error(p.error, sizeof(p.error), "cannot set up TLS");
			} else if ((r = SSL_connect(ssl)) != 1) {
				long v = SSL_get_verify_result(ssl);
				p.os_error = errno;
				if (v != X509_V_OK)
					snprintf(p.error, sizeof(p.error), "certificate not trusted: %s",
					    X509_verify_cert_error_string(v));
				else
					ssl_error(p.error, sizeof(p.error), "TLS handshake failed");
			} else {
				X509 *cert = SSL_get1_peer_certificate(ssl);
				char subj[200] = "", until[64] = "";
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
				long v = SSL_get_verify_result(ssl);
				snprintf(p.detail, sizeof(p.detail), "%s %s, certificate %s, valid until %s",
				    SSL_get_version(ssl), SSL_get_cipher_name(ssl), subj, until);
				if (v != X509_V_OK) {
					snprintf(p.error, sizeof(p.error), "certificate not trusted: %s",
					    X509_verify_cert_error_string(v));
				} else {
					p.status = "ok";
					tls_ok = true;
				}
			}
			p.ms = now_ms() - t0;
			END();
		}
	}
	if (has_check(e, "http")) {
		bool need_tls = has_check(e, "tls");
		if (!tcp_ok || (need_tls && !tls_ok)) {
			SKIP("http", need_tls ? "no TLS session: an earlier check failed" :
			    "no connection: an earlier check failed");
		} else {
			BEGIN("http");
			http_get(e, fd, need_tls ? ssl : NULL, o->timeout_ms, &p);
			END();
		}
	}
	if (has_check(e, "ntp")) {
		if (!dns_ok) {
			SKIP("ntp", "no address: the DNS check failed");
		} else {
			BEGIN("ntp");
			ntp_query(ai, e->port, o->timeout_ms, &p);
			END();
		}
	}
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
#undef BEGIN
#undef END
#undef SKIP
}

static char *
xattr(xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *s = v ? strdup((const char *)v) : NULL;

	xmlFree(v);
	return s;
}

static void
free_eps(struct ep *eps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(eps[i].id);
		free(eps[i].host);
		free(eps[i].purpose);
		free(eps[i].path);
		free(eps[i].expect);
		free(eps[i].checks);
	}
	free(eps);
}

int
apd_netcheck_run(const char *xml, size_t n, const struct apd_netcheck_opts *o, FILE *f,
    unsigned *probes, unsigned *failures, struct apd_error *err)
{
	struct ep *eps;
	size_t neps = 0, i;
	xmlDoc *doc;
	xmlNode *root, *c;
	SSL_CTX *ctx;
	struct apd_buf b;
	struct apd_jw w;
	char t[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	*probes = *failures = 0;
	doc = xmlReadMemory(xml, (int)n, "endpoints.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL ||
	    strcmp((const char *)root->name, "endpoints") != 0) {
		xmlFreeDoc(doc);
		return apd_set_error(err, APD_FAILED, "the endpoint list is not an <endpoints> document");
	}
	if ((eps = calloc(MAX_ENDPOINTS, sizeof(*eps))) == NULL) {
		xmlFreeDoc(doc);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	for (c = root->children; c && neps < MAX_ENDPOINTS; c = c->next) {
		struct ep *e = &eps[neps];
		char *port;
		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "endpoint") != 0)
			continue;
		e->id = xattr(c, "id");
		e->host = xattr(c, "host");
		e->purpose = xattr(c, "purpose");
		e->path = xattr(c, "path");
		e->expect = xattr(c, "expect");
		e->checks = xattr(c, "checks");
		port = xattr(c, "port");
		e->port = port ? (unsigned)strtoul(port, NULL, 10) : 443;
		free(port);
		neps++;
		if (e->id == NULL || e->host == NULL || e->checks == NULL || e->port == 0 ||
		    e->port > 65535) {
			xmlFreeDoc(doc);
			free_eps(eps, neps);
			return apd_set_error(err, APD_FAILED, "endpoints.xml:%d: <endpoint> needs id=, "
			    "host=, checks= and a port= of 1-65535", (int)xmlGetLineNo(c));
		}
	}
	xmlFreeDoc(doc);
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		free_eps(eps, neps);
		return apd_set_error(err, APD_FATAL, "cannot set up OpenSSL");
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);   /* the result is read and recorded */
	SSL_CTX_set_default_verify_paths(ctx);
	if (o->ca_file)
		SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL);
	apd_buf_init(&b, (size_t)64 << 20);
	apd_jw_begin(&w, &b);
	apd_jw_str(&w, "format", APD_SV_LIT("apdiag-netcheck"));
	apd_jw_int(&w, "format_version", 1);
	apd_jw_str(&w, "tool", apd_sv_cstr(apd_version()));
	apd_plat_gmtime(now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	apd_jw_str(&w, "started_utc", apd_sv_cstr(t));
	apd_jw_int(&w, "timeout_ms", o->timeout_ms);
	apd_jw_open(&w, "results", '[');
	for (i = 0; i < neps; i++)
		run_endpoint(&eps[i], o, ctx, &w, probes, failures);
	apd_jw_close(&w, ']');
	apd_jw_open(&w, "summary", '{');
	apd_jw_int(&w, "endpoints", (int64_t)neps);
	apd_jw_int(&w, "probes", *probes);
	apd_jw_int(&w, "failures", *failures);
	apd_jw_close(&w, '}');
	rc = apd_jw_end(&w);
	SSL_CTX_free(ctx);
	free_eps(eps, neps);
	if (rc == APD_OK)
		rc = apd_buf_addc(&b, '\n');
	if (rc != APD_OK) {
		apd_buf_done(&b);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	if (fwrite(b.p, 1, b.n, f) != b.n) {
		rc = apd_set_errno(err, APD_FATAL, errno, "cannot write the result");
		apd_buf_done(&b);
		errno = err->os_errno;
		return rc;
	}
	apd_buf_done(&b);
	return APD_OK;
}
