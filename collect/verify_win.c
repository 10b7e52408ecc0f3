/*
 * verify_win.c - placeholder, replaced below.
 */
#include "collect.h"

#include <string.h>

int
apd_verify_archive(const char *path, apd_verify_report_fn report, void *ud,
    struct apd_verify_result *res, struct apd_error *err)
{
	(void)report;
	(void)ud;
	memset(res, 0, sizeof(*res));
	return apd_set_error(err, APD_FAILED, "%s: verify is not in the Windows build yet", path);
}
