/*
 * report_html.c - the report as one self-contained HTML page (docs/report.md).
 *
 * The verdict, the findings, the facts, the ESP Gantt chart (inline SVG),
 * the app table and the gaps are written here, so they read without
 * JavaScript; the script only sorts the app table and draws the timeline
 * from the JSON in <script type="application/json" id="apdiag-data">, with
 * textContent, never innerHTML.  Every piece of text from the index goes
 * through rw_html() (report_html_esc()); the JSON through
 * report_script_json().  The page loads nothing: its Content-Security-Policy
 * forbids every fetch, and the favicon is a data: URL.
 *
 * Only report_write_html() is exported.
 */
#include "report_int.h"
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "color:#1d2329;background:#f6f7f9}"
    "header{background:#1f2d3d;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}"
    "header p{margin:2px 0 0;color:#c8d3de;font-size:12px;word-break:break-all}"
    "main{padding:8px 24px 40px;max-width:1400px}"
    "section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:14px 0;"
    "padding:10px 18px}"
    "h2{font-size:17px;margin:6px 0 10px}h3{font-size:15px;margin:6px 0}"
    "h4{font-size:13px;margin:8px 0 2px;color:#444}"
    "#verdict{border-left:8px solid #757575}#verdict-title{font-size:19px;font-weight:600;"
    "margin:4px 0}"
    ".sev-critical{border-left-color:#b71c1c!important}.sev-error{border-left-color:#e53935!important}"
    ".sev-warning{border-left-color:#f9a825!important}.sev-info{border-left-color:#1e88e5!important}"
    ".sev{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;color:#fff;"
    "background:#757575;text-transform:uppercase}"
    ".sev.critical{background:#b71c1c}.sev.error{background:#e53935}.sev.warning{background:#f9a825;"
    "color:#222}.sev.info{background:#1e88e5}"
    ".finding{border-left:4px solid #ccc;padding:2px 12px;margin:10px 0}"
    ".meta{color:#5b6670;font-size:12px}"
    "ul.evidence{list-style:none;padding-left:0}ul.evidence li{margin:3px 0;font-size:13px}"
    "ul.evidence .t{color:#5b6670;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}"
    "ul.evidence .src{color:#37474f;font-family:ui-monospace,Menlo,Consolas,monospace;"
    "font-size:12px;word-break:break-all}"
    ".msg{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,Menlo,Consolas,"
    "monospace;font-size:12px;background:#f3f5f7;padding:2px 6px;border-radius:3px}"
    "li.context{opacity:.75}"
    "table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e3e6ea;"
    "padding:3px 8px;text-align:left;vertical-align:top}th{background:#eef1f4;position:sticky;"
    "top:0}"
    "table.kv th{background:none;font-weight:500;color:#5b6670;position:static}"
    ".scroll{overflow:auto;max-height:640px}"
    "#app-table th{cursor:pointer;user-select:none;white-space:nowrap}"
    "#app-table th.asc::after{content:' \\25B2'}#app-table th.desc::after{content:' \\25BC'}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".o{font-weight:600}.o-failed,.o-timed-out{color:#c62828}.o-succeeded,.o-installed{"
    "color:#2e7d32}.o-in-progress{color:#1565c0}"
    "svg#gantt{background:#fff;max-width:100%;height:auto}svg text{font-size:11px;fill:#333}"
    "svg .axis{stroke:#ccd2d8}svg .sep{stroke:#8d99a6;stroke-dasharray:3 3}"
    "rect.bar{fill:#9e9e9e;stroke:#0003}rect.bar:hover{stroke:#000;stroke-width:2}"
    "rect.bar.o-succeeded,rect.bar.o-installed{fill:#43a047}rect.bar.o-failed{fill:#e53935}"
    "rect.bar.o-timed-out{fill:#fb8c00}rect.bar.o-in-progress{fill:#1e88e5}"
    "rect.dl{fill:#fff;opacity:.45;pointer-events:none}"
    ".legend span{display:inline-block;margin-right:12px;font-size:12px}"
    ".legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:-1px}"
    ".controls{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:6px 0}"
    ".controls select,.controls input{font:inherit;padding:2px 4px}"
    "#tl-view{height:480px;overflow:auto;position:relative;border:1px solid #dde1e6;"
    "background:#fff}"
    "#tl-rows{position:absolute;left:0;right:0;top:0}"
    ".tl-row{display:flex;height:20px;line-height:20px;font-size:12px;white-space:nowrap;"
    "border-bottom:1px solid #f0f2f4;cursor:pointer}"
    ".tl-row:hover{background:#eef5ff}.tl-row.sel{background:#dbe9ff}"
    ".tl-row span{overflow:hidden;text-overflow:ellipsis;padding:0 6px}"
    ".tl-row .c0{flex:0 0 218px;font-family:ui-monospace,Menlo,Consolas,monospace}"
    ".tl-row .c1{flex:0 0 74px}.tl-row .c2{flex:0 0 200px;direction:rtl;text-align:left}"
    ".tl-row .c3{flex:0 0 160px}.tl-row .c4{flex:1 1 auto}"
    ".tl-row.head{font-weight:600;background:#eef1f4;cursor:default}"
    ".l1,.l2{color:#c62828}.l3{color:#b26a00}"
    "#tl-detail{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,Menlo,"
    "Consolas,monospace;font-size:12px;background:#f3f5f7;padding:6px 8px;margin-top:8px;"
    "min-height:1em}"
    ".note{color:#5b6670;font-size:12px}";

/*
 * The script.  Data from the index only ever reaches the DOM as
 * textContent or as an attribute set with setAttribute on a fixed name.
 */
static const char js[] =
    "(function(){'use strict';\n"
    "var D=JSON.parse(document.getElementById('apdiag-data').textContent);\n"
    /* the sortable app table */
    "var at=document.getElementById('app-table');\n"
    "if(at){var ths=at.tHead.rows[0].cells;for(var i=0;i<ths.length;i++){(function(k){\n"
    " ths[k].addEventListener('click',function(){var th=ths[k],asc=!th.classList.contains('asc');\n"
    "  for(var j=0;j<ths.length;j++)ths[j].classList.remove('asc','desc');\n"
    "  th.classList.add(asc?'asc':'desc');var num=th.getAttribute('data-type')==='num';\n"
    "  var tb=at.tBodies[0],rows=Array.prototype.slice.call(tb.rows);\n"
    "  rows.sort(function(a,b){var x=a.cells[k],y=b.cells[k];\n"
    "   var u=x.hasAttribute('data-v')?x.getAttribute('data-v'):x.textContent;\n"
    "   var v=y.hasAttribute('data-v')?y.getAttribute('data-v'):y.textContent;\n"
    "   var r;if(num){var p=u===''?Infinity:+u,q=v===''?Infinity:+v;r=p<q?-1:p>q?1:0;}\n"
    "   else r=u.localeCompare(v);return asc?r:-r;});\n"
    "  rows.forEach(function(r){tb.appendChild(r);});});})(i);}}\n"
    /* the timeline */
    "var T=D.timeline,R=T.rows,H=20,view=document.getElementById('tl-view'),\n"
    " box=document.getElementById('tl-rows'),spacer=document.getElementById('tl-spacer'),\n"
    " cnt=document.getElementById('tl-count'),det=document.getElementById('tl-detail'),\n"
    " selS=document.getElementById('tl-source'),selL=document.getElementById('tl-level'),\n"
    " q=document.getElementById('tl-search');\n"
    "var LV=['none','critical','error','warning','information','verbose'];\n"
    "var src={};T.sources.forEach(function(s){src[s[0]]=s;var o=document.createElement('option');\n"
    " o.value=String(s[0]);o.textContent=s[1]+' ('+s[2]+')';selS.appendChild(o);});\n"
    "function base(p){var i=Math.max(p.lastIndexOf('/'),p.lastIndexOf('\\\\'),p.lastIndexOf('!'));\n"
    " return i<0?p:p.slice(i+1);}\n"
    "var low=null,idx=null,selRow=-1;\n"
    "function filter(){var s=selS.value,l=selL.value,t=q.value.toLowerCase(),n=R.length,\n"
    " out=new Int32Array(n),k=0,sid=s===''?null:+s;\n"
    " if(t&&!low){low=new Array(n);for(var i=0;i<n;i++)low[i]=(R[i][4]+'\\u0001'+R[i][3]).toLowerCase();}\n"
    " for(var i=0;i<n;i++){var r=R[i];if(sid!==null&&r[2]!==sid)continue;\n"
    "  if(l!=='all'){if(l==='le3'){if(!(r[1]>=1&&r[1]<=3))continue;}else if(r[1]!==+l)continue;}\n"
    "  if(t&&low[i].indexOf(t)<0)continue;out[k++]=i;}\n"
    " idx=out.subarray(0,k);spacer.style.height=(k*H)+'px';\n"
    " cnt.textContent=k+' of '+R.length+' events shown';view.scrollTop=0;draw();}\n"
    "function cell(row,cls,text,title){var s=document.createElement('span');s.className=cls;\n"
    " s.textContent=text;if(title)s.title=title;row.appendChild(s);}\n"
    "function draw(){var first=Math.floor(view.scrollTop/H),n=Math.ceil(view.clientHeight/H)+20;\n"
    " first=Math.max(0,first-10);var last=Math.min(idx.length,first+n);\n"
    " box.style.top=(first*H)+'px';box.textContent='';var f=document.createDocumentFragment();\n"
    " for(var j=first;j<last;j++){var i=idx[j],r=R[i],d=document.createElement('div'),s=src[r[2]];\n"
    "  d.className='tl-row l'+r[1]+(i===selRow?' sel':'');d.setAttribute('data-i',String(i));\n"
    "  cell(d,'c0',r[0]);cell(d,'c1',LV[r[1]]||String(r[1]));\n"
    "  cell(d,'c2',s?base(s[1]):'',s?s[1]:'');cell(d,'c3',r[3],r[3]);\n"
    "  var m=r[4],nl=m.indexOf('\\n');cell(d,'c4',nl<0?m:m.slice(0,nl)+' \\u2026');f.appendChild(d);}\n"
    " box.appendChild(f);}\n"
    "box.addEventListener('click',function(e){var d=e.target.closest('.tl-row');if(!d)return;\n"
    " var i=+d.getAttribute('data-i'),r=R[i],s=src[r[2]];selRow=i;\n"
    " det.textContent=r[0]+'  '+(LV[r[1]]||r[1])+'  '+(s?s[1]:'')+(r[5]!==null?':'+r[5]:'')+\n"
    "  (r[3]?'  '+r[3]:'')+'\\n'+r[4]+(r[6]?'\\n[cut at '+T.max_message+' characters]':'');draw();});\n"
    "var pend=0;view.addEventListener('scroll',function(){if(!pend){pend=1;\n"
    " requestAnimationFrame(function(){pend=0;draw();});}});\n"
    "selS.addEventListener('change',filter);selL.addEventListener('change',filter);\n"
    "var tq=0;q.addEventListener('input',function(){clearTimeout(tq);tq=setTimeout(filter,150);});\n"
    "filter();\n"
    "requestAnimationFrame(function(){setTimeout(function(){window.__apdiagFirstScreen=performance.now();\n"
    " performance.mark('apdiag-first-screen');},0);});\n"
    "})();\n";

/* ---- helpers ---- */

static void
tag_text(struct rw *w, const char *open, const char *text, const char *close)
{
	rw_puts(w, open);
	rw_html(w, text);
	rw_puts(w, close);
}

/* <td>text</td>, or <td class=num data-v=...> for numbers */
static void
td(struct rw *w, const char *text)
{
	tag_text(w, "<td>", text, "</td>");
}

static void
td_num(struct rw *w, sqlite3_stmt *s, int i, bool duration)
{
	char d[32];

	if (sqlite3_column_type(s, i) == SQLITE_NULL) {
		rw_puts(w, "<td class=\"num\" data-v=\"\"></td>");
		return;
	}
	if (duration) {
		double v = sqlite3_column_double(s, i);
		rw_printf(w, "<td class=\"num\" data-v=\"%.3f\">%s</td>", v,
		    report_duration(d, sizeof(d), v));
	} else {
		rw_printf(w, "<td class=\"num\" data-v=\"%lld\">%lld</td>", sqlite3_column_int64(s, i),
		    sqlite3_column_int64(s, i));
	}
}

static void
outcome_span(struct rw *w, const char *o)
{
	rw_puts(w, "<span class=\"o o-");
	rw_html(w, o);
	rw_puts(w, "\">");
	rw_html(w, o);
	rw_puts(w, "</span>");
}

/* ---- sections ---- */

static void
html_head(struct rw *w, const char *input)
{
	rw_puts(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"generator\" content=\"apdiag ");
	rw_html(w, apd_version());
	rw_puts(w, "\">\n<link rel=\"icon\" href=\"data:,\">\n<title>apdiag report: ");
	rw_html(w, input);
	rw_puts(w, "</title>\n<style>");
	rw_puts(w, css);
	rw_puts(w, "</style>\n</head>\n<body>\n");
}

static void
html_header(struct rw *w, sqlite3 *db, const char *input)
{
	char now[32], *ver, *dev;
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%SZ", &tm);
	ver = report_query_str(db, "SELECT value FROM meta WHERE key = 'apdiag_version'");
	dev = report_query_str(db, "SELECT value FROM fact WHERE name = 'device.name' "
	    "ORDER BY rowid LIMIT 1");
	rw_puts(w, "<header><h1>apdiag report");
	if (dev) {
		rw_puts(w, ": ");
		rw_html(w, dev);
	}
	rw_puts(w, "</h1><p>input ");
	rw_html(w, input);
	rw_printf(w, " &middot; report written %s by apdiag ", now);
	rw_html(w, apd_version());
	rw_puts(w, " &middot; index written by apdiag ");
	rw_html(w, ver ? ver : "?");
	rw_puts(w, "</p></header>\n<main>\n");
	free(ver);
	free(dev);
}

static void
html_list(struct rw *w, sqlite3 *db, const char *json, const char *head, bool refs)
{
	sqlite3_stmt *s;
	int n = 0;

	if ((s = report_list_rows(db, json, refs)) == NULL)
		return;
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n++ == 0)
			rw_printf(w, "<h4>%s</h4>%s", head, refs ? "<ul>" : "<ol>");
		rw_puts(w, "<li>");
		if (!refs) {
			rw_html(w, rcol(s, 0));
		} else {
			rw_html(w, rcol(s, 0));
			rw_puts(w, ": ");
			/* a link only to an https URL; anything else stays text */
			if (strncmp(rcol(s, 1), "https://", 8) == 0) {
				rw_puts(w, "<a rel=\"noreferrer noopener\" href=\"");
				rw_html(w, rcol(s, 1));
				rw_puts(w, "\">");
				rw_html(w, rcol(s, 1));
				rw_puts(w, "</a>");
			} else {
				rw_html(w, rcol(s, 1));
			}
		}
		rw_puts(w, "</li>");
	}
	if (n)
		rw_puts(w, refs ? "</ul>\n" : "</ol>\n");
	sqlite3_finalize(s);
}

