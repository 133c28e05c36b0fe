/*
 * parser.y — the grammar of moe scripts (Lemon).
 *
 * Actions are one call each into ast.c; nodes live in the program's arena,
 * so no nonterminal needs a destructor.  Syntax errors are recorded on the
 * parse context (parse.c) and recovery happens at statement boundaries
 * through the `error` symbol, so one run reports several errors.  An error
 * whose token is the end of input marks the parse "incomplete": the REPL and
 * moe_complete() use that to ask for a continuation line.
 */

%name moeParse
%token_prefix TK_
%token_type {Token}
%default_type {Expr *}
%extra_context {ParseCtx *pc}

%include {
/* Lemon's asserts check its own tables, which no input can reach; compiled
 * in they would be an abort path inside the library, so they are off. */
#ifndef NDEBUG
#define NDEBUG 1
#endif
#include <assert.h>
#include <stdlib.h>
#include "parse.h"
#define B (&pc->b)
}

%syntax_error {
  /* Which tokens would have been accepted here?  States with a default
   * reduction accept almost anything, so only short lists are shown. */
  int expect[PARSE_MAX_EXPECT], nexpect = 0;
  for (int t = 1; t < YYNTOKEN; t++) {
    if (yy_find_shift_action((YYCODETYPE)t, yypParser->yytos->stateno) == YY_ERROR_ACTION)
      continue;
    if (nexpect < PARSE_MAX_EXPECT)
      expect[nexpect] = t;
    nexpect++;
  }
  parse_syntax_error(pc, yymajor, &yyminor, expect, nexpect);
}

%stack_overflow {
  parse_overflow(pc);
}

%stack_size 400

/* Nodes live in the arena, so nothing needs freeing on error recovery. */
%default_destructor { (void)pc; (void)yypminor; }

/* Soft keywords: where the keyword cannot be meant, it is a plain name, so
 * `geometric(from = 1, to = 0.1)`, `moe(router = r, ...)` and `m.router`
 * work. */
%fallback IDENT FROM ON UNDER WITH NOISE LAW ROUTER EXPERT TARGET MODEL SCHEDULE.

%right ELSE.
%left OR.
%left AND.
%right NOT.
%nonassoc EQ NE LT LE GT GE.
%left PLUS MINUS.
%left STAR SLASH AT.
%right UMINUS.
%right CARET.
%left LPAREN LBRACKET DOT.

%token_class sep NEWLINE|SEMI.

program ::= stmts(L).                       { pc->prog->stmts = L; }

%type stmts {StmtList}
stmts(A) ::= .                               { memset(&A, 0, sizeof A); }
stmts(A) ::= stmts(A) stmt(S).               { ast_stmts_add(B, &A, S); }
stmts(A) ::= stmts(A) sep.

%type stmt {Stmt *}
stmt(A) ::= LET(K) IDENT(N) ASSIGN expr(E) sep.                  { A = ast_let(B, K, N, E); }
stmt(A) ::= FN(K) IDENT(N) LPAREN params(P) RPAREN ASSIGN expr(E) sep.
                                                                 { A = ast_fn(B, K, N, P, E); }
stmt(A) ::= decl(D) noise(Z) with(W) sep.                        { A = ast_decl_tail(B, D, Z, W); }
stmt(A) ::= SET(K) IDENT(N) ASSIGN expr(E) sep.                  { A = ast_set(B, K, N, E); }
stmt(A) ::= REPORT(K) expr(E) sep.                               { A = ast_report(B, K, E); }
stmt(A) ::= PRINT(K) exprs(L) sep.                               { A = ast_print(B, K, L); }
stmt(A) ::= FOR(K) IDENT(N) IN expr(E) LBRACE stmts(L) RBRACE(R) sep.
                                                                 { A = ast_for(B, K, N, E, L, R); }
