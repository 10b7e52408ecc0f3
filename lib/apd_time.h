/*
 * apd_time.h - the time representations Windows diagnostics use, all
 * turned into one unit: microseconds since 1970-01-01T00:00:00 (int64).
 *
 * UTC and local wall-clock values share the unit; which one a value is
 * follows from where it came from (enum apd_tz in apd_sink.h).  Nothing
 * here reads the analysing host's time zone or locale.
 */
#ifndef APD_TIME_H
#define APD_TIME_H

#include "apd.h"

#include <stdbool.h>

#define APD_US_PER_SEC 1000000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
int64_t apd_days_from_civil(int y, unsigned m, unsigned d);
void apd_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

/* Validates ranges (month 1-12, day within month, 00:00:00-23:59:60); -1 if invalid. */
int apd_civil_to_us(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
    unsigned usec, int64_t *out);

/* FILETIME (100 ns since 1601-01-01) to microseconds since 1970. */
int64_t apd_filetime_to_us(uint64_t ft);

/*
 * Write "YYYY-MM-DD HH:MM:SS" plus, when frac_digits > 0, "." and that many
 * digits of frac (frac is given with frac_digits digits already, 1-7).
 * Returns the length written (out must hold 28 bytes).
 */
size_t apd_format_local(char *out, int y, unsigned mo, unsigned d, unsigned h, unsigned mi,
    unsigned s, unsigned frac, unsigned frac_digits);

/* Format microseconds as ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ"; out holds 32. */
size_t apd_format_utc(char *out, int64_t us);

/* Parse "YYYY-MM-DD[ T]HH:MM:SS[.f{1,7}]" into microseconds; false if malformed. */
bool apd_parse_iso(struct apd_sv s, int64_t *us);

/*
 * Read exactly n ASCII digits at *p (before end) into *out and move *p past
 * them; false, with *p and *out unchanged, if fewer than n digits are there.
 */
bool apd_parse_digits(const char **p, const char *end, unsigned n, unsigned *out);

/*
 * A Windows time zone as stored in TIME_ZONE_INFORMATION and the registry
 * (HKLM\SYSTEM\CurrentControlSet\Control\TimeZoneInformation): UTC = local + bias.
 * The transition dates use SYSTEMTIME "day-of-week in month" rules:
 * wMonth, wDayOfWeek (0 = Sunday), wDay = occurrence 1-5 (5 = last), wHour, wMinute.
 */
struct apd_systime {
	unsigned year, month, dow, day, hour, minute, second, msec;
};

struct apd_tzinfo {
	int32_t bias;             /* minutes, UTC = local + bias */
	int32_t standard_bias;    /* added to bias in standard time (usually 0) */
	int32_t daylight_bias;    /* added to bias in daylight time (usually -60) */
	struct apd_systime standard_start;   /* month 0: no daylight saving */
	struct apd_systime daylight_start;
	bool dynamic_dst_disabled;
};

/* Decode a 16-byte SYSTEMTIME (REG_BINARY StandardStart / DaylightStart). */
bool apd_systime_decode(const unsigned char *p, size_t n, struct apd_systime *out);

/* Convert a local wall-clock time to UTC under the zone's rules. */
int64_t apd_tz_local_to_utc(const struct apd_tzinfo *tz, int64_t local_us);

/*
 * The same, keeping the rules' transitions of the last year met in *memo,
 * so that a run of times in one year computes them once.  A memo serves
 * one zone: zero it before the first call and whenever the zone changes.
 */
struct apd_tz_memo {
	int64_t lo, hi;                 /* local µs: the year's start, the next year's */
	int64_t dst_start, std_start;   /* that year's transitions (rule_time) */
};
int64_t apd_tz_local_to_utc_memo(const struct apd_tzinfo *tz, struct apd_tz_memo *memo,
    int64_t local_us);

/* Clocks for timing phases: monotonic wall time, and the calling thread's
   CPU time, in milliseconds. */
double apd_mono_ms(void);
double apd_thread_cpu_ms(void);

#endif /* APD_TIME_H */
