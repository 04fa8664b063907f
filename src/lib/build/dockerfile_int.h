/* Internals shared by the Dockerfile parser's files (not a public
 * interface): dockerfile.c reads lines into instructions, dockerfile_args.c
 * splits one instruction into flags and arguments, dockerfile_heredoc.c
 * finds here-document markers, dockerfile_check.c applies the rules that
 * Docker checks once the whole file has been read. */
#ifndef STRATA_BUILD_DOCKERFILE_INT_H
#define STRATA_BUILD_DOCKERFILE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "build/dockerfile.h"
#include "util/error.h"

/* The kind of a keyword that names no instruction; it is kept until the
 * check pass so that errors come in Docker's order (file-level errors
 * first, then instruction errors in file order). */
#define DF_UNKNOWN ((st_df_kind)(ST_DF_MAINTAINER + 1))

/* Bytes of a whitespace character (Go's unicode.IsSpace) at s[0..n), or 0. */
size_t df_space_len(const char *s, size_t n);
/* Go's unicode.IsSpace(rune(byte)): ASCII white space, 0x85 and 0xA0. */
bool df_byte_space(unsigned char c);
/* The keyword's kind (case-insensitive), or DF_UNKNOWN. */
st_df_kind df_kind_of(const char *keyword);
/* s in double quotes with '"', '\\' and control bytes escaped, as Go's %q
 * writes it for ASCII text; NULL when out of memory. */
char *df_quote(const char *s);

/* Appends item (elsize bytes) to *arr holding *n items, growing it to the
 * next power of two. Returns 0, or -1 when out of memory. */
int df_push(void *arr, size_t *n, size_t elsize, const void *item);
/* Appends a copy of s[0..len) to the string array *arr. */
int df_push_strn(char ***arr, size_t *n, const char *s, size_t len);

/* Splits one logical line (continuations joined) into *out: keyword,
 * flags, and the arguments its kind takes. depth is 0 for a top-level
 * instruction and 1 for the trigger of ONBUILD (whose own sub is not
 * parsed). On error *err holds the message without location. */
int df_parse_instr(const char *line, char escape, int depth, st_df_instr *out,
                   st_error **err);

/* Here-document markers of a RUN/COPY/ADD line, in order, contents empty.
 * Returns 0 (maybe none found) or -1 when out of memory. */
int df_heredoc_markers(const char *line, st_df_heredoc **docs, size_t *n,
                       st_error **err);
/* Whether word is one marker ("<<EOF", "2<<-'EOF'"): 1 with *name (heap),
 * *expand and *chomp set; 0 when it is not; -1 out of memory. name may be
 * NULL to only test. */
int df_heredoc_word(const char *word, char **name, bool *expand, bool *chomp);

/* Docker's rules for one instruction (argument counts, flags, ONBUILD
 * triggers, HEALTHCHECK forms); may normalize HEALTHCHECK. */
int df_check_instr(st_df_instr *in, st_error **err);

void df_instr_clear(st_df_instr *in);

#endif
