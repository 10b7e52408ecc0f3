/*
 * apd_time.c - calendar arithmetic, FILETIME, ISO text and Windows time
 * zone rules.  No libc time functions: they depend on the host's zone.
 */
#include "apd_time.h"

#include <time.h>

#include <stdio.h>
#include <string.h>

int64_t
apd_days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	unsigned yoe = (unsigned)(yy - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

void
apd_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

static unsigned
days_in_month(int y, unsigned m)
{
	static const unsigned dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

int
apd_civil_to_us(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
    unsigned usec, int64_t *out)
{
	if (y < 1601 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || s > 60 || usec > 999999)
		return -1;
	*out = ((apd_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) *
	    APD_US_PER_SEC) + usec;
	return 0;
}

int64_t
apd_filetime_to_us(uint64_t ft)
{
	/* 11644473600 seconds between 1601-01-01 and 1970-01-01 */
	return (int64_t)(ft / 10) - 11644473600LL * APD_US_PER_SEC;
}

size_t
apd_format_local(char *out, int y, unsigned mo, unsigned d, unsigned h, unsigned mi,
    unsigned s, unsigned frac, unsigned frac_digits)
{
	int n;

	if (frac_digits == 0)
		n = snprintf(out, 28, "%04d-%02u-%02u %02u:%02u:%02u", y, mo, d, h, mi, s);
	else
		n = snprintf(out, 28, "%04d-%02u-%02u %02u:%02u:%02u.%0*u", y, mo, d, h, mi, s,
		    (int)frac_digits, frac);
	return n < 0 ? 0 : (size_t)n;
}

size_t
apd_format_utc(char *out, int64_t us)
{
	int64_t days, secs, rem;
	int y;
	unsigned m, d;
	int n;

	days = us / (86400 * APD_US_PER_SEC);
	rem = us % (86400 * APD_US_PER_SEC);
	if (rem < 0) {
		rem += 86400 * APD_US_PER_SEC;
		days--;
	}
	apd_civil_from_days(days, &y, &m, &d);
	secs = rem / APD_US_PER_SEC;
	n = snprintf(out, 32, "%04d-%02u-%02uT%02u:%02u:%02u.%06uZ", y, m, d,
	    (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60),
	    (unsigned)(rem % APD_US_PER_SEC));
	return n < 0 ? 0 : (size_t)n;
}

bool
apd_parse_digits(const char **p, const char *end, unsigned n, unsigned *out)
{
	unsigned v = 0, i;

	if ((size_t)(end - *p) < n)
		return false;
	for (i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (unsigned)(c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

bool
apd_parse_iso(struct apd_sv s, int64_t *us)
{
	const char *p = s.p, *e;
	unsigned y, mo, d, h, mi, sec, frac = 0, nd = 0;

	if (p == NULL)   /* absent: no arithmetic on the NULL pointer */
		return false;
	e = s.p + s.n;
	if (!apd_parse_digits(&p, e, 4, &y) || p >= e || *p++ != '-' ||
	    !apd_parse_digits(&p, e, 2, &mo) || p >= e || *p++ != '-' ||
	    !apd_parse_digits(&p, e, 2, &d) || p >= e || (*p != ' ' && *p != 'T'))
		return false;
	p++;
	if (!apd_parse_digits(&p, e, 2, &h) || p >= e || *p++ != ':' ||
	    !apd_parse_digits(&p, e, 2, &mi) || p >= e || *p++ != ':' ||
	    !apd_parse_digits(&p, e, 2, &sec))
		return false;
	if (p < e && *p == '.') {
		p++;
		while (p < e && *p >= '0' && *p <= '9' && nd < 7) {
			frac = frac * 10 + (unsigned)(*p - '0');
			nd++;
			p++;
		}
		if (nd == 0)
			return false;
		while (nd < 6) {
			frac *= 10;
			nd++;
		}
		if (nd == 7)
			frac /= 10;
	}
	return apd_civil_to_us((int)y, mo, d, h, mi, sec, frac, us) == 0;
}

bool
apd_systime_decode(const unsigned char *p, size_t n, struct apd_systime *t)
{
	if (n < 16)
		return false;
#define W(i) ((unsigned)(p[2 * (i)] | p[2 * (i) + 1] << 8))
	t->year = W(0);
	t->month = W(1);
	t->dow = W(2);
	t->day = W(3);
	t->hour = W(4);
	t->minute = W(5);
	t->second = W(6);
	t->msec = W(7);
#undef W
	return t->month <= 12 && t->dow <= 6 && t->day <= 31;
}

/* Local time (µs) at which a SYSTEMTIME rule fires in the given year. */
static int64_t
rule_time(const struct apd_systime *r, int year)
{
	int64_t first, day;
	unsigned dim, dow_first, dd;

	if (r->year != 0) {
		/* absolute date */
		dd = r->day ? r->day : 1;
		if (r->month < 1 || r->month > 12 || dd > days_in_month(year, r->month))
			return INT64_MIN;
		day = apd_days_from_civil(year, r->month, dd);
	} else {
		first = apd_days_from_civil(year, r->month, 1);
		dow_first = (unsigned)((first % 7 + 7 + 4) % 7);   /* 1970-01-01 was a Thursday */
		dd = 1 + (r->dow + 7 - dow_first) % 7 + 7 * ((r->day ? r->day : 1) - 1);
		dim = days_in_month(year, r->month);
		while (dd > dim)
			dd -= 7;
		day = apd_days_from_civil(year, r->month, dd);
	}
	return (day * 86400 + r->hour * 3600 + r->minute * 60 + r->second) * APD_US_PER_SEC;
}

int64_t
apd_tz_local_to_utc_memo(const struct apd_tzinfo *tz, struct apd_tz_memo *m, int64_t local_us)
{
	int64_t bias = tz->bias + tz->standard_bias;
	bool in_dst;

	if (tz->standard_start.month != 0 && tz->daylight_start.month != 0 &&
	    !tz->dynamic_dst_disabled) {
		if (!(local_us >= m->lo && local_us < m->hi)) {
			int64_t days = local_us / (86400 * APD_US_PER_SEC);
			int y;
			unsigned mo, d;

			if (local_us < 0 && local_us % (86400 * APD_US_PER_SEC))
				days--;
			apd_civil_from_days(days, &y, &mo, &d);
			m->lo = apd_days_from_civil(y, 1, 1) * 86400 * APD_US_PER_SEC;
			m->hi = apd_days_from_civil(y + 1, 1, 1) * 86400 * APD_US_PER_SEC;
			m->dst_start = rule_time(&tz->daylight_start, y);
			m->std_start = rule_time(&tz->standard_start, y);
		}
		if (m->dst_start != INT64_MIN && m->std_start != INT64_MIN) {
			if (m->dst_start < m->std_start)   /* northern hemisphere */
				in_dst = local_us >= m->dst_start && local_us < m->std_start;
			else                               /* southern: DST spans the new year */
				in_dst = local_us >= m->dst_start || local_us < m->std_start;
			if (in_dst)
				bias = tz->bias + tz->daylight_bias;
		}
	}
	return local_us + bias * 60 * APD_US_PER_SEC;
}

int64_t
apd_tz_local_to_utc(const struct apd_tzinfo *tz, int64_t local_us)
{
	struct apd_tz_memo m = { 0, 0, 0, 0 };

	return apd_tz_local_to_utc_memo(tz, &m, local_us);
}

static double
clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double
apd_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

double
apd_thread_cpu_ms(void)
{
	return clock_ms(CLOCK_THREAD_CPUTIME_ID);
}