stmt(A) ::= IMPORT(K) STRING(S) sep.                             { A = ast_import(B, K, S); }
stmt(A) ::= EXTERN(K) FN IDENT(N) LPAREN tparams(P) RPAREN ARROW ptype(T) FROM STRING(S) sep.
                                                                 { A = ast_extern(B, K, N, P, T, S); }
stmt(A) ::= TRAIN(K) expr(M) ON expr(Y) UNDER expr(X) with(W) sep.
                                                                 { A = ast_train(B, K, M, Y, X, W); }
stmt(A) ::= expr(E) sep.                                         { A = ast_expr_stmt(B, E); }
stmt(A) ::= error sep.                                           { A = NULL; }

%type decl {Stmt *}
decl(A) ::= declkw(K) IDENT(N) ASSIGN expr(E).                   { A = ast_decl(B, K, N, NULL, E); }
decl(A) ::= declkw(K) IDENT(N) LPAREN params(P) RPAREN ASSIGN expr(E).
                                                                 { A = ast_decl(B, K, N, &P, E); }

%type declkw {Token}
declkw(A) ::= LAW(K).                        { A = K; }
declkw(A) ::= ROUTER(K).                     { A = K; }
declkw(A) ::= EXPERT(K).                     { A = K; }
declkw(A) ::= TARGET(K).                     { A = K; }
declkw(A) ::= MODEL(K).                      { A = K; }
declkw(A) ::= SCHEDULE(K).                   { A = K; }

noise(A) ::= .                               { A = NULL; }
noise(A) ::= NOISE expr(E).                  { A = E; }

%type with {ArgList}
with(A) ::= .                                { memset(&A, 0, sizeof A); }
with(A) ::= WITH options(L).                 { A = L; }

%type options {ArgList}
options(A) ::= IDENT(N) ASSIGN expr(E).      { memset(&A, 0, sizeof A); ast_args_add(B, &A, &N, E); }
options(A) ::= options(A) COMMA IDENT(N) ASSIGN expr(E).
                                             { ast_args_add(B, &A, &N, E); }

%type params {ParamList}
params(A) ::= .                              { memset(&A, 0, sizeof A); }
params(A) ::= plist(L).                      { A = L; }
%type plist {ParamList}
plist(A) ::= IDENT(N).                       { memset(&A, 0, sizeof A); ast_params_add(B, &A, N, NULL); }
plist(A) ::= plist(A) COMMA IDENT(N).        { ast_params_add(B, &A, N, NULL); }

%type tparams {ParamList}
tparams(A) ::= .                             { memset(&A, 0, sizeof A); }
tparams(A) ::= tplist(L).                    { A = L; }
%type tplist {ParamList}
tplist(A) ::= IDENT(N) COLON ptype(T).       { memset(&A, 0, sizeof A); ast_params_add(B, &A, N, &T); }
tplist(A) ::= tplist(A) COMMA IDENT(N) COLON ptype(T).
                                             { ast_params_add(B, &A, N, &T); }

/* An extern type: `num`, `vec`, `block`, or with a size, `vec[3]`; one
 * token spanning the text, read by lang/foreign.c (ffi_parse_type). */
%type ptype {Token}
ptype(A) ::= IDENT(T).                       { A = T; }
ptype(A) ::= IDENT(T) LBRACKET NUMBER RBRACKET(R).
                                             { A = ast_join(T, R); }

/* ------------------------------------------------------------ expressions */

