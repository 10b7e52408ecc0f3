/*
 * archive_cab_fci_win.c - the cab backend through cabinet.dll's FCI
 * (archive_cab.h), for the Windows build; archive_cab_gcab.c is its
 * counterpart elsewhere.
 *
 * FCI is the cab writer Windows itself uses (makecab).  MSZIP, one folder
 * per APD_CAB_FOLDER_BYTES of input, '\\' separators, the UTF-8 flag on
 * non-ASCII names, DOS times from the UTC modification time (as the gcab
 * backend writes them).  FCI names every file through its callbacks as a
 * narrow string; to keep every path UTF-8 and of any length, the names
 * handed to FCI are short tokens ("|out|", "|src|", "|tmpN|") that the
 * open and delete callbacks map to the real paths, opened with CreateFileW.
 * FCI seeks with a 32-bit LONG, so one cab written here stays below 2 GiB
 * (collect's --max-size keeps larger collections in bounds).
 * Exports the apd_cabw_* functions.
 */
#include "archive_cab.h"
#include "apd_win.h"

#include <windows.h>
#include <fci.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTMP 16

struct apd_cabw {
	HFCI fci;
	ERF erf;
	CCAB ccab;
	char *out;               /* the output file (UTF-8) */
	char *dir;               /* where temporary files go: beside the output */
	const char *src;         /* the file being added */
	int64_t src_mtime_ns;
	bool src_utf;
	char *tmp[NTMP];         /* FCI's temporary files, by token number */
	unsigned ntmp;
	uint64_t folder_bytes;
	DWORD last_error;        /* of the last failing callback */
};

static void *DIAMONDAPI
fci_alloc(ULONG cb)
{
	return malloc(cb ? cb : 1);
}

static void DIAMONDAPI
fci_free(void *p)
{
	free(p);
}

/* The real path behind a token FCI passes back to us. */
static const char *
real_path(struct apd_cabw *w, const char *name)
{
	unsigned k;

	if (strcmp(name, "|out|") == 0)
		return w->out;
	if (strcmp(name, "|src|") == 0)
		return w->src;
	if (sscanf(name, "|tmp%u|", &k) == 1 && k < NTMP && w->tmp[k])
		return w->tmp[k];
	return NULL;
}

static INT_PTR DIAMONDAPI
fci_open(LPSTR name, int oflag, int pmode, int *err, void *pv)
{
	struct apd_cabw *w = pv;
	const char *p = real_path(w, name);
	wchar_t *wp;
	DWORD access, disp;
	HANDLE h;

	(void)pmode;
	if (p == NULL || (wp = apd_u2w(p)) == NULL) {
		*err = ENOENT;
		return -1;
	}
	access = (oflag & _O_RDWR) ? GENERIC_READ | GENERIC_WRITE :
	    (oflag & _O_WRONLY) ? GENERIC_WRITE : GENERIC_READ;
	if (oflag & _O_CREAT)
		disp = (oflag & _O_EXCL) ? CREATE_NEW : (oflag & _O_TRUNC) ? CREATE_ALWAYS : OPEN_ALWAYS;
	else
		disp = (oflag & _O_TRUNC) ? TRUNCATE_EXISTING : OPEN_EXISTING;
	h = CreateFileW(wp, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    disp, FILE_ATTRIBUTE_NORMAL, NULL);
	free(wp);
	if (h == INVALID_HANDLE_VALUE) {
		w->last_error = GetLastError();
		*err = EIO;
		return -1;
	}
	return (INT_PTR)h;
}

static UINT DIAMONDAPI
fci_read(INT_PTR hf, void *mem, UINT cb, int *err, void *pv)
{
	struct apd_cabw *w = pv;
	DWORD got = 0;

	if (!ReadFile((HANDLE)hf, mem, cb, &got, NULL)) {
		w->last_error = GetLastError();
		*err = EIO;
		return (UINT)-1;
	}
	return got;
}

static UINT DIAMONDAPI
fci_write(INT_PTR hf, void *mem, UINT cb, int *err, void *pv)
{
	struct apd_cabw *w = pv;
	DWORD put = 0;

	if (!WriteFile((HANDLE)hf, mem, cb, &put, NULL) || put != cb) {
		w->last_error = GetLastError() ? GetLastError() : ERROR_DISK_FULL;
		*err = ENOSPC;
		return (UINT)-1;
	}
	return put;
}

