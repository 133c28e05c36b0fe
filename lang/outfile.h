/*
 * outfile.h — the file behind `moe --output FILE`, written so that no run
 * ever leaves it truncated.
 *
 * Reports go to a temporary file beside FILE (same directory, so the final
 * rename(2) is atomic); when the run ends — normally, with an error in the
 * script, or stopped by Ctrl-C at a block boundary — the temporary file is
 * flushed, synced and renamed over FILE.  Every report in it is whole (an
 * interrupted query's report is marked partial).  A run that fails before
 * writing anything (a syntax error, say) leaves FILE as it was.  If the
 * process is killed
 * outright, FILE keeps its old contents and only the temporary file (named
 * .FILE.moe-XXXXXX) is left.  If writing fails (disk full), FILE is not
 * touched and the temporary file is removed.
 */
#ifndef MOE_OUTFILE_H
#define MOE_OUTFILE_H

#include <stdio.h>

typedef struct OutFile {
  const char *path;   /* the file asked for */
  char *tmp;          /* the temporary file being written */
  FILE *f;
} OutFile;

/* Creates the temporary file; 0 on success, else prints "moe: cannot
 * write 'FILE': why" on stderr and returns nonzero. */
int outfile_open(OutFile *o, const char *path);

/* Finishes the file: renamed over FILE when keep is nonzero or something
 * was written, else removed; 0 on success, else prints why and returns
 * nonzero (FILE is then untouched). */
int outfile_commit(OutFile *o, int keep);

#endif
