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
 * TLS is Schannel through SSPI: AcquireCredentialsHandle (manual
 * validation: the result is read and recorded, as with OpenSSL), the
 * InitializeSecurityContext loop with the host name as the target (SNI),
 * then QueryContextAttributes for the protocol, the cipher and the server's
 * certificate (subject, expiry), which CertGetCertificateChain and
 * CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL) verify against the
 * system's roots and the host name.  APDIAG_NETCHECK_CAFILE (tests) names
 * PEM certificates that are trusted as roots too.  HTTP over it goes
 * through EncryptMessage/DecryptMessage.
 */
#include "netcheck_int.h"
#include "plat.h"

#include <stdlib.h>
#include <string.h>
#include <windows.h>
#define SECURITY_WIN32
#include <security.h>
#include <schannel.h>
#include <wincrypt.h>

#define TLS_BUF 65536
#ifndef SECURITY_FLAG_IGNORE_UNKNOWN_CA
#define SECURITY_FLAG_IGNORE_UNKNOWN_CA 0x00000100   /* wininet.h; SSL_EXTRA_CERT_CHAIN_POLICY_PARA */
#endif

struct nc_plat {
	int started;
	bool have_cred;
	SECURITY_STATUS cred_status;   /* AcquireCredentialsHandle's, when it failed */
	CredHandle cred;
	HCERTSTORE extra;   /* APDIAG_NETCHECK_CAFILE's roots, or NULL */
};

