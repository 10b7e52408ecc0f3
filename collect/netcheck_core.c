/*
 * netcheck_core.c - reachability of the Autopilot endpoints (collect
 * --network): the part both builds share.
 *
 * Exports apd_netcheck_run.  The endpoint list is a data file
 * (collect/endpoints.xml, embedded; --endpoints FILE replaces it, which is
 * how the tests point it at servers of their own on 127.0.0.1).  Each
 * endpoint names its checks, run in this order with one time-out each:
 *   dns   getaddrinfo: the addresses and the time taken
 *   tcp   a connect to the first address and the port
 *   tls   the platform's handshake with SNI (netcheck.c: OpenSSL;
 *         netcheck_win.c: not built yet, recorded as skipped with why):
 *         protocol, cipher, verification result, certificate subject and
 *         expiry
 *   http  "GET path" over the TLS connection (or plain TCP for port 80):
 *         status line, and whether the body holds the expected text (NCSI)
 *   ntp   one SNTP v4 query over UDP: stratum, round trip and clock offset
 * A check that cannot run because an earlier one failed is "skipped".
 * Proxies are not used: the device's own path to the service is what is
 * measured (docs/collect.md says what that leaves out).
 *
 * The result is one JSON document (docs/sources/netcheck.md), read back
 * by lib/parsers/apd_parse_netcheck.c.  The platform probes are behind
 * netcheck_int.h.
 */
#include "netcheck_int.h"
#include "plat.h"
#include "apd_json.h"
#include "apd_xmlr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#define NC_SOCK_FLAGS 0
#define NC_NOSIGNAL 0
#else
#define NC_SOCK_FLAGS SOCK_CLOEXEC
#define NC_NOSIGNAL MSG_NOSIGNAL
#endif

#define MAX_ENDPOINTS 256

