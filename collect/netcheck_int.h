/*
 * netcheck_int.h - the seam between the network check's shared part and
 * its platform probes.
 *
 *   netcheck_core.c  shared: the endpoint list (apd_xmlr.h), the order of
 *                    the checks, DNS (getaddrinfo), the HTTP request and
 *                    the reading of its answer, the SNTP packet and its
 *                    math, the JSON document (docs/sources/netcheck.md)
 *   netcheck.c       POSIX sockets and OpenSSL (every POSIX build)
 *   netcheck_win.c   Winsock2, and the TLS probe's Windows status
 *
 * getaddrinfo, getnameinfo, socket, sendto and recv have the same shape in
 * both; what differs (connecting with a time-out, waiting, closing, error
 * numbers and their text, the clocks, TLS) is below.
 */
#ifndef APD_NETCHECK_INT_H
#define APD_NETCHECK_INT_H

#include "collect.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
typedef SOCKET nc_sock;
#define NC_BAD_SOCK INVALID_SOCKET
#else
#include <netdb.h>
#include <sys/socket.h>
typedef int nc_sock;
#define NC_BAD_SOCK (-1)
#endif

struct nc_ep {
	char *id, *host, *purpose, *path, *expect, *checks;
	unsigned port;
};

struct nc_probe {
	const char *check;
	const char *status;   /* ok, failed, skipped */
	double ms;
	int os_error;
	char detail[512];
	char error[512];
};

struct nc_plat;   /* the platform's state for one run (the TLS context) */
struct nc_tls;    /* one TLS session */

int nc_plat_open(struct nc_plat **pl, const struct apd_netcheck_opts *o, struct apd_error *err);
void nc_plat_close(struct nc_plat *pl);

double nc_now_ms(void);   /* monotonic */
double nc_wall_s(void);   /* UTC, seconds since 1970 */
int nc_sock_errno(void);  /* the last socket error: errno, WSAGetLastError() */
void nc_strerror(int e, char *buf, size_t n);

/* A socket of the family and type; NC_BAD_SOCK with nc_sock_errno(). */
nc_sock nc_socket(int family, int type);
void nc_sock_close(nc_sock s);
/* Connect to ai within timeout_ms, then set the send/receive time-outs to it. */
nc_sock nc_tcp_connect(const struct addrinfo *ai, unsigned timeout_ms, int *err);
/* Wait until s is readable: 0, or the error (a time-out is the platform's ETIMEDOUT). */
int nc_wait_readable(nc_sock s, unsigned timeout_ms);

/* The TLS check on the connected s: fills p; *t is the session when p->status is "ok". */
void nc_tls_start(struct nc_plat *pl, nc_sock s, const struct nc_ep *e, struct nc_probe *p,
    struct nc_tls **t);
void nc_tls_end(struct nc_tls *t);
/* Send all of b / receive up to n bytes: the count, 0 at the end, -1 with *err. */
long nc_tls_send(struct nc_tls *t, const void *b, size_t n, int *err);
long nc_tls_recv(struct nc_tls *t, void *b, size_t n, int *err);

#endif /* APD_NETCHECK_INT_H */