struct nc_tls {
	struct nc_plat *pl;
	SOCKET s;
	CtxtHandle ctx;
	SecPkgContext_StreamSizes sizes;
	char host[256];
	size_t inlen;            /* received, not yet decrypted */
	size_t decoff, declen;   /* decrypted, not yet returned */
	char in[TLS_BUF];
	char dec[TLS_BUF];
	char out[TLS_BUF];
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

/* A memory store of the PEM certificates in path (APDIAG_NETCHECK_CAFILE); NULL if none. */
static HCERTSTORE
load_pem(const char *path)
{
	FILE *f = apd_plat_fopen(path, "rb");
	char *text, *p;
	size_t n;
	HCERTSTORE st = NULL;
	int added = 0;

	if (f == NULL)
		return NULL;
	if ((text = malloc(1 << 20)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = '\0';
	st = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, 0, NULL);
	for (p = text; st && (p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL; ) {
		char *end = strstr(p, "-----END CERTIFICATE-----");
		BYTE der[16384];
		DWORD dl = sizeof(der);
		if (end == NULL)
			break;
		end += 25;
		if (CryptStringToBinaryA(p, (DWORD)(end - p), CRYPT_STRING_BASE64HEADER, der, &dl, NULL,
		    NULL) && CertAddEncodedCertificateToStore(st, X509_ASN_ENCODING, der, dl,
		    CERT_STORE_ADD_REPLACE_EXISTING, NULL))
			added++;
		p = end;
	}
	free(text);
	if (st && added == 0) {
		CertCloseStore(st, 0);
		st = NULL;
	}
	return st;
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
	if (o->ca_file)
		(*pl)->extra = load_pem(o->ca_file);
	{
		SCHANNEL_CRED sc;
		TimeStamp exp;
		SECURITY_STATUS st;
		memset(&sc, 0, sizeof(sc));
		sc.dwVersion = SCHANNEL_CRED_VERSION;
		/* verified below and recorded, never refused by Schannel itself */
		sc.dwFlags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
		st = AcquireCredentialsHandleA(NULL, (SEC_CHAR *)UNISP_NAME_A, SECPKG_CRED_OUTBOUND,
		    NULL, &sc, NULL, NULL, &(*pl)->cred, &exp);
		(*pl)->have_cred = st == SEC_E_OK;   /* else each tls check says why */
		(*pl)->cred_status = st;
	}
	return APD_OK;
}

void
nc_plat_close(struct nc_plat *pl)
{
	if (pl->have_cred)
		FreeCredentialsHandle(&pl->cred);
	if (pl->extra)
		CertCloseStore(pl->extra, 0);
	if (pl->started)
		WSACleanup();
	free(pl);
}

/* "0x80090325 The certificate chain was issued by an authority that is not trusted" */
static void
sec_error(char *out, size_t n, const char *what, long st)
{
	char m[256];

	nc_strerror((int)st, m, sizeof(m));
	if (strncmp(m, "Winsock error", 13) == 0)
		snprintf(out, n, "%s: 0x%08lx", what, (unsigned long)st);
	else
		snprintf(out, n, "%s: 0x%08lx %s", what, (unsigned long)st, m);
}

/* send all of b; 0 or the Winsock error */
static int
send_all(SOCKET s, const char *b, size_t n)
{
	while (n > 0) {
		int r = send(s, b, (int)n, 0);
		if (r <= 0)
			return r < 0 ? WSAGetLastError() : WSAECONNRESET;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* receive more into t->in; 0, or the Winsock error (WSAECONNRESET at the end) */
static int
recv_more(struct nc_tls *t)
{
	int r;

	if (t->inlen >= sizeof(t->in))
		return WSAEMSGSIZE;
	r = recv(t->s, t->in + t->inlen, (int)(sizeof(t->in) - t->inlen), 0);
	if (r <= 0)
		return r < 0 ? WSAGetLastError() : WSAECONNRESET;
	t->inlen += (size_t)r;
	return 0;
}

/* One InitializeSecurityContext step on what t->in holds; sends its token. */
static SECURITY_STATUS
isc_step(struct nc_tls *t, bool first, int *werr)
{
	DWORD flags = ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY |
	    ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM, attr = 0;
	SecBuffer ib[2], ob[1];
	SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, ob };
	SECURITY_STATUS st;

	ib[0].BufferType = SECBUFFER_TOKEN;
	ib[0].pvBuffer = t->in;
	ib[0].cbBuffer = (unsigned long)t->inlen;
	ib[1].BufferType = SECBUFFER_EMPTY;
	ib[1].pvBuffer = NULL;
	ib[1].cbBuffer = 0;
	ob[0].BufferType = SECBUFFER_TOKEN;
	ob[0].pvBuffer = NULL;
	ob[0].cbBuffer = 0;
	st = InitializeSecurityContextA(&t->pl->cred, first ? NULL : &t->ctx, t->host, flags, 0, 0,
	    first ? NULL : &id, 0, first ? &t->ctx : NULL, &od, &attr, NULL);
	if (ob[0].pvBuffer && ob[0].cbBuffer) {
		if (st != SEC_E_INCOMPLETE_MESSAGE)
			*werr = send_all(t->s, ob[0].pvBuffer, ob[0].cbBuffer);
		FreeContextBuffer(ob[0].pvBuffer);
	}
	if (st == SEC_E_INCOMPLETE_MESSAGE || first)
		return st;
	if (ib[1].BufferType == SECBUFFER_EXTRA && ib[1].cbBuffer > 0 && ib[1].cbBuffer <= t->inlen) {
		memmove(t->in, t->in + t->inlen - ib[1].cbBuffer, ib[1].cbBuffer);
		t->inlen = ib[1].cbBuffer;
	} else {
		t->inlen = 0;
	}
	return st;
}

static const char *
proto_name(DWORD p)
{
	if (p & SP_PROT_TLS1_3_CLIENT)
		return "TLSv1.3";
	if (p & SP_PROT_TLS1_2_CLIENT)
		return "TLSv1.2";
	if (p & SP_PROT_TLS1_1_CLIENT)
		return "TLSv1.1";
	if (p & SP_PROT_TLS1_0_CLIENT)
		return "TLSv1";
	return "SSL/TLS (unknown version)";
}

static void
cipher_name(struct nc_tls *t, const SecPkgContext_ConnectionInfo *ci, char *out, size_t n)
{
	SecPkgContext_CipherInfo cs;
	const char *alg;

	memset(&cs, 0, sizeof(cs));
	cs.dwVersion = SECPKGCONTEXT_CIPHERINFO_V1;
	if (QueryContextAttributesA(&t->ctx, SECPKG_ATTR_CIPHER_INFO, &cs) == SEC_E_OK &&
	    cs.szCipherSuite[0] &&
	    WideCharToMultiByte(CP_UTF8, 0, cs.szCipherSuite, -1, out, (int)n, NULL, NULL) > 0)
		return;
	switch (ci->aiCipher) {
	case CALG_AES_128: alg = "AES"; break;
	case CALG_AES_192: alg = "AES"; break;
	case CALG_AES_256: alg = "AES"; break;
	case CALG_3DES: alg = "3DES"; break;
	case CALG_RC4: alg = "RC4"; break;
	default: alg = "cipher"; break;
	}
	snprintf(out, n, "%s-%lu (ALG_ID 0x%04x)", alg, (unsigned long)ci->dwCipherStrength,
	    (unsigned)ci->aiCipher);
}

/* OpenSSL's ASN1_TIME_print form, "Nov 24 21:00:00 2026 GMT", as the Linux build writes */
static void
cert_time(const FILETIME *ft, char *out, size_t n)
{
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	    "Sep", "Oct", "Nov", "Dec" };
	SYSTEMTIME st;

	if (!FileTimeToSystemTime(ft, &st) || st.wMonth < 1 || st.wMonth > 12) {
		snprintf(out, n, "?");
		return;
	}
	snprintf(out, n, "%s %2u %02u:%02u:%02u %u GMT", mon[st.wMonth - 1], st.wDay, st.wHour,
	    st.wMinute, st.wSecond, st.wYear);
}

/* The chain of cert through the system's roots (and the test roots): 0 or the error. */
static DWORD
verify_cert(struct nc_tls *t, PCCERT_CONTEXT cert, char *why, size_t n)
{
	LPSTR usage[] = { (LPSTR)szOID_PKIX_KP_SERVER_AUTH };
	CERT_CHAIN_PARA cp;
	PCCERT_CHAIN_CONTEXT chain = NULL;
	SSL_EXTRA_CERT_CHAIN_POLICY_PARA sp;
	CERT_CHAIN_POLICY_PARA pp;
	CERT_CHAIN_POLICY_STATUS ps;
	HCERTSTORE more = cert->hCertStore, coll = NULL;
	WCHAR whost[256];
	DWORD e;

	if (t->pl->extra && (coll = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, 0, 0, NULL))) {
		CertAddStoreToCollection(coll, cert->hCertStore, 0, 0);
		CertAddStoreToCollection(coll, t->pl->extra, 0, 0);
		more = coll;
	}
	memset(&cp, 0, sizeof(cp));
	cp.cbSize = sizeof(cp);
	cp.RequestedUsage.dwType = USAGE_MATCH_TYPE_AND;
	cp.RequestedUsage.Usage.cUsageIdentifier = 1;
	cp.RequestedUsage.Usage.rgpszUsageIdentifier = usage;
	if (!CertGetCertificateChain(NULL, cert, NULL, more, &cp, 0, NULL, &chain)) {
		e = GetLastError();
		sec_error(why, n, "CertGetCertificateChain", (long)e);
		goto out;
	}
	MultiByteToWideChar(CP_UTF8, 0, t->host, -1, whost, 256);
	memset(&sp, 0, sizeof(sp));
	sp.cbSize = sizeof(sp);
	sp.dwAuthType = AUTHTYPE_SERVER;
	sp.pwszServerName = whost;
	memset(&pp, 0, sizeof(pp));
	pp.cbSize = sizeof(pp);
	pp.pvExtraPolicyPara = &sp;
	memset(&ps, 0, sizeof(ps));
	ps.cbSize = sizeof(ps);
	if (!CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain, &pp, &ps)) {
		e = GetLastError();
		sec_error(why, n, "CertVerifyCertificateChainPolicy", (long)e);
		goto out;
	}
	e = ps.dwError;
	if ((LONG)e == CERT_E_UNTRUSTEDROOT && t->pl->extra && chain->cChain > 0 &&
	    chain->rgpChain[0]->cElement > 0) {
		/* a root from APDIAG_NETCHECK_CAFILE: trusted; the name and dates still count */
		PCERT_SIMPLE_CHAIN c0 = chain->rgpChain[0];
		PCCERT_CONTEXT root = c0->rgpElement[c0->cElement - 1]->pCertContext, hit;
		hit = CertFindCertificateInStore(t->pl->extra, X509_ASN_ENCODING, 0,
		    CERT_FIND_EXISTING, root, NULL);
		if (hit) {
			CertFreeCertificateContext(hit);
			sp.fdwChecks = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
			memset(&ps, 0, sizeof(ps));
			ps.cbSize = sizeof(ps);
			if (CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain, &pp, &ps))
				e = ps.dwError;
		}
	}
	if (e != 0)
		sec_error(why, n, "certificate not trusted", (long)e);
out:
	if (chain)
		CertFreeCertificateChain(chain);
	if (coll)
		CertCloseStore(coll, 0);
	return e;
}

