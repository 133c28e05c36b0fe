/*
 * import.h — `import "file.moe"` and the prelude.
 *
 * A file is found beside the importing file, then in each directory of
 * MOE_PATH (colon-separated), then in the installed stdlib.  Each file is
 * read, parsed and checked once per state (the checker needs its names to
 * check the importer) and runs once, when its first import statement is
 * reached.  A file that imports itself, directly or through others, is an
 * error that names the cycle.
 */
#ifndef MOE_IMPORT_H
#define MOE_IMPORT_H

#include "interp.h"

typedef enum ImportState { IMPORT_NEW, IMPORT_CHECKING, IMPORT_CHECKED, IMPORT_RAN } ImportState;

typedef struct Import {
  char *path;            /* canonical */
  Program *prog;         /* owned by the state's program list */
  ImportState state;
} Import;

/* Finds, reads and parses the file of an import statement (once).  On
 * failure reports an error at the statement and returns NULL. */
Import *import_load(Interp *I, const Stmt *s);

/* Reports the cycle that s would close (when its file is being checked). */
void import_cycle(Interp *I, const Stmt *s, const Import *im);

/* Marks the start and end of checking an imported program (the chain is
 * what a cycle message names). */
void import_push(Interp *I, Import *im);
void import_pop(Interp *I);

/* Runs the file of an import statement if it has not run yet. */
int import_run(Interp *I, const Stmt *s);

/* Runs the embedded prelude (stdlib/prelude.moe) in a fresh state. */
int import_prelude(Interp *I);

void import_free_all(Interp *I);

#endif
