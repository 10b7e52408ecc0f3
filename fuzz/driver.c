/*
 * driver.c - replays files through a fuzz target when no fuzzing engine
 * is linked (the normal test run).  Arguments are files or folders
 * (searched recursively).  Each file is run as is, then as APD_FUZZ_MUTATIONS
 * (default 40) deterministic mutations: truncations, bit flips, inserted
 * and deleted runs, duplicated blocks.  Prints a count; exits non-zero only
 * if an input cannot be read (a crash is the failure being looked for).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long runs, files;
static unsigned mutations = 40;

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
mutate_and_run(const uint8_t *data, size_t n, uint64_t seed)
{
	uint8_t *buf = malloc(2 * n + 64);
	unsigned k;
	size_t m, i, at, len;

	if (buf == NULL)
		return;
	for (k = 0; k < mutations; k++) {
		uint64_t s = seed * 2654435761u + k + 1;
		memcpy(buf, data, n);
		m = n;
		switch (k % 5) {
		case 0:   /* truncate */
			m = n ? rnd(&s) % n : 0;
			break;
		case 1:   /* flip bits */
			for (i = 0; n && i < 1 + n / 256; i++)
				buf[rnd(&s) % n] ^= (uint8_t)(1u << (rnd(&s) % 8));
			break;
		case 2:   /* overwrite bytes with interesting values */
			for (i = 0; n && i < 1 + n / 512; i++) {
				static const uint8_t v[] = { 0, 0xFF, 0x7F, 0x80, '"', '<', '>', '[',
					']', '\\', '\n', '\r', '{', '}' };
				buf[rnd(&s) % n] = v[rnd(&s) % sizeof(v)];
			}
			break;
		case 3:   /* delete a run */
			if (n) {
				at = rnd(&s) % n;
				len = rnd(&s) % (n - at + 1);
				memmove(buf + at, buf + at + len, n - at - len);
				m = n - len;
			}
			break;
		default:  /* duplicate a run */
			if (n) {
				at = rnd(&s) % n;
				len = rnd(&s) % (n - at + 1);
				if (len > 64 + n / 4)
					len = 64 + n / 4;
				memmove(buf + at + len, buf + at, n - at);
				memcpy(buf + at + len, data + at, n - at);
				m = n + len;
			}
			break;
		}
		LLVMFuzzerTestOneInput(buf, m);
		runs++;
	}
	free(buf);
}

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;
	uint64_t seed = 1469598103934665603ull;
	const char *c;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "cannot read %s\n", path);
		if (f)
			fclose(f);
		return 1;
	}
	if (n > (16l << 20)) {   /* seeds are small; skip anything huge */
		fclose(f);
		return 0;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	fclose(f);
	for (c = path; *c; c++)
		seed = (seed ^ (uint8_t)*c) * 1099511628211ull;
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	runs++;
	files++;
	mutate_and_run(buf, (size_t)n, seed);
	free(buf);
	return 0;
}

static int
walk(const char *path)
{
	struct stat sb;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (stat(path, &sb) != 0) {
		fprintf(stderr, "cannot stat %s\n", path);
		return 1;
	}
	if (!S_ISDIR(sb.st_mode))
		return S_ISREG(sb.st_mode) ? run_file(path) : 0;
	d = opendir(path);
	if (d == NULL)
		return 1;
	while ((de = readdir(d)) != NULL) {
		char sub[4096];
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rc |= walk(sub);
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *m = getenv("APD_FUZZ_MUTATIONS");
	int i, rc = 0;

	if (m)
		mutations = (unsigned)strtoul(m, NULL, 10);
	for (i = 1; i < argc; i++)
		rc |= walk(argv[i]);
	printf("%lu files, %lu runs, no crash\n", files, runs);
	return rc;
}