void
nc_tls_start(struct nc_plat *pl, nc_sock s, const struct nc_ep *e, struct nc_probe *p,
    struct nc_tls **tp)
{
	struct nc_tls *t;
	SECURITY_STATUS st;
	SecPkgContext_ConnectionInfo ci;
	PCCERT_CONTEXT cert = NULL;
	char subj[200] = "", until[64] = "", cipher[128] = "", why[400] = "";
	int werr = 0;
	bool need_read;

	*tp = NULL;
	if (!pl->have_cred) {
		p->os_error = (int)pl->cred_status;
		sec_error(p->error, sizeof(p->error), "cannot set up TLS (AcquireCredentialsHandle)",
		    (long)pl->cred_status);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(p->error, sizeof(p->error), "cannot set up TLS: out of memory");
		return;
	}
	t->pl = pl;
	t->s = s;
	snprintf(t->host, sizeof(t->host), "%s", e->host);
	st = isc_step(t, true, &werr);
	if (st != SEC_I_CONTINUE_NEEDED) {
		p->os_error = (int)st;
		sec_error(p->error, sizeof(p->error), "TLS handshake failed", st);
		free(t);
		return;
	}
	need_read = true;
	while (st == SEC_I_CONTINUE_NEEDED || st == SEC_E_INCOMPLETE_MESSAGE) {
		if (werr)
			break;
		if (need_read && (werr = recv_more(t)) != 0)
			break;
		st = isc_step(t, false, &werr);
		need_read = st == SEC_E_INCOMPLETE_MESSAGE || t->inlen == 0;
	}
	if (werr || st != SEC_E_OK) {
		if (werr) {
			char m[256];
			nc_strerror(werr, m, sizeof(m));
			p->os_error = werr;
			snprintf(p->error, sizeof(p->error), "TLS handshake failed: %s", m);
		} else {
			p->os_error = (int)st;
			sec_error(p->error, sizeof(p->error), "TLS handshake failed", st);
		}
		*tp = t;   /* the context is deleted by nc_tls_end */
		return;
	}
	*tp = t;
	if (QueryContextAttributesA(&t->ctx, SECPKG_ATTR_STREAM_SIZES, &t->sizes) != SEC_E_OK ||
	    t->sizes.cbHeader + t->sizes.cbMaximumMessage + t->sizes.cbTrailer > TLS_BUF)
		t->sizes.cbMaximumMessage = 0;
	memset(&ci, 0, sizeof(ci));
	QueryContextAttributesA(&t->ctx, SECPKG_ATTR_CONNECTION_INFO, &ci);
	cipher_name(t, &ci, cipher, sizeof(cipher));
	if (QueryContextAttributesA(&t->ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &cert) != SEC_E_OK)
		cert = NULL;
	if (cert) {
		CertNameToStrA(X509_ASN_ENCODING, &cert->pCertInfo->Subject,
		    CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG, subj, sizeof(subj));
		cert_time(&cert->pCertInfo->NotAfter, until, sizeof(until));
	}
	snprintf(p->detail, sizeof(p->detail), "%s %s, certificate %s, valid until %s",
	    proto_name(ci.dwProtocol), cipher, subj, until);
	if (cert == NULL) {
		snprintf(p->error, sizeof(p->error), "certificate not trusted: the server sent none");
	} else if ((p->os_error = (int)verify_cert(t, cert, why, sizeof(why))) != 0) {
		snprintf(p->error, sizeof(p->error), "%s", why);
	} else if (t->sizes.cbMaximumMessage == 0) {
		snprintf(p->error, sizeof(p->error), "TLS: no stream sizes from Schannel");
	} else {
		p->status = "ok";
	}
	if (cert)
		CertFreeCertificateContext(cert);
}