static bool
has_check(const struct nc_ep *e, const char *c)
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
utc_now(char t[32])
{
	struct tm tm;

	apd_plat_gmtime(time(NULL), &tm);
	strftime(t, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
jw_probe(struct apd_jw *w, const struct nc_ep *e, const struct nc_probe *p)
{
	char t[32];

	utc_now(t);
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

static void
set_os_error(struct nc_probe *p, int e, const char *what)
{
	char m[256];

	p->os_error = e;
	nc_strerror(e, m, sizeof(m));
	snprintf(p->error, sizeof(p->error), "%s%s%s", what, what[0] ? ": " : "", m);
}

/* HTTP GET over s, or over t when it is set; fills p. */
static void
http_get(const struct nc_ep *e, nc_sock s, struct nc_tls *t, struct nc_probe *p)
{
	char req[1024], buf[8192];
	size_t got = 0;
	double t0 = nc_now_ms();
	long r;
	int err = 0;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: apdiag/%s netcheck\r\n"
	    "Accept: */*\r\nConnection: close\r\n\r\n", e->path ? e->path : "/", e->host,
	    apd_version());
	if (t) {
		r = nc_tls_send(t, req, strlen(req), &err);
	} else {
		r = send(s, req, (int)strlen(req), NC_NOSIGNAL);
		err = r < 0 ? nc_sock_errno() : 0;
	}
	if (r <= 0) {
		set_os_error(p, err, "cannot send the request");
		goto done;
	}
	err = 0;
	while (got + 1 < sizeof(buf)) {
		if (t) {
			r = nc_tls_recv(t, buf + got, sizeof(buf) - 1 - got, &err);
		} else {
			r = recv(s, buf + got, (int)(sizeof(buf) - 1 - got), 0);
			err = r < 0 ? nc_sock_errno() : 0;
		}
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (got == 0) {
		if (err)
			set_os_error(p, err, "no response");
		else
			snprintf(p->error, sizeof(p->error), "no response");
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
	p->ms = nc_now_ms() - t0;
}

static void
ntp_query(const struct addrinfo *ai, unsigned port, unsigned timeout_ms, struct nc_probe *p)
{
	unsigned char pkt[48];
	struct sockaddr_storage ss;
	double t0 = nc_now_ms(), tx, rx;
	nc_sock s;
	long r;
	int e;

	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x23;   /* LI 0, version 4, mode 3 (client) */
	s = nc_socket(ss.ss_family, SOCK_DGRAM);
	if (s == NC_BAD_SOCK) {
		set_os_error(p, nc_sock_errno(), "socket");
		return;
	}
	tx = nc_wall_s();
	if (sendto(s, (const char *)pkt, sizeof(pkt), 0, (struct sockaddr *)&ss,
	    (socklen_t)ai->ai_addrlen) != 48) {
		set_os_error(p, nc_sock_errno(), "send");
		nc_sock_close(s);
		return;
	}
	if ((e = nc_wait_readable(s, timeout_ms)) != 0) {
		set_os_error(p, e, "no NTP answer");
		nc_sock_close(s);
		p->ms = nc_now_ms() - t0;
		return;
	}
	r = recv(s, (char *)pkt, sizeof(pkt), 0);
	e = r < 0 ? nc_sock_errno() : 0;
	rx = nc_wall_s();
	p->ms = nc_now_ms() - t0;
	nc_sock_close(s);
	if (r < 48 || (pkt[0] & 7) != 4) {
		p->os_error = e;
		snprintf(p->error, sizeof(p->error), "not an NTP server answer (%ld bytes)", r);
		return;
	}
	{
		uint32_t sec = (uint32_t)pkt[40] << 24 | (uint32_t)pkt[41] << 16 |
		    (uint32_t)pkt[42] << 8 | pkt[43];
		uint32_t frac = (uint32_t)pkt[44] << 24 | (uint32_t)pkt[45] << 16 |
		    (uint32_t)pkt[46] << 8 | pkt[47];
		double server = (double)sec - 2208988800.0 + (double)frac / 4294967296.0;
		if (pkt[1] == 0 || sec == 0) {
			snprintf(p->error, sizeof(p->error), "the server is unsynchronised (stratum %u)",
			    pkt[1]);
			return;
		}
		snprintf(p->detail, sizeof(p->detail), "stratum %u, clock offset %+.3f s", pkt[1],
		    server - (tx + rx) / 2);
		p->status = "ok";
	}
}

static void
run_endpoint(const struct nc_ep *e, const struct apd_netcheck_opts *o, struct nc_plat *pl,
    struct apd_jw *w, unsigned *probes, unsigned *failures)
{
	struct addrinfo hints, *ai = NULL, *a;
	struct nc_probe p;
	char port[16], addrs[256];
	nc_sock s = NC_BAD_SOCK;
	struct nc_tls *tls = NULL;
	int r;
	bool dns_ok = false, tcp_ok = false, tls_ok = false, tls_ran = true;
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
	t0 = nc_now_ms();
	r = getaddrinfo(e->host, port, &hints, &ai);
	p.ms = nc_now_ms() - t0;
	if (r != 0) {
		snprintf(p.error, sizeof(p.error), "%s", gai_strerror(r));
#ifdef EAI_SYSTEM
		p.os_error = r == EAI_SYSTEM ? errno : 0;
#else
		p.os_error = r;   /* Winsock: the WSA error itself */
#endif
	} else {
		size_t k = 0;
		addrs[0] = '\0';
		for (a = ai; a && k + 50 < sizeof(addrs); a = a->ai_next) {
			char h[INET6_ADDRSTRLEN] = "";
			if (getnameinfo(a->ai_addr, (socklen_t)a->ai_addrlen, h, sizeof(h), NULL, 0,
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
			t0 = nc_now_ms();
			s = nc_tcp_connect(ai, o->timeout_ms, &p.os_error);
			p.ms = nc_now_ms() - t0;
			if (s == NC_BAD_SOCK) {
				set_os_error(&p, p.os_error, "");
			} else {
				p.status = "ok";
				tcp_ok = true;
				getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, addrs, sizeof(addrs), NULL,
				    0, NI_NUMERICHOST);
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
			t0 = nc_now_ms();
			nc_tls_start(pl, s, e, &p, &tls);
			p.ms = nc_now_ms() - t0;
			tls_ok = strcmp(p.status, "ok") == 0 && tls != NULL;
			tls_ran = strcmp(p.status, "skipped") != 0;
			END();
		}
	}
	if (has_check(e, "http")) {
		bool need_tls = has_check(e, "tls");
		if (!tcp_ok || (need_tls && !tls_ok)) {
			SKIP("http", !tls_ran ? "no TLS session: the TLS check could not run" :
			    need_tls ? "no TLS session: an earlier check failed" :
			    "no connection: an earlier check failed");
		} else {
			BEGIN("http");
			http_get(e, s, need_tls ? tls : NULL, &p);
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
	if (tls)
		nc_tls_end(tls);
	if (s != NC_BAD_SOCK)
		nc_sock_close(s);
	if (ai)
		freeaddrinfo(ai);
#undef BEGIN
#undef END
#undef SKIP
}

nc_sock
nc_socket(int family, int type)
{
	return socket(family, type | NC_SOCK_FLAGS, 0);
}

static void
free_eps(struct nc_ep *eps, size_t n)
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

/* The <endpoint> elements of the list into eps (MAX_ENDPOINTS at the most). */
static int
read_endpoints(const char *xml, size_t n, struct nc_ep *eps, size_t *neps, struct apd_error *err)
{
	struct apd_xmlr *r;
	struct apd_error xe;
	int t;
	bool root = false;

	apd_error_clear(&xe);
	if (apd_xmlr_open(&r, xml, n, "endpoints.xml", &xe) != APD_OK)
		return apd_set_error(err, APD_FAILED, "the endpoint list is not an <endpoints> document");
	while ((t = apd_xmlr_next(r, &xe)) > 0) {
		struct nc_ep *e;
		char *port;
		if (t != APD_XMLR_START)
			continue;
		if (apd_xmlr_depth(r) == 0) {
			root = strcmp(apd_xmlr_name(r), "endpoints") == 0;
			if (!root)
				break;
			continue;
		}
		if (apd_xmlr_depth(r) != 1 || strcmp(apd_xmlr_name(r), "endpoint") != 0 ||
		    *neps >= MAX_ENDPOINTS)
			continue;
		e = &eps[(*neps)++];
		e->id = apd_xmlr_attr(r, "id");
		e->host = apd_xmlr_attr(r, "host");
		e->purpose = apd_xmlr_attr(r, "purpose");
		e->path = apd_xmlr_attr(r, "path");
		e->expect = apd_xmlr_attr(r, "expect");
		e->checks = apd_xmlr_attr(r, "checks");
		port = apd_xmlr_attr(r, "port");
		e->port = port ? (unsigned)strtoul(port, NULL, 10) : 443;
		free(port);
		if (e->id == NULL || e->host == NULL || e->checks == NULL || e->port == 0 ||
		    e->port > 65535) {
			long line = apd_xmlr_line(r);
			apd_xmlr_free(r);
			return apd_set_error(err, APD_FAILED, "endpoints.xml:%ld: <endpoint> needs id=, "
			    "host=, checks= and a port= of 1-65535", line);
		}
	}
	apd_xmlr_free(r);
	if (t < 0 || !root)
		return apd_set_error(err, APD_FAILED, "the endpoint list is not an <endpoints> document");
	return APD_OK;
}

int
apd_netcheck_run(const char *xml, size_t n, const struct apd_netcheck_opts *o, FILE *f,
    unsigned *probes, unsigned *failures, struct apd_error *err)
{
	struct nc_ep *eps;
	size_t neps = 0, i;
	struct nc_plat *pl;
	struct apd_buf b;
	struct apd_jw w;
	char t[32];
	int rc;

	*probes = *failures = 0;
	if ((eps = calloc(MAX_ENDPOINTS, sizeof(*eps))) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	if ((rc = read_endpoints(xml, n, eps, &neps, err)) != APD_OK ||
	    (rc = nc_plat_open(&pl, o, err)) != APD_OK) {
		free_eps(eps, neps);
		return rc;
	}
	apd_buf_init(&b, (size_t)64 << 20);
	apd_jw_begin(&w, &b);
	apd_jw_str(&w, "format", APD_SV_LIT("apdiag-netcheck"));
	apd_jw_int(&w, "format_version", 1);
	apd_jw_str(&w, "tool", apd_sv_cstr(apd_version()));
	utc_now(t);
	apd_jw_str(&w, "started_utc", apd_sv_cstr(t));
	apd_jw_int(&w, "timeout_ms", o->timeout_ms);
	apd_jw_open(&w, "results", '[');
	for (i = 0; i < neps; i++)
		run_endpoint(&eps[i], o, pl, &w, probes, failures);
	apd_jw_close(&w, ']');
	apd_jw_open(&w, "summary", '{');
	apd_jw_int(&w, "endpoints", (int64_t)neps);
	apd_jw_int(&w, "probes", *probes);
	apd_jw_int(&w, "failures", *failures);
	apd_jw_close(&w, '}');
	rc = apd_jw_end(&w);
	nc_plat_close(pl);
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
