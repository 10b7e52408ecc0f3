/*
 * apd_xmlr_xmllite.c - apd_xmlr.h on XmlLite (xmllite.dll), Windows' own
 * pull parser, for the Windows build.  DTD processing is prohibited and no
 * resolver is set, so nothing outside the text is ever read.  mingw-w64
 * ships no import library for xmllite.dll: CreateXmlReader is looked up at
 * run time (the DLL is part of every Windows since XP SP3).
 */
#define COBJMACROS
#include "apd_xmlr.h"
#include "apd_win.h"

#include <windows.h>
#include <objbase.h>
#include <shlwapi.h>
#include <xmllite.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const IID iid_xmlreader =
    { 0x7279fc81, 0x709d, 0x4095, { 0xb6, 0x3d, 0x69, 0xfe, 0x4b, 0x0d, 0x90, 0x30 } };

typedef HRESULT (WINAPI *create_fn)(REFIID, void **, IMalloc *);

struct apd_xmlr {
	IXmlReader *rd;
	IStream *st;
	char *name;              /* for messages */
	char *cur;               /* name or text of the current node (UTF-8) */
	bool pending_end;
	int depth;
	long line;
};

int
apd_xmlr_open(struct apd_xmlr **out, const char *text, size_t n, const char *name,
    struct apd_error *err)
{
	static create_fn create;
	struct apd_xmlr *r;
	HMODULE dll;

	*out = NULL;
	if (n > (size_t)0x7FFFFFFF)
		return apd_set_error(err, APD_FAILED, "%s: too large", name);
	if (create == NULL && (dll = LoadLibraryExW(L"xmllite.dll", NULL,
	    LOAD_LIBRARY_SEARCH_SYSTEM32)) != NULL)
		create = (create_fn)(void (*)(void))GetProcAddress(dll, "CreateXmlReader");
	if (create == NULL)
		return apd_set_win(err, APD_FAILED, (int)GetLastError(),
		    "%s: xmllite.dll is not available", name);
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->name = strdup(name)) == NULL) {
		free(r);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	r->st = SHCreateMemStream((const BYTE *)text, (UINT)n);
	if (r->st == NULL || FAILED(create(&iid_xmlreader, (void **)&r->rd, NULL)) ||
	    FAILED(IXmlReader_SetProperty(r->rd, XmlReaderProperty_DtdProcessing,
	    DtdProcessing_Prohibit)) ||
	    FAILED(IXmlReader_SetProperty(r->rd, XmlReaderProperty_XmlResolver, 0)) ||
	    FAILED(IXmlReader_SetInput(r->rd, (IUnknown *)r->st))) {
		apd_xmlr_free(r);
		return apd_set_error(err, APD_FATAL, "%s: cannot start XmlLite", name);
	}
	*out = r;
	return APD_OK;
}

static void
set_cur(struct apd_xmlr *r, const WCHAR *w, UINT n)
{
	free(r->cur);
	r->cur = w ? apd_w2u(w, (int)n) : NULL;
}

int
apd_xmlr_next(struct apd_xmlr *r, struct apd_error *err)
{
	XmlNodeType t;
	const WCHAR *w;
	UINT n = 0, d = 0, line = 0;
	HRESULT hr;

	if (r->pending_end) {
		r->pending_end = false;
		return APD_XMLR_END;
	}
	for (;;) {
		hr = IXmlReader_Read(r->rd, &t);
		if (hr == S_FALSE)
			return APD_XMLR_EOF;
		IXmlReader_GetLineNumber(r->rd, &line);
		r->line = (long)line;
		if (hr != S_OK)
			return apd_set_win(err, APD_FAILED, (int)hr,
			    "%s:%ld: not well-formed XML: XmlLite error 0x%08lx", r->name, r->line,
			    (unsigned long)hr);
		IXmlReader_GetDepth(r->rd, &d);
		r->depth = (int)d;
		switch (t) {
		case XmlNodeType_Element:
			r->pending_end = IXmlReader_IsEmptyElement(r->rd) != FALSE;
			if (FAILED(IXmlReader_GetLocalName(r->rd, &w, &n)))
				w = NULL;
			set_cur(r, w, n);
			return APD_XMLR_START;
		case XmlNodeType_EndElement:
			if (FAILED(IXmlReader_GetLocalName(r->rd, &w, &n)))
				w = NULL;
			set_cur(r, w, n);
			return APD_XMLR_END;
		case XmlNodeType_Text:
		case XmlNodeType_CDATA:
			if (FAILED(IXmlReader_GetValue(r->rd, &w, &n)))
				w = NULL;
			set_cur(r, w, n);
			return APD_XMLR_TEXT;
		default:
			continue;
		}
	}
}

const char *
apd_xmlr_name(struct apd_xmlr *r)
{
	return r->cur ? r->cur : "";
}

const char *
apd_xmlr_text(struct apd_xmlr *r)
{
	return r->cur ? r->cur : "";
}

int
apd_xmlr_depth(struct apd_xmlr *r)
{
	return r->depth;
}

long
apd_xmlr_line(struct apd_xmlr *r)
{
	return r->line;
}

char *
apd_xmlr_attr(struct apd_xmlr *r, const char *name)
{
	wchar_t *wn = apd_u2w(name);
	const WCHAR *v;
	UINT n = 0;
	char *s = NULL;

	if (wn == NULL)
		return NULL;
	if (IXmlReader_MoveToAttributeByName(r->rd, wn, NULL) == S_OK) {
		if (SUCCEEDED(IXmlReader_GetValue(r->rd, &v, &n)))
			s = apd_w2u(v, (int)n);
		IXmlReader_MoveToElement(r->rd);
	}
	free(wn);
	return s;
}

void
apd_xmlr_free(struct apd_xmlr *r)
{
	if (r == NULL)
		return;
	if (r->rd)
		IXmlReader_Release(r->rd);
	if (r->st)
		IStream_Release(r->st);
	free(r->cur);
	free(r->name);
	free(r);
}