void
nc_tls_end(struct nc_tls *t)
{
	DeleteSecurityContext(&t->ctx);
	free(t);
}

long
nc_tls_send(struct nc_tls *t, const void *b, size_t n, int *err)
{
	size_t done = 0;

	*err = 0;
	while (done < n) {
		size_t k = n - done;
		SecBuffer sb[4];
		SecBufferDesc d = { SECBUFFER_VERSION, 4, sb };
		SECURITY_STATUS st;
		if (k > t->sizes.cbMaximumMessage)
			k = t->sizes.cbMaximumMessage;
		memcpy(t->out + t->sizes.cbHeader, (const char *)b + done, k);
		sb[0].BufferType = SECBUFFER_STREAM_HEADER;
		sb[0].pvBuffer = t->out;
		sb[0].cbBuffer = t->sizes.cbHeader;
		sb[1].BufferType = SECBUFFER_DATA;
		sb[1].pvBuffer = t->out + t->sizes.cbHeader;
		sb[1].cbBuffer = (unsigned long)k;
		sb[2].BufferType = SECBUFFER_STREAM_TRAILER;
		sb[2].pvBuffer = t->out + t->sizes.cbHeader + k;
		sb[2].cbBuffer = t->sizes.cbTrailer;
		sb[3].BufferType = SECBUFFER_EMPTY;
		sb[3].pvBuffer = NULL;
		sb[3].cbBuffer = 0;
		if ((st = EncryptMessage(&t->ctx, 0, &d, 0)) != SEC_E_OK) {
			*err = (int)st;
			return -1;
		}
		if ((*err = send_all(t->s, t->out, sb[0].cbBuffer + sb[1].cbBuffer + sb[2].cbBuffer)))
			return -1;
		done += k;
	}
	return (long)n;
}