expr(A) ::= expr(X) OR expr(Y).              { A = ast_binary(B, OP_OR, X, Y); }
expr(A) ::= expr(X) AND expr(Y).             { A = ast_binary(B, OP_AND, X, Y); }
expr(A) ::= NOT(K) expr(X).                  { A = ast_unary(B, K, OP_NOT, X); }
expr(A) ::= expr(X) EQ expr(Y).              { A = ast_binary(B, OP_EQ, X, Y); }
expr(A) ::= expr(X) NE expr(Y).              { A = ast_binary(B, OP_NE, X, Y); }
expr(A) ::= expr(X) LT expr(Y).              { A = ast_binary(B, OP_LT, X, Y); }
expr(A) ::= expr(X) LE expr(Y).              { A = ast_binary(B, OP_LE, X, Y); }
expr(A) ::= expr(X) GT expr(Y).              { A = ast_binary(B, OP_GT, X, Y); }
expr(A) ::= expr(X) GE expr(Y).              { A = ast_binary(B, OP_GE, X, Y); }
expr(A) ::= expr(X) PLUS expr(Y).            { A = ast_binary(B, OP_ADD, X, Y); }
expr(A) ::= expr(X) MINUS expr(Y).           { A = ast_binary(B, OP_SUB, X, Y); }
expr(A) ::= expr(X) STAR expr(Y).            { A = ast_binary(B, OP_MUL, X, Y); }
expr(A) ::= expr(X) SLASH expr(Y).           { A = ast_binary(B, OP_DIV, X, Y); }
expr(A) ::= expr(X) AT expr(Y).              { A = ast_binary(B, OP_MATMUL, X, Y); }
expr(A) ::= expr(X) CARET expr(Y).           { A = ast_binary(B, OP_POW, X, Y); }
expr(A) ::= MINUS(K) expr(X). [UMINUS]       { A = ast_unary(B, K, OP_NEG, X); }
expr(A) ::= PLUS expr(X). [UMINUS]           { A = X; }
expr(A) ::= IF(K) expr(C) THEN expr(X) ELSE expr(Y).
                                             { A = ast_if(B, K, C, X, Y); }
expr(A) ::= postfix(X).                      { A = X; }

postfix(A) ::= primary(X).                   { A = X; }
postfix(A) ::= postfix(F) LPAREN args(L) RPAREN(R).
                                             { A = ast_call(B, F, L, R); }
postfix(A) ::= postfix(X) LBRACKET exprs(L) RBRACKET(R).
                                             { A = ast_index(B, X, L, R); }
postfix(A) ::= postfix(X) DOT IDENT(N).      { A = ast_field(B, X, N); }

primary(A) ::= NUMBER(T).                    { A = ast_num(B, T); }
primary(A) ::= STRING(T).                    { A = ast_str(B, T); }
primary(A) ::= TRUE(T).                      { A = ast_bool(B, T, 1); }
primary(A) ::= FALSE(T).                     { A = ast_bool(B, T, 0); }
primary(A) ::= IDENT(T).                     { A = ast_name(B, T); }
primary(A) ::= LPAREN(L) expr(E) RPAREN(R).  { A = ast_paren(B, L, E, R); }
primary(A) ::= LBRACKET(L) elems(E) RBRACKET(R).
                                             { A = ast_list(B, L, E, R); }

%type exprs {ExprList}
exprs(A) ::= expr(E).                        { memset(&A, 0, sizeof A); ast_exprs_add(B, &A, E); }
exprs(A) ::= exprs(A) COMMA expr(E).         { ast_exprs_add(B, &A, E); }

%type elems {ExprList}
elems(A) ::= .                               { memset(&A, 0, sizeof A); }
elems(A) ::= exprs(L).                       { A = L; }
elems(A) ::= exprs(L) COMMA.                 { A = L; }

%type args {ArgList}
args(A) ::= .                                { memset(&A, 0, sizeof A); }
args(A) ::= arglist(L).                      { A = L; }
args(A) ::= arglist(L) COMMA.                { A = L; }

%type arglist {ArgList}
arglist(A) ::= expr(E).                      { memset(&A, 0, sizeof A); ast_args_add(B, &A, NULL, E); }
arglist(A) ::= IDENT(N) ASSIGN expr(E).      { memset(&A, 0, sizeof A); ast_args_add(B, &A, &N, E); }
arglist(A) ::= arglist(A) COMMA expr(E).     { ast_args_add(B, &A, NULL, E); }
arglist(A) ::= arglist(A) COMMA IDENT(N) ASSIGN expr(E).
                                             { ast_args_add(B, &A, &N, E); }
