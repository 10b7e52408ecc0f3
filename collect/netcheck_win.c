/*
 * netcheck_win.c - the network check's probes in the Windows build:
 * Winsock2.
 *
 * The check itself (endpoint list, order of the checks, DNS through
 * getaddrinfo, HTTP, SNTP, the JSON document) is netcheck_core.c, shared
 * with the Linux build, so apdiag.exe writes the same network/netcheck.json.
 * Here: WSAStartup, a non-blocking connect whose completion is awaited with
 * select(), the send/receive time-outs (SO_RCVTIMEO/SO_SNDTIMEO in ms),
 * Winsock error numbers (WSAGetLastError) and their text (FormatMessage),
 * the clocks (QueryPerformanceCounter, GetSystemTimePreciseAsFileTime).
 *
 * TLS is not built yet: the Schannel (SSPI) probe is still to be written.
 * The tls check is recorded as "skipped" with that reason, and the http
 * check of a TLS endpoint as skipped because of it; DNS and TCP of the
 * same endpoint, plain HTTP (NCSI, port 80) and NTP are real.
 */
#include "netcheck_int.h"

#include <stdlib.h>
#include <string.h>
#include <windows.h>

struct nc_plat {
	int started;
};

double
nc_now_ms(void)
{
	static LARGE_INTEGER f;
	LARGE_INTEGER c;

	if (f.QuadPart == 0)
		QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&c);
	return (double)c.QuadPart * 1000.0 / (double)f.QuadPart;
}

double
nc_wall_s(void)
{
	FILETIME ft;
	ULARGE_INTEGER u;

	GetSystemTimePreciseAsFileTime(&ft);
	u.LowPart = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	/* 100 ns since 1601 */
	return (double)(u.QuadPart - 116444736000000000ULL) / 1e7;
}

int
nc_sock_errno(void)
{
	return WSAGetLastError();
}

void
nc_strerror(int e, char *buf, size_t n)
{
	DWORD k = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
	    (DWORD)e, MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), buf, (DWORD)n, NULL);

	if (k == 0)
		k = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
		    (DWORD)e, 0, buf, (DWORD)n, NULL);
	while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == '\r' || buf[k - 1] == ' ' ||
	    buf[k - 1] == '.'))
		buf[--k] = '\0';
	if (k == 0)
		snprintf(buf, n, "Winsock error %d", e);
}

void
nc_sock_close(nc_sock s)
{
	closesocket(s);
}

int
nc_wait_readable(nc_sock s, unsigned timeout_ms)
{
	fd_set rd;
	struct timeval tv = { (long)(timeout_ms / 1000), (long)(timeout_ms % 1000) * 1000 };
	int r;

	FD_ZERO(&rd);
	FD_SET(s, &rd);
	r = select(0, &rd, NULL, NULL, &tv);
	if (r == 0)
		return WSAETIMEDOUT;
	return r < 0 ? WSAGetLastError() : 0;
}

nc_sock
nc_tcp_connect(const struct addrinfo *ai, unsigned timeout_ms, int *err)
{
	SOCKET s = nc_socket(ai->ai_family, SOCK_STREAM);
	u_long nb = 1;
	DWORD tmo = timeout_ms;

	if (s == INVALID_SOCKET) {
		*err = WSAGetLastError();
		return s;
	}
	ioctlsocket(s, FIONBIO, &nb);
	if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
		fd_set wr, ex;
		struct timeval tv = { (long)(timeout_ms / 1000), (long)(timeout_ms % 1000) * 1000 };
		int e = WSAGetLastError(), r, el = sizeof(e);
		if (e != WSAEWOULDBLOCK) {
			*err = e;
			closesocket(s);
			return INVALID_SOCKET;
		}
		/* success is writability; a refused connect is in the exception set */
		FD_ZERO(&wr);
		FD_ZERO(&ex);
		FD_SET(s, &wr);
		FD_SET(s, &ex);
		r = select(0, NULL, &wr, &ex, &tv);
		if (r == 0) {
			*err = WSAETIMEDOUT;
			closesocket(s);
			return INVALID_SOCKET;
		}
		e = 0;
		if (r < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&e, &el) != 0 || e != 0 ||
		    FD_ISSET(s, &ex)) {
			*err = e ? e : r < 0 ? WSAGetLastError() : WSAECONNREFUSED;
			closesocket(s);
			return INVALID_SOCKET;
		}
	}
	nb = 0;
	ioctlsocket(s, FIONBIO, &nb);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tmo, sizeof(tmo));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&tmo, sizeof(tmo));
	return s;
}

int
nc_plat_open(struct nc_plat **pl, const struct apd_netcheck_opts *o, struct apd_error *err)
{
	WSADATA wd;
	int e;

	(void)o;
	if ((*pl = calloc(1, sizeof(**pl))) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	if ((e = WSAStartup(MAKEWORD(2, 2), &wd)) != 0) {
		free(*pl);
		err->os_errno = e;
		return apd_set_error(err, APD_FAILED, "WSAStartup failed (%d): no Winsock", e);
	}
	(*pl)->started = 1;
	return APD_OK;
}

void
nc_plat_close(struct nc_plat *pl)
{
	if (pl->started)
		WSACleanup();
	free(pl);
}

void
nc_tls_start(struct nc_plat *pl, nc_sock s, const struct nc_ep *e, struct nc_probe *p,
    struct nc_tls **t)
{
	(void)pl;
	(void)s;
	(void)e;
	*t = NULL;
	p->status = "skipped";
	snprintf(p->error, sizeof(p->error), "could not run: the TLS check (Schannel) is not in the "
	    "Windows build yet; DNS and TCP of this endpoint were checked");
}

void
nc_tls_end(struct nc_tls *t)
{
	(void)t;
}

long
nc_tls_send(struct nc_tls *t, const void *b, size_t n, int *err)
{
	(void)t;
	(void)b;
	(void)n;
	*err = WSAENOTCONN;
	return -1;
}

long
nc_tls_recv(struct nc_tls *t, void *b, size_t n, int *err)
{
	(void)t;
	(void)b;
	(void)n;
	*err = WSAENOTCONN;
	return -1;
}
