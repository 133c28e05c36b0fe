/*
 * vm.h — the block expression VM: per-sample code run one column at a time.
 *
 * A program computes out_dim values per sample from in_dim inputs.  Every
 * instruction works on whole columns of n samples (one value per sample),
 * so the interpreter's dispatch is paid once per block, not once per sample.
 * Operands are columns of the input block (x), columns of scratch
 * temporaries, or constants.  A per-sample vector is a run of consecutive
 * columns, so a constant matrix times a per-sample vector is one GEMM.
 *
 * Programs are built by lang/lower.c (the only place that knows the syntax)
 * and are immutable once built; the same program runs on many threads, each
 * with its own scratch.
 */
#ifndef MOE_VM_H
#define MOE_VM_H

#include <stdint.h>

#include "blockfn.h"
#include "rt.h"

typedef enum VmOp {
  /* dst = f(a) */
  VM_MOV, VM_NEG, VM_ABS, VM_EXP, VM_LOG, VM_LOG1P, VM_SQRT, VM_SIN, VM_COS, VM_TAN,
  VM_TANH, VM_SIGMOID, VM_SOFTPLUS, VM_ERF, VM_NOT,
  /* dst = a op b */
  VM_ADD, VM_SUB, VM_MUL, VM_DIV, VM_POW, VM_MIN, VM_MAX,
  VM_LT, VM_LE, VM_GT, VM_GE, VM_EQ, VM_NE, VM_AND, VM_OR,
  /* dst = a + k·b */
  VM_AXPY,
  /* dst = k + Σ_j coef[j]·src[j] over nsrc columns */
  VM_LINCOMB,
  /* dst = c ? a : b (c is 0 or 1) */
  VM_SELECT,
  /* dst .. dst+rows-1 = M (rows × cols) · (a .. a+cols-1) */
  VM_GEMM,
  /* dst .. dst+fn->out_dim-1 = fn(a .. a+fn->in_dim-1) */
  VM_CALL,
  VM_NOPS
} VmOp;

enum { VM_CONST = 0, VM_INPUT = 1, VM_TEMP = 2 };

typedef struct VmArg {
  uint8_t space;         /* VM_CONST, VM_INPUT or VM_TEMP */
  uint32_t idx;          /* column number within its space */
  double k;              /* the value of a constant */
} VmArg;

typedef struct VmIns {
  uint8_t op;
  uint32_t dst;          /* a temporary */
  VmArg a, b, c;
  double k;              /* AXPY factor */
  uint32_t rows, cols;   /* GEMM shape */
  const double *mat;     /* GEMM matrix, LINCOMB coefficients (owned by the program) */
  const VmArg *srcs;     /* LINCOMB sources (owned by the program) */
  uint32_t nsrc;
  BlockFn *fn;           /* CALL target (a reference) */
} VmIns;

typedef struct VmProg {
  int in_dim, out_dim;
  uint32_t ntemps;
  VmIns *code;
  int ncode, cap;
  VmArg *out;            /* out_dim operands */
  double **mats;         /* GEMM matrices, owned */
  int nmats;
  VmArg **lists;         /* LINCOMB source lists, owned */
  int nlists;
  char *name;            /* "expert f" for messages */
} VmProg;

/* An empty program; NULL on OOM. */
VmProg *vm_new(Rt *rt, const char *name, int in_dim);
void vm_free(Rt *rt, VmProg *p);

/* Appends an instruction (copied); 1 on OOM. */
int vm_emit(Rt *rt, VmProg *p, const VmIns *ins);
/* A fresh temporary (consecutive calls give consecutive columns). */
uint32_t vm_temp(VmProg *p);
/* Takes ownership of a GEMM matrix (rows × cols, copied); NULL on OOM. */
const double *vm_matrix(Rt *rt, VmProg *p, const double *m, size_t rows, size_t cols);
/* Takes a copy of a LINCOMB source list; NULL on OOM. */
const VmArg *vm_sources(Rt *rt, VmProg *p, const VmArg *srcs, size_t n);

/* Sets the outputs (copied); 1 on OOM. */
int vm_set_outputs(Rt *rt, VmProg *p, const VmArg *out, int n);

/* Doubles of scratch that running p on n samples needs. */
size_t vm_scratch(const VmProg *p, size_t n);

/* Runs p on a block: x is in_dim × n (leading dimension ldx), y gets
 * out_dim × n (ldy).  A NaN or infinite output is an error naming the
 * program and the sample's inputs. */
RtStatus vm_run(const VmProg *p, size_t n, const double *x, size_t ldx, double *y,
                size_t ldy, double *scratch, BlockErr *err);

/* A block function running p (takes ownership of p). */
BlockFn *vm_blockfn(Rt *rt, VmProg *p);

/* If output `out` of the block function f (a VM program) is an affine
 * function of its inputs, beta·x + c, fills beta (in_dim) and *c and
 * returns 1; else 0.  (An expression expert `2*x[0] + 1` is affine; one
 * with sin() is not.) */
int vm_blockfn_affine(const BlockFn *f, int out, double *beta, double *c);

/* Writes a readable listing of the program (for --dump-plan). */
struct StrBuf;
void vm_dump(struct StrBuf *b, const VmProg *p);

const char *vm_op_name(VmOp op);

#endif