static int DIAMONDAPI
fci_close(INT_PTR hf, int *err, void *pv)
{
	(void)err;
	(void)pv;
	return CloseHandle((HANDLE)hf) ? 0 : -1;
}

static LONG DIAMONDAPI
fci_seek(INT_PTR hf, LONG dist, int type, int *err, void *pv)
{
	struct apd_cabw *w = pv;
	LARGE_INTEGER d, pos;

	d.QuadPart = dist;
	if (!SetFilePointerEx((HANDLE)hf, d, &pos, type == SEEK_SET ? FILE_BEGIN :
	    type == SEEK_CUR ? FILE_CURRENT : FILE_END) || pos.QuadPart > 0x7FFFFFFF) {
		w->last_error = GetLastError() ? GetLastError() : ERROR_FILE_TOO_LARGE;
		*err = EIO;
		return -1;
	}
	return (LONG)pos.QuadPart;
}

static int DIAMONDAPI
fci_delete(LPSTR name, int *err, void *pv)
{
	struct apd_cabw *w = pv;
	const char *p = real_path(w, name);
	wchar_t *wp;
	BOOL ok = FALSE;
	unsigned k;

	if (p && (wp = apd_u2w(p)) != NULL) {
		ok = DeleteFileW(wp);
		free(wp);
	}
	if (ok && sscanf(name, "|tmp%u|", &k) == 1 && k < NTMP) {
		free(w->tmp[k]);   /* the slot can serve again */
		w->tmp[k] = NULL;
	}
	if (!ok) {
		*err = ENOENT;
		return -1;
	}
	return 0;
}

/* A new temporary file name: a token whose path lies beside the output. */
static BOOL DIAMONDAPI
fci_tempfile(char *name, int cb, void *pv)
{
	struct apd_cabw *w = pv;
	unsigned k;

	for (k = 0; k < NTMP && w->tmp[k]; k++)
		;
	if (k == NTMP || cb < 12)
		return FALSE;
	if ((w->tmp[k] = malloc(strlen(w->dir) + 64)) == NULL)
		return FALSE;
	sprintf(w->tmp[k], "%s\\.apdiag-fci-%lu-%u.tmp", w->dir, (unsigned long)GetCurrentProcessId(),
	    ++w->ntmp);
	snprintf(name, (size_t)cb, "|tmp%u|", k);
	return TRUE;
}

static int DIAMONDAPI
fci_placed(PCCAB cab, LPSTR file, LONG cb, BOOL cont, void *pv)
{
	(void)cab;
	(void)file;
	(void)cb;
	(void)cont;
	(void)pv;
	return 0;
}

static BOOL DIAMONDAPI
fci_next_cab(PCCAB cab, ULONG prev, void *pv)
{
	(void)cab;
	(void)prev;
	(void)pv;
	return FALSE;   /* one cab only */
}

static LONG DIAMONDAPI
fci_status(UINT type, ULONG cb1, ULONG cb2, void *pv)
{
	(void)cb1;
	(void)pv;
	return type == statusCabinet ? (LONG)cb2 : 0;
}

static INT_PTR DIAMONDAPI
fci_openinfo(LPSTR name, USHORT *date, USHORT *time, USHORT *attr, int *err, void *pv)
{
	struct apd_cabw *w = pv;
	uint64_t t = (uint64_t)(w->src_mtime_ns / 100 + 116444736000000000LL);
	FILETIME ft;

	ft.dwLowDateTime = (DWORD)(t & 0xFFFFFFFFu);
	ft.dwHighDateTime = (DWORD)(t >> 32);
	if (!FileTimeToDosDateTime(&ft, date, time)) {
		*date = 0x21;   /* 1980-01-01 */
		*time = 0;
	}
	*attr = _A_ARCH | (w->src_utf ? _A_NAME_IS_UTF : 0);
	return fci_open(name, _O_RDONLY | _O_BINARY, 0, err, pv);
}