long
nc_tls_recv(struct nc_tls *t, void *b, size_t n, int *err)
{
	*err = 0;
	while (t->declen == 0) {
		SecBuffer sb[4];
		SecBufferDesc d = { SECBUFFER_VERSION, 4, sb };
		SECURITY_STATUS st;
		int i;
		if (t->inlen == 0) {
			if ((*err = recv_more(t)) != 0) {
				if (*err == WSAECONNRESET)
					*err = 0;
				return *err ? -1 : 0;
			}
		}
		sb[0].BufferType = SECBUFFER_DATA;
		sb[0].pvBuffer = t->in;
		sb[0].cbBuffer = (unsigned long)t->inlen;
		for (i = 1; i < 4; i++) {
			sb[i].BufferType = SECBUFFER_EMPTY;
			sb[i].pvBuffer = NULL;
			sb[i].cbBuffer = 0;
		}
		st = DecryptMessage(&t->ctx, &d, 0, NULL);
		if (st == SEC_E_INCOMPLETE_MESSAGE) {
			if ((*err = recv_more(t)) != 0) {
				if (*err == WSAECONNRESET)
					*err = 0;
				return *err ? -1 : 0;
			}
			continue;
		}
		if (st == SEC_I_CONTEXT_EXPIRED)
			return 0;   /* close_notify */
		if (st != SEC_E_OK && st != SEC_I_RENEGOTIATE) {
			*err = (int)st;
			return -1;
		}
		{
			char *extra = NULL;
			size_t nextra = 0;
			for (i = 1; i < 4; i++) {
				if (sb[i].BufferType == SECBUFFER_DATA && sb[i].cbBuffer > 0) {
					memcpy(t->dec, sb[i].pvBuffer, sb[i].cbBuffer);
					t->decoff = 0;
					t->declen = sb[i].cbBuffer;
				} else if (sb[i].BufferType == SECBUFFER_EXTRA && sb[i].cbBuffer > 0) {
					extra = sb[i].pvBuffer;
					nextra = sb[i].cbBuffer;
				}
			}
			if (extra)
				memmove(t->in, extra, nextra);
			t->inlen = nextra;
		}
		if (st == SEC_I_RENEGOTIATE) {
			/* TLS 1.3 post-handshake messages (session tickets): back to the context */
			int werr = 0;
			st = isc_step(t, false, &werr);
			if (werr || (st != SEC_E_OK && st != SEC_I_CONTINUE_NEEDED)) {
				*err = werr ? werr : (int)st;
				return -1;
			}
		}
	}
	if (n > t->declen)
		n = t->declen;
	memcpy(b, t->dec + t->decoff, n);
	t->decoff += n;
	t->declen -= n;
	return (long)n;
}
