/*
 * src_offline_none.c - the offline source in the Windows build: not there.
 * Offline collection reads the hives with hivex, which the Windows build
 * does not have; collect a mounted volume with the Linux build.
 */
#include "collect.h"

int
apd_csrc_offline(struct apd_csrc *s, const char *root, struct apd_error *err)
{
	(void)root;
	s->vt = NULL;
	s->priv = NULL;
	return apd_set_error(err, APD_FAILED, "--root (offline collection from a mounted volume) "
	    "is in the Linux build of apdiag; on Windows, collect this device without --root");
}
