/*
 * source.h — script text and positions in it.
 *
 * A Source owns one file's (or one REPL line's, or one -e string's) text,
 * NUL-terminated.  Sources live as long as the interpreter state that read
 * them, because AST positions, diagnostics and result headings point into
 * them.  A Pos is (source, line, column), 1-based, columns in bytes.
 */
#ifndef MOE_SOURCE_H
#define MOE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/rt.h"

/* Limits on what the front end reads (docs/reliability.md): positions are
 * 32-bit, and nobody writes scripts this large — data belongs in .npy or CSV
 * files read with load(). */
#define SOURCE_MAX_BYTES (64u << 20)   /* a script, whole */
#define SOURCE_MAX_LINE (1u << 20)     /* one line */
#define SOURCE_MAX_STRING 4096u        /* one string literal (paths, method names) */

typedef struct Source {
  char *name;              /* file name as given, or "<stdin>", "<repl>", "-e" */
  char *text;              /* NUL-terminated; may contain other NULs (an error) */
  size_t len;              /* bytes, not counting the terminator */
  struct Source *next;     /* the state's list of sources */
} Source;

typedef struct Pos {
  const Source *src;
  uint32_t line, col;
} Pos;

/* Copies text into a new Source named name.  NULL (with rt's error) on OOM. */
Source *source_new(Rt *rt, const char *name, const char *text, size_t len);

/* Reads a whole file into a new Source.  RT_EIO with "cannot open 'f': why". */
RtStatus source_read(Rt *rt, const char *path, Source **out);

/* Frees a list of sources (follows next); accepts NULL. */
void source_free_all(Rt *rt, Source *s);

/* The text of line `line` (1-based): start pointer and length without '\n'. */
const char *source_line(const Source *s, uint32_t line, size_t *len);

#endif