static void
html_findings(struct rw *w, sqlite3 *db)
{
	sqlite3_stmt *s = NULL, *e = NULL;
	struct apd_buf when, where, what;
	bool has;
	char *verdict = report_verdict(db, &has);
	int64_t total = report_query_int(db, "SELECT count(*) FROM finding", 0);
	int n = 0;

	apd_buf_init(&when, 4096);
	apd_buf_init(&where, 64 * 1024);
	apd_buf_init(&what, 64 * 1024);
	if (sqlite3_prepare_v2(db, report_finding_sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, report_evidence_sql, -1, &e, NULL) != SQLITE_OK) {
		rw_fail(w, APD_FATAL);
		apd_set_error(w->err, APD_FATAL, "report: %s", sqlite3_errmsg(db));
		goto done;
	}
	/* the verdict: the rank-1 finding */
	if (has && sqlite3_step(s) == SQLITE_ROW) {
		rw_puts(w, "<section id=\"verdict\" class=\"sev-");
		rw_html(w, rcol(s, 4));
		rw_puts(w, "\"><h2>Verdict</h2>\n<p id=\"verdict-title\">");
		rw_html(w, verdict);
		rw_puts(w, "</p>\n<p class=\"meta\"><span class=\"sev ");
		rw_html(w, rcol(s, 4));
		rw_puts(w, "\">");
		rw_html(w, rcol(s, 4));
		rw_puts(w, "</span> ");
		rw_html(w, rcol(s, 5));
		rw_printf(w, ", confidence %d, rule ", sqlite3_column_int(s, 6));
		rw_html(w, rcol(s, 2));
		if (sqlite3_column_type(s, 12) != SQLITE_NULL) {
			rw_puts(w, ", first seen ");
			rw_html(w, rcol(s, 12));
		}
		rw_printf(w, " &middot; <a href=\"#finding-1\">evidence and fix below</a></p>\n"
		    "</section>\n");
		sqlite3_reset(s);
	} else {
		rw_puts(w, "<section id=\"verdict\"><h2>Verdict</h2>\n<p id=\"verdict-title\">");
		rw_html(w, verdict);
		rw_puts(w, "</p>\n<p class=\"meta\">If the deployment still failed, the cause is not in "
		    "the rule pack: read the ESP chart and the timeline below.</p></section>\n");
	}
	rw_printf(w, "<section id=\"findings\"><h2>Findings (%lld, most likely cause first)</h2>\n",
	    (long long)total);
	if (total == 0)
		rw_puts(w, "<p class=\"note\">No rule matched.</p>\n");
	while (w->rc == APD_OK && sqlite3_step(s) == SQLITE_ROW) {
		int64_t cnt = sqlite3_column_int64(s, 14);

		n++;
		rw_puts(w, "<article class=\"finding sev-");
		rw_html(w, rcol(s, 4));
		rw_printf(w, "\" id=\"finding-%d\"><h3>%d. <span class=\"sev ", n, n);
		rw_html(w, rcol(s, 4));
		rw_puts(w, "\">");
		rw_html(w, rcol(s, 4));
		rw_puts(w, "</span> <span class=\"ftitle\">");
		rw_html(w, rcol(s, 7));
		rw_puts(w, "</span></h3>\n<p class=\"meta\">rule ");
		rw_html(w, rcol(s, 2));
		rw_printf(w, " v%d (", sqlite3_column_int(s, 3));
		rw_html(w, rcol(s, 5));
		rw_printf(w, "), confidence %d, %lld record%s", sqlite3_column_int(s, 6),
		    (long long)cnt, cnt == 1 ? "" : "s");
		if (sqlite3_column_type(s, 12) != SQLITE_NULL) {
			rw_puts(w, ", ");
			rw_html(w, rcol(s, 12));
			if (strcmp(rcol(s, 12), rcol(s, 13)) != 0) {
				rw_puts(w, " to ");
				rw_html(w, rcol(s, 13));
			}
		}
		rw_puts(w, "</p>\n<p><b>Why:</b> ");
		rw_html(w, rcol(s, 8));
		rw_puts(w, "</p>\n<h4>Evidence</h4><ul class=\"evidence\">\n");
		sqlite3_bind_int64(e, 1, sqlite3_column_int64(s, 0));
		while (sqlite3_step(e) == SQLITE_ROW) {
			report_evidence_text(e, &when, &where, &what);
			rw_puts(w, "<li class=\"");
			rw_html(w, rcol(e, 0));
			rw_puts(w, "\">");
			if (strcmp(rcol(e, 0), "context") == 0)
				rw_puts(w, "(context) ");
			tag_text(w, "<span class=\"t\">", when.p ? when.p : "", "</span> ");
			tag_text(w, "<span class=\"src\">", where.p ? where.p : "", "</span>");
			tag_text(w, "<div class=\"msg\">", what.p ? what.p : "", "</div></li>\n");
		}
		sqlite3_reset(e);
		rw_puts(w, "</ul>\n");
		html_list(w, db, rcol(s, 9)[0] ? rcol(s, 9) : "[]", "Fix", false);
		html_list(w, db, rcol(s, 10)[0] ? rcol(s, 10) : "[]", "See", true);
		rw_puts(w, "</article>\n");
	}
	rw_puts(w, "</section>\n");
done:
	sqlite3_finalize(s);
	sqlite3_finalize(e);
	apd_buf_done(&when);
	apd_buf_done(&where);
	apd_buf_done(&what);
	free(verdict);
}

