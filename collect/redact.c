/*
 * redact.c - --redact: replace personal data in text with stable tokens.
 *
 * Exports apd_redact_text.  What is replaced (docs/collect.md):
 *   - UPNs and e-mail addresses: local@domain.tld  -> user-<10 hex>@redacted.invalid
 *   - the user name in profile paths: \Users\<name>\ or /Users/<name>/ (any
 *     case) -> \Users\user-<10 hex>\ ; Public, Default, "Default User",
 *     "All Users" and defaultuser0 (the OOBE account) are kept
 * The token is the first 10 hex digits of SHA-256 over "apdiag-redact:"
 * and the lower-cased original, so the same input always gives the same
 * token across files and runs (and an attacker with a candidate list can
 * confirm a guess: redaction hides, it does not encrypt).
 */
#include "collect.h"
#include "apd_sha256.h"

#include <string.h>

static bool
is_local(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'';
}

static bool
is_dom(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '-';
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* token = first 10 hex of SHA-256("apdiag-redact:" + lower(s)) */
static int
token(const char *s, size_t n, char out[11])
{
	struct apd_sha256 h;
	char hex[65], low[256];
	size_t i, k;

	if (apd_sha256_init(&h) != APD_OK)
		return APD_FATAL;
	apd_sha256_update(&h, "apdiag-redact:", 14);
	for (i = 0; i < n; i += k) {
		k = n - i < sizeof(low) ? n - i : sizeof(low);
		memcpy(low, s + i, k);
		for (size_t j = 0; j < k; j++)
			if (low[j] >= 'A' && low[j] <= 'Z')
				low[j] = (char)(low[j] - 'A' + 'a');
		apd_sha256_update(&h, low, k);
	}
	apd_sha256_final_hex(&h, hex);
	apd_sha256_done(&h);
	memcpy(out, hex, 10);
	out[10] = '\0';
	return APD_OK;
}

static bool
ieq(const char *p, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++) {
		char a = p[i], b = lit[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/* Length of the e-mail address that has its '@' at p[at], and its start; 0 if none. */
static size_t
email_at(const char *p, size_t n, size_t at, size_t *start)
{
	size_t s = at, e = at + 1, lastdot = 0;

	while (s > 0 && is_local((unsigned char)p[s - 1]))
		s--;
	while (s < at && (p[s] == '.' || p[s] == '\''))
		s++;
	if (s == at)
		return 0;
	while (e < n && is_dom((unsigned char)p[e]))
		e++;
	while (e > at + 1 && (p[e - 1] == '.' || p[e - 1] == '-'))
		e--;
	for (lastdot = e; lastdot > at + 1 && p[lastdot - 1] != '.'; lastdot--)
		;
	if (lastdot <= at + 2 || e - lastdot < 2)   /* need x.yy after the '@' */
		return 0;
	for (size_t i = lastdot; i < e; i++)
		if (!is_alpha((unsigned char)p[i]))
			return 0;
	*start = s;
	return e - s;
}

int
apd_redact_text(struct apd_redact *r, const char *p, size_t n, struct apd_buf *out)
{
	size_t i = 0, run = 0;
	char tok[11];
	int rc;

	apd_buf_reset(out);
	while (i < n) {
		unsigned char c = (unsigned char)p[i];

		if (c == '@') {
			size_t s, len = email_at(p, n, i, &s);
			if (len && s >= run) {
				if ((rc = apd_buf_add(out, p + run, s - run)) != APD_OK ||
				    (rc = token(p + s, len, tok)) != APD_OK ||
				    (rc = apd_buf_printf(out, "user-%s@redacted.invalid", tok)) != APD_OK)
					return rc;
				r->replaced++;
				i = run = s + len;
				continue;
			}
		}
		if ((c == '\\' || c == '/') && i + 7 <= n && ieq(p + i + 1, 5, "users") &&
		    (p[i + 6] == '\\' || p[i + 6] == '/')) {
			size_t s = i + 7, e = s;
			while (e < n && p[e] != '\\' && p[e] != '/' && p[e] != '"' && p[e] != '\'' &&
			    p[e] != '\r' && p[e] != '\n' && p[e] != '\0' && p[e] != '<' && p[e] != '>' &&
			    p[e] != '|' && p[e] != ';' && p[e] != ',')
				e++;
			if (e > s && !ieq(p + s, e - s, "public") && !ieq(p + s, e - s, "default") &&
			    !ieq(p + s, e - s, "default user") && !ieq(p + s, e - s, "all users") &&
			    !ieq(p + s, e - s, "defaultuser0") && !(e - s > 5 &&
			    strncmp(p + s, "user-", 5) == 0)) {
				if ((rc = apd_buf_add(out, p + run, s - run)) != APD_OK ||
				    (rc = token(p + s, e - s, tok)) != APD_OK ||
				    (rc = apd_buf_printf(out, "user-%s", tok)) != APD_OK)
					return rc;
				r->replaced++;
				i = run = e;
				continue;
			}
		}
		i++;
	}
	return apd_buf_add(out, p + run, n - run);
}
