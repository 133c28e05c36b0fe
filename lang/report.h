/*
 * report.h — rendering query results: aligned text tables for people, JSON
 * Lines (one object per report, numbers at full precision) and CSV blocks
 * for programs.  The JSON keys are the contract of LANGUAGE.md.
 */
#ifndef MOE_REPORT_H
#define MOE_REPORT_H

#include "../runtime/result.h"
#include "interp.h"

/* Renders r in the state's format and writes it; 1 on failure. */
int report_result(Interp *I, const Result *r);

/* Writes a `print` line (in JSON mode as {"print": "..."}). */
int report_line(Interp *I, StrBuf *text);

void report_text(StrBuf *b, const Result *r);
/* One line, no trailing newline; 1 if out of memory. */
int report_json(StrBuf *b, const Result *r);
void report_csv(StrBuf *b, const Result *r);

#endif