static void
html_facts(struct rw *w, sqlite3 *db)
{
	sqlite3_stmt *s;
	size_t i;
	int64_t nfacts = report_query_int(db, "SELECT count(DISTINCT name) FROM fact", 0);

	rw_puts(w, "<section id=\"device\"><h2>Device and profile</h2>\n");
	if (nfacts == 0)
		rw_puts(w, "<p class=\"note\">The input holds no device facts.</p>\n");
	rw_puts(w, "<table class=\"kv\" id=\"key-facts\">\n");
	if (sqlite3_prepare_v2(db, "SELECT value FROM fact WHERE name = ?1 ORDER BY rowid LIMIT 1",
	    -1, &s, NULL) == SQLITE_OK) {
		for (i = 0; i < report_nkey_facts; i++) {
			sqlite3_bind_text(s, 1, report_key_facts[i][0], -1, SQLITE_STATIC);
			if (sqlite3_step(s) == SQLITE_ROW) {
				tag_text(w, "<tr><th>", report_key_facts[i][1], "</th>");
				tag_text(w, "<td>", rcol(s, 0), "</td></tr>\n");
			}
			sqlite3_reset(s);
		}
	}
	sqlite3_finalize(s);
	rw_puts(w, "</table>\n");
	if (nfacts) {
		rw_printf(w, "<details><summary>All %lld facts</summary><table class=\"kv\">\n",
		    (long long)nfacts);
		if (sqlite3_prepare_v2(db, "SELECT name, value FROM fact WHERE rowid IN "
		    "(SELECT min(rowid) FROM fact GROUP BY name) ORDER BY name", -1, &s, NULL) ==
		    SQLITE_OK) {
			while (sqlite3_step(s) == SQLITE_ROW) {
				tag_text(w, "<tr><th>", rcol(s, 0), "</th>");
				tag_text(w, "<td>", rcol(s, 1), "</td></tr>\n");
			}
		}
		sqlite3_finalize(s);
		rw_puts(w, "</table></details>\n");
	}
	rw_puts(w, "</section>\n");
}

