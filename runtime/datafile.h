/*
 * datafile.h — load a numeric matrix (or vector) from a NumPy .npy file or a
 * CSV/TSV text file, for the data a routing experiment reads (weights,
 * samples, labels).
 *
 * One call, data_load, picks the format by extension and otherwise by
 * sniffing the NumPy magic; every failure is a returned status with a message
 * that names the file (and, for text, line and column).  The library never
 * prints, exits or aborts.
 *
 * Rules a caller must know:
 *  - Shape.  A 1-D .npy array of n elements and a CSV with one column both
 *    give rows = n, cols = 1, is_vector = 1.  A 2-D .npy (even n×1 or 1×m)
 *    and a CSV with two or more columns give is_vector = 0; a one-line CSV
 *    is a 1×m matrix.  0-d, 3-d and higher arrays and empty arrays are errors.
 *  - No silent NaN.  A NaN or infinity anywhere in the data is an error
 *    (RT_EIO): ".npy" reports the 0-based index "element [12, 3] is NaN",
 *    CSV the line and column of the field.
 *  - Status.  Every problem with the file is RT_EIO; a failed allocation is
 *    RT_ENOMEM ("out of memory").  On failure *out is left zeroed.
 *  - .npy: versions 1.0, 2.0, 3.0; dtypes float64/float32, int8..int64 and
 *    uint8..uint64 in either byte order (integers beyond 2^53 round);
 *    fortran_order arrays are transposed into C order.  A little-endian
 *    float64 C-order file is used where it was read, not converted.  Files
 *    are read, never memory-mapped, so a file truncated or rewritten by
 *    another process while loaded cannot crash the process (SIGBUS); one
 *    that shrinks during the read is reported as truncated.  A FIFO or
 *    device is refused before any read, so a load never blocks.  Bytes after the array are ignored, as
 *    numpy does.
 *  - CSV: rows are samples.  The separator is ',', or tab for a ".tsv"
 *    file or when the first row has a tab and no comma outside quotes.
 *    Blank lines and lines whose first non-blank character is '#' are
 *    skipped anywhere.  Fields may be double-quoted ("" is a quote) and
 *    surrounded by blanks; CRLF and a missing final newline are fine; a
 *    UTF-8 BOM is skipped.  Numbers are decimal, read in the C locale
 *    whatever the process locale: 1e-3, -.5, +2. are fine; hex, inf and nan
 *    are not.
 *  - Header: the first row is a header when any of its fields is neither
 *    empty, nor a number, nor a NaN/Inf spelling (so "1,nan" and "1,2," are
 *    reported as errors, never taken for names; ",a,b" from pandas is a
 *    header).  Its fields, unquoted, are in names.  A header made only of
 *    numbers cannot be told from data and is read as data.
 */
#ifndef MOE_DATAFILE_H
#define MOE_DATAFILE_H

#include <stddef.h>

#include "rt.h"

typedef struct DataMatrix {
  size_t rows, cols;   /* a vector has cols == 1 and is_vector == 1 */
  int is_vector;
  const double *data;  /* row-major rows×cols, all finite; read-only */
  char **names;        /* cols header names (CSV with a header), else NULL */
  /* Ownership, private to datafile.c: data points into exactly one. */
  void *heap;          /* a block from the allocation hook, or NULL */
} DataMatrix;

/* Loads path into *out (which need not be initialised).  ".npy" is NumPy,
 * ".csv", ".tsv" and ".txt" are text, ".npz" is refused; any other name is
 * NumPy if it starts with the NumPy magic and text otherwise. */
RtStatus data_load(Rt *rt, const char *path, DataMatrix *out);

/* Releases what data_load gave; accepts a zeroed struct and leaves *m
 * zeroed. */
void data_free(Rt *rt, DataMatrix *m);

#endif