static int
fci_error(struct apd_cabw *w, const char *what, struct apd_error *err)
{
	static const char *const ops[] = { "no error", "cannot open a file", "cannot read a file",
	    "out of memory", "cannot create a temporary file", "unknown compression type",
	    "cannot write the cab", "interrupted", "the cab would be too large",
	    "the file is too large for a cab" };
	int op = w->erf.erfOper;
	char txt[256];

	if (w->last_error)
		return apd_set_win(err, APD_FATAL, (int)w->last_error, "%s: cab (FCI): %s: %s", what,
		    op >= 0 && op < 10 ? ops[op] : "error", apd_win_strerror(w->last_error, txt,
		    sizeof(txt)));
	return apd_set_error(err, APD_FATAL, "%s: cab (FCI): %s (error %d)", what,
	    op >= 0 && op < 10 ? ops[op] : "error", w->erf.erfType);
}

int
apd_cabw_open(struct apd_cabw **wp, int fd, const char *path, struct apd_error *err)
{
	struct apd_cabw *w = calloc(1, sizeof(*w));
	const char *a, *b;

	(void)fd;   /* FCI writes the output by its name (|out|) */
	*wp = NULL;
	if (w == NULL || (w->out = strdup(path)) == NULL || (w->dir = strdup(path)) == NULL) {
		if (w)
			free(w->out);
		free(w);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	a = strrchr(w->dir, '/');
	b = strrchr(w->dir, '\\');
	if (a < b)
		a = b;
	if (a)
		w->dir[a - w->dir] = '\0';
	else
		strcpy(w->dir, ".");
	w->ccab.cb = 0x7FFFFFFF;
	w->ccab.cbFolderThresh = 0x7FFFFFFF;
	w->ccab.iCab = 0;   /* CFHEADER iCabinet 0: a single cab (libarchive refuses others) */
	w->ccab.setID = (USHORT)(GetTickCount() ^ GetCurrentProcessId());
	strcpy(w->ccab.szCab, "|out|");
	w->ccab.szCabPath[0] = '\0';
	w->fci = FCICreate(&w->erf, fci_placed, fci_alloc, fci_free, fci_open, fci_read, fci_write,
	    fci_close, fci_seek, fci_delete, fci_tempfile, &w->ccab, w);
	if (w->fci == NULL) {
		int rc = fci_error(w, "open", err);
		apd_cabw_free(w);
		return rc;
	}
	*wp = w;
	return APD_OK;
}

int
apd_cabw_add(struct apd_cabw *w, const char *name, const char *path, uint64_t size,
    int64_t mtime_ns, struct apd_error *err)
{
	char *n, *p;
	BOOL ok;

	if (strlen(name) > APD_CAB_MAX_NAME)
		return apd_set_error(err, APD_FAILED, "%s: longer than the 255 bytes a cab name holds",
		    name);
	if (w->folder_bytes > 0 && w->folder_bytes + size > APD_CAB_FOLDER_BYTES) {
		if (!FCIFlushFolder(w->fci, fci_next_cab, fci_status))
			return fci_error(w, name, err);
		w->folder_bytes = 0;
	}
	if ((n = strdup(name)) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	for (p = n; *p; p++)
		if (*p == '/')
			*p = '\\';
	w->src = path;
	w->src_mtime_ns = mtime_ns;
	w->src_utf = false;
	for (p = n; *p; p++)
		if ((unsigned char)*p >= 0x80)
			w->src_utf = true;
	w->last_error = 0;
	ok = FCIAddFile(w->fci, (LPSTR) "|src|", n, FALSE, fci_next_cab, fci_status, fci_openinfo,
	    tcompTYPE_MSZIP);
	free(n);
	w->src = NULL;
	if (!ok)
		return fci_error(w, name, err);
	w->folder_bytes += size;
	return APD_OK;
}

int
apd_cabw_finish(struct apd_cabw *w, struct apd_error *err)
{
	w->last_error = 0;
	if (!FCIFlushCabinet(w->fci, FALSE, fci_next_cab, fci_status))
		return fci_error(w, "finish", err);
	return APD_OK;
}

void
apd_cabw_free(struct apd_cabw *w)
{
	unsigned k;

	if (w == NULL)
		return;
	if (w->fci)
		FCIDestroy(w->fci);   /* deletes its temporary files through fci_delete */
	for (k = 0; k < NTMP; k++) {
		if (w->tmp[k]) {
			wchar_t *wp = apd_u2w(w->tmp[k]);
			if (wp) {
				DeleteFileW(wp);   /* in case FCI could not */
				free(wp);
			}
			free(w->tmp[k]);
		}
	}
	free(w->out);
	free(w->dir);
	free(w);
}