/* A tick step (seconds) giving at most about 8 ticks over span. */
static double
tick_step(double span)
{
	static const double steps[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
		7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000 };
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 8)
			return steps[i];
	return span / 8;
}

#define G_LW 290.0    /* label column */
#define G_CW 830.0    /* chart */
#define G_RH 22.0     /* row */
#define G_TOP 30.0

static double
gx(const struct gantt *g, double t)
{
	return G_LW + (t - g->t0) / (g->t1 - g->t0) * G_CW;
}

static void
html_gantt(struct rw *w, const struct gantt *g)
{
	double height, step, t, y;
	size_t i, row = 0, nphase = 0, undrawn = 0;
	bool sep = false;
	char lab[32];

	if (g->n == 0) {
		rw_puts(w, "<p class=\"note\" id=\"gantt-none\">No ESP phases or apps in the model: no "
		    "chart.</p>\n");
		return;
	}
	for (i = 0; i < g->n; i++)
		if (g->it[i].phase && gantt_drawn(g, &g->it[i]))
			nphase++;
	if (g->drawn == 0) {
		rw_puts(w, "<p class=\"note\" id=\"gantt-none\">No phase or app has both a known start "
		    "and a known end: no chart.</p>\n");
	} else {
		height = G_TOP + (double)g->drawn * G_RH + 12;
		rw_printf(w, "<div class=\"legend\"><span><i style=\"background:#43a047\"></i>succeeded / "
		    "installed</span><span><i style=\"background:#e53935\"></i>failed</span><span><i "
		    "style=\"background:#fb8c00\"></i>timed out</span><span><i style=\"background:#1e88e5\">"
		    "</i>in progress</span><span><i style=\"background:#9e9e9e\"></i>other</span>"
		    "<span>light part of an app bar: download</span><span>times: %s</span></div>\n",
		    g->clock == 0 ? "UTC" : "device local time (the bundle has no time zone)");
		rw_printf(w, "<svg id=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		    "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"ESP phases and "
		    "apps on a time axis\" data-clock=\"%s\">\n", G_LW + G_CW + 20, height,
		    G_LW + G_CW + 20, height, g->clock == 0 ? "utc" : "local");
		step = tick_step(g->t1 - g->t0);
		for (t = ceil(g->t0 / step) * step; t <= g->t1 + 1e-6; t += step) {
			time_t tt = (time_t)t;
			struct tm tm;
			gmtime_r(&tt, &tm);
			strftime(lab, sizeof(lab), step < 60 ? "%H:%M:%S" : step >= 86400 ? "%m-%d" :
			    "%H:%M", &tm);
			rw_printf(w, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>"
			    "<text x=\"%.1f\" y=\"14\" text-anchor=\"middle\">%s</text>\n", gx(g, t),
			    G_TOP - 6, gx(g, t), height - 8, gx(g, t), lab);
		}
		{
			time_t tt = (time_t)g->t0;
			struct tm tm;
			gmtime_r(&tt, &tm);
			strftime(lab, sizeof(lab), "%Y-%m-%d", &tm);
			rw_printf(w, "<text x=\"4\" y=\"14\">%s%s</text>\n", lab,
			    g->clock == 0 ? " UTC" : " local");
		}
		for (i = 0; i < g->n; i++) {
			const struct gitem *it = &g->it[i];
			int c = g->clock;
			double x0, x1;

			if (!gantt_drawn(g, it))
				continue;
			y = G_TOP + (double)row * G_RH;
			if (!it->phase && !sep && nphase) {
				rw_printf(w, "<line class=\"sep\" x1=\"0\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>\n",
				    y - 1, G_LW + G_CW + 20, y - 1);
				sep = true;
			}
			x0 = gx(g, it->s[c]);
			x1 = gx(g, it->e[c]);
			rw_printf(w, "<g class=\"%s\"><text x=\"4\" y=\"%.1f\"%s>", it->phase ? "row phase" :
			    "row app", y + 15, it->phase ? " font-weight=\"600\"" : "");
			{
				/* labels are cut to fit the column */
				char cut[48];
				size_t L = strlen(it->label);
				if (L > 44) {
					size_t k = 41;
					while (k > 0 && ((unsigned char)it->label[k] & 0xC0) == 0x80)
						k--;
					snprintf(cut, sizeof(cut), "%.*s...", (int)k, it->label);
					rw_html(w, cut);
				} else {
					rw_html(w, it->label);
				}
			}
			rw_printf(w, "</text><rect class=\"bar o-");
			rw_html(w, it->outcome);
			rw_printf(w, "\" data-kind=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" "
			    "rx=\"2\"><title>", it->phase ? "phase" : "app", x0, y + 4,
			    x1 - x0 < 2 ? 2 : x1 - x0);
			rw_html(w, it->title);
			rw_puts(w, "</title></rect>");
			if (!it->phase && !isnan(it->ds[c]) && !isnan(it->de[c]) && it->de[c] >= it->ds[c])
				rw_printf(w, "<rect class=\"dl\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				    "height=\"14\"/>", gx(g, it->ds[c]), y + 4,
				    gx(g, it->de[c]) - gx(g, it->ds[c]));
			rw_puts(w, "</g>\n");
			row++;
		}
		rw_puts(w, "</svg>\n");
	}
	for (i = 0; i < g->n; i++)
		if (!gantt_drawn(g, &g->it[i]))
			undrawn++;
	if (undrawn) {
		rw_printf(w, "<p class=\"note\" id=\"gantt-undrawn\">Not drawn (%zu): the start or the "
		    "end is not known%s. The times the model has are in the tables.</p><ul "
		    "class=\"note\">\n", undrawn, g->clock == 0 ? " in UTC (a local time alone cannot "
		    "be placed on a UTC axis)" : "");
		for (i = 0; i < g->n; i++) {
			const struct gitem *it = &g->it[i];
			if (gantt_drawn(g, it))
				continue;
			rw_printf(w, "<li>%s ", it->phase ? "phase" : "app");
			rw_html(w, it->label);
			rw_puts(w, ": ");
			rw_html(w, it->outcome);
			rw_puts(w, "</li>\n");
		}
		rw_puts(w, "</ul>\n");
	}
}

#define WHEN(u, l) "coalesce(strftime('%Y-%m-%d %H:%M:%SZ', " u " / 1e6, 'unixepoch'), " \
	"substr(" l ", 1, 19) || ' local', '')"

static void
html_esp(struct rw *w, sqlite3 *db)
{
	struct gantt g;
	sqlite3_stmt *s;
	char d[32];
	char *err = report_query_str(db, "SELECT value FROM meta WHERE key = 'model.error'");

	rw_puts(w, "<section id=\"esp\"><h2>Deployment and Enrollment Status Page</h2>\n");
	if (err) {
		tag_text(w, "<p class=\"note\">The deployment model was not built: ", err, "</p>\n");
		free(err);
	}
	if (sqlite3_prepare_v2(db, "SELECT scenario, coalesce(flow, ''), coalesce(profile_name, ''), "
	    "coalesce(tenant_domain, tenant_id, ''), esp_outcome, esp_duration_s, esp_timeout_min, "
	    "esp_device_page, esp_user_page, blocking_kind, coalesce(blocking_name, ''), "
	    "coalesce(blocking_id, ''), coalesce(blocking_phase, ''), coalesce(blocking_reason, ''), "
	    "coalesce(blocking_code_hex, ''), evidence FROM deployment", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		rw_puts(w, "<p id=\"scenario\"><b>Scenario:</b> ");
		rw_html(w, report_scenario_text(rcol(s, 0)));
		if (*rcol(s, 1))
			tag_text(w, " (", rcol(s, 1), " flow)");
		if (*rcol(s, 2))
			tag_text(w, ", profile &ldquo;", rcol(s, 2), "&rdquo;");
		if (*rcol(s, 3))
			tag_text(w, " (", rcol(s, 3), ")");
		rw_puts(w, "</p>\n");
		{
			sqlite3_stmt *e;
			int n = 0;
			if (sqlite3_prepare_v2(db, "SELECT value FROM json_each(?1) ORDER BY key", -1, &e,
			    NULL) == SQLITE_OK) {
				sqlite3_bind_text(e, 1, *rcol(s, 15) ? rcol(s, 15) : "[]", -1, SQLITE_TRANSIENT);
				while (sqlite3_step(e) == SQLITE_ROW) {
					if (n++ == 0)
						rw_puts(w, "<details><summary>Why this scenario</summary><ul>");
					tag_text(w, "<li>", rcol(e, 0), "</li>");
				}
				if (n)
					rw_puts(w, "</ul></details>\n");
			}
			sqlite3_finalize(e);
		}
		rw_puts(w, "<p><b>ESP:</b> ");
		outcome_span(w, rcol(s, 4));
		if (sqlite3_column_type(s, 5) != SQLITE_NULL)
			rw_printf(w, " after %s", report_duration(d, sizeof(d), sqlite3_column_double(s, 5)));
		if (sqlite3_column_type(s, 6) != SQLITE_NULL)
			rw_printf(w, "; timeout %d min", sqlite3_column_int(s, 6));
		if (sqlite3_column_type(s, 7) != SQLITE_NULL)
			rw_printf(w, "; device page %s, user page %s", sqlite3_column_int(s, 7) ? "on" :
			    "off", sqlite3_column_type(s, 8) == SQLITE_NULL ? "?" :
			    sqlite3_column_int(s, 8) ? "on" : "off");
		rw_puts(w, "</p>\n");
		if (sqlite3_column_type(s, 9) != SQLITE_NULL) {
			rw_puts(w, "<p id=\"blocking\"><b>Blocking:</b> ");
			rw_html(w, rcol(s, 9));
			rw_puts(w, " ");
			if (*rcol(s, 10)) {
				tag_text(w, "<b id=\"blocking-name\">", rcol(s, 10), "</b>");
				tag_text(w, " (", rcol(s, 11), ")");
			} else {
				tag_text(w, "<b id=\"blocking-name\">", rcol(s, 11), "</b>");
			}
			tag_text(w, " in ", rcol(s, 12), ": ");
			rw_html(w, rcol(s, 13));
			if (*rcol(s, 14))
				tag_text(w, " (", rcol(s, 14), ")");
			rw_puts(w, "</p>\n");
		}
	} else {
		rw_puts(w, "<p class=\"note\">No deployment in the model.</p>\n");
	}
	sqlite3_finalize(s);
	if (gantt_load(db, &g) != APD_OK) {
		rw_fail(w, APD_FATAL);
		gantt_free(&g);
		return;
	}
	rw_puts(w, "<h3>ESP chart</h3>\n");
	html_gantt(w, &g);
	gantt_free(&g);
	if (report_query_int(db, "SELECT count(*) FROM esp_phase", 0) > 0 &&
	    sqlite3_prepare_v2(db, "SELECT phase, coalesce(flow, ''), "
	    WHEN("start_utc", "start_local") ", " WHEN("end_utc", "end_local") ", duration_s, outcome, "
	    "coalesce(outcome_source, ''), apps FROM esp_phase ORDER BY id", -1, &s, NULL) == SQLITE_OK) {
		rw_puts(w, "<h3>Phases</h3><table id=\"phase-table\"><thead><tr><th>phase</th><th>flow</th>"
		    "<th>start</th><th>end</th><th>duration</th><th>outcome</th><th>outcome from</th>"
		    "<th>tracked apps</th></tr></thead><tbody>\n");
		while (sqlite3_step(s) == SQLITE_ROW) {
			rw_puts(w, "<tr>");
			td(w, rcol(s, 0));
			td(w, rcol(s, 1));
			td(w, rcol(s, 2));
			td(w, rcol(s, 3));
			td_num(w, s, 4, true);
			rw_puts(w, "<td>");
			outcome_span(w, rcol(s, 5));
			rw_puts(w, "</td>");
			td(w, rcol(s, 6));
			td_num(w, s, 7, false);
			rw_puts(w, "</tr>\n");
		}
		rw_puts(w, "</tbody></table>\n");
		sqlite3_finalize(s);
	}
	rw_puts(w, "</section>\n");
}

static void
html_apps(struct rw *w, sqlite3 *db)
{
	static const char *const heads[][2] = {
		{ "name", "" }, { "id", "" }, { "type", "" }, { "intent", "" }, { "target", "" },
		{ "phase", "" }, { "ESP tracked", "" }, { "ESP state", "" },
		{ "download start", "" }, { "download", "num" }, { "size", "num" },
		{ "install start", "" }, { "install", "num" }, { "attempts", "num" },
		{ "exit code", "num" }, { "HRESULT", "" }, { "enforcement", "num" },
		{ "compliance", "num" }, { "detection", "" }, { "held ESP", "num" }, { "outcome", "" },
		{ "failure", "" },
	};
	sqlite3_stmt *s;
	size_t i;
	int64_t n = report_query_int(db, "SELECT count(*) FROM app", 0);

	rw_printf(w, "<section id=\"apps\"><h2>Apps (%lld)</h2>\n", (long long)n);
	if (n == 0)
		rw_puts(w, "<p class=\"note\">No apps in the model.</p>\n");
	rw_puts(w, "<p class=\"note\">Click a column to sort.</p><div class=\"scroll\">"
	    "<table id=\"app-table\"><thead><tr>");
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		rw_printf(w, "<th%s>%s</th>", *heads[i][1] ? " data-type=\"num\"" : "", heads[i][0]);
	rw_puts(w, "</tr></thead><tbody>\n");
	if (sqlite3_prepare_v2(db, "SELECT coalesce(name, ''), id, kind, coalesce(intent, ''), "
	    "coalesce(target, ''), coalesce(phase, ''), CASE esp_tracked WHEN 1 THEN 'yes' ELSE 'no' END, "
	    "coalesce(esp_state, ''), " WHEN("download_start_utc", "download_start_local") ", "
	    "download_s, size_bytes, " WHEN("install_start_utc", "install_start_local") ", install_s, "
	    "attempts, exit_code, coalesce(hresult_hex, ''), enforcement_state, compliance_state, "
	    "coalesce(detection, ''), held_esp_s, outcome, "
	    "coalesce(failure, '') || coalesce(' (' || failure_code_hex || ')', '') FROM app "
	    "ORDER BY esp_tracked DESC, phase, coalesce(install_start_utc, download_start_utc), "
	    "install_start_local, id", -1, &s, NULL) == SQLITE_OK) {
		while (w->rc == APD_OK && sqlite3_step(s) == SQLITE_ROW) {
			rw_puts(w, "<tr>");
			for (i = 0; i < 8; i++)
				td(w, rcol(s, (int)i));
			td(w, rcol(s, 8));
			td_num(w, s, 9, true);
			td_num(w, s, 10, false);
			td(w, rcol(s, 11));
			td_num(w, s, 12, true);
			td_num(w, s, 13, false);
			td_num(w, s, 14, false);
			td(w, rcol(s, 15));
			td_num(w, s, 16, false);
			td_num(w, s, 17, false);
			td(w, rcol(s, 18));
			td_num(w, s, 19, true);
			rw_puts(w, "<td>");
			outcome_span(w, rcol(s, 20));
			rw_puts(w, "</td>");
			td(w, rcol(s, 21));
			rw_puts(w, "</tr>\n");
		}
	}
	sqlite3_finalize(s);
	rw_puts(w, "</tbody></table></div></section>\n");
}

static void
html_timeline(struct rw *w, sqlite3 *db, const struct report_opts *o)
{
	unsigned max = o->max_events ? o->max_events : REPORT_MAX_EVENTS;
	int64_t total = report_query_int(db, "SELECT count(*) FROM event", 0);

	rw_puts(w, "<section id=\"timeline\"><h2>Timeline</h2>\n<p class=\"note\" id=\"tl-note\">");
	if (total > (int64_t)max)
		rw_printf(w, "<b>%lld events; the first %u in time order are in this page</b> (the "
		    "limit is set by --max-events). The index has them all: ", (long long)total, max);
	else
		rw_printf(w, "%lld events from every source, in time order (events without a time "
		    "last). Messages are cut at %d characters. In the index: ", (long long)total,
		    REPORT_MAX_MESSAGE);
	rw_puts(w, "<code>SELECT * FROM timeline ORDER BY ts_sort</code>. Click a row for the whole "
	    "message.</p>\n<div class=\"controls\"><label>Source <select id=\"tl-source\"><option "
	    "value=\"\">all sources</option></select></label><label>Level <select id=\"tl-level\">"
	    "<option value=\"all\">all levels</option><option value=\"le3\">warning or worse</option>"
	    "<option value=\"1\">critical</option><option value=\"2\">error</option><option "
	    "value=\"3\">warning</option><option value=\"4\">information</option><option value=\"5\">"
	    "verbose</option><option value=\"0\">none</option></select></label><label>Search <input "
	    "id=\"tl-search\" type=\"search\" placeholder=\"text in the message\"></label>"
	    "<span id=\"tl-count\" class=\"note\"></span></div>\n"
	    "<div class=\"tl-row head\"><span class=\"c0\">time</span><span class=\"c1\">level</span>"
	    "<span class=\"c2\">source</span><span class=\"c3\">component / event</span>"
	    "<span class=\"c4\">message</span></div>\n"
	    "<div id=\"tl-view\"><div id=\"tl-spacer\"></div><div id=\"tl-rows\"></div></div>\n"
	    "<div id=\"tl-detail\"></div>\n<noscript><p>The timeline needs JavaScript. The verdict, "
	    "findings, chart, apps and gaps above and below do not.</p></noscript>\n</section>\n");
}

static void
html_gaps(struct rw *w, sqlite3 *db)
{
	sqlite3_stmt *s;
	int64_t n = report_query_int(db, "SELECT count(*) FROM gap", 0);

	rw_printf(w, "<section id=\"gaps\"><h2>Collection gaps (%lld)</h2>\n", (long long)n);
	if (n == 0) {
		rw_puts(w, "<p class=\"note\">The input records nothing the device failed to "
		    "collect.</p>\n");
	} else if (sqlite3_prepare_v2(db, "SELECT item, coalesce(hresult_hex, ''), "
	    "coalesce(reason, ''), coalesce((SELECT path FROM source WHERE id = gap.source_id), '') "
	    "FROM gap ORDER BY id", -1, &s, NULL) == SQLITE_OK) {
		rw_puts(w, "<p class=\"note\">The device could not collect these; evidence in them is "
		    "missing from this report.</p><table id=\"gap-table\"><thead><tr><th>item</th>"
		    "<th>HRESULT</th><th>reason</th><th>reported in</th></tr></thead><tbody>\n");
		while (sqlite3_step(s) == SQLITE_ROW) {
			rw_puts(w, "<tr>");
			td(w, rcol(s, 0));
			td(w, rcol(s, 1));
			td(w, rcol(s, 2));
			td(w, rcol(s, 3));
			rw_puts(w, "</tr>\n");
		}
		rw_puts(w, "</tbody></table>\n");
		sqlite3_finalize(s);
	}
	if (report_query_int(db, "SELECT count(*) FROM source WHERE status IN ('failed', 'partial')",
	    0) > 0 && sqlite3_prepare_v2(db, "SELECT status, path, coalesce(error, ''), warnings "
	    "FROM source WHERE status IN ('failed', 'partial') ORDER BY id", -1, &s, NULL) ==
	    SQLITE_OK) {
		rw_puts(w, "<h3>Sources with problems</h3><table id=\"problem-table\"><thead><tr>"
		    "<th>status</th><th>source</th><th>why</th><th>warnings</th></tr></thead><tbody>\n");
		while (sqlite3_step(s) == SQLITE_ROW) {
			rw_puts(w, "<tr>");
			td(w, rcol(s, 0));
			td(w, rcol(s, 1));
			td(w, rcol(s, 2));
			td_num(w, s, 3, false);
			rw_puts(w, "</tr>\n");
		}
		rw_puts(w, "</tbody></table>\n");
		sqlite3_finalize(s);
	}
	rw_puts(w, "</section>\n");
}

void
report_write_html(struct rw *w, sqlite3 *db, const struct report_opts *o, const char *input)
{
	html_head(w, input);
	html_header(w, db, input);
	html_findings(w, db);
	html_facts(w, db);
	html_esp(w, db);
	html_apps(w, db);
	html_timeline(w, db, o);
	html_gaps(w, db);
	rw_puts(w, "</main>\n<script type=\"application/json\" id=\"apdiag-data\">");
	report_page_data(w, db, o, input);
	rw_puts(w, "</script>\n<script>");
	rw_puts(w, js);
	rw_puts(w, "</script>\n</body>\n</html>\n");
}
