/* Variable substitution in Dockerfile words, as Docker's shell lexer does
 * it: $v, ${v}, ${v:-word}, ${v-word}, ${v:+word}, ${v+word}, ${v:?msg},
 * ${v?msg}, "\$" for a literal dollar (the escape character may be '`'),
 * single quotes (no expansion inside), double quotes (expansion inside),
 * and quote removal. Used for FROM, COPY, ADD, ENV, LABEL, ARG, EXPOSE,
 * STOPSIGNAL, USER, VOLUME, WORKDIR and the flags that Docker expands;
 * never for RUN, CMD, ENTRYPOINT (the shell in the container does that).
 */
#ifndef STRATA_BUILD_EXPAND_H
#define STRATA_BUILD_EXPAND_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* Looks a variable up: its value, or NULL when it is not set. */
typedef const char *(*st_expand_lookup)(void *ctx, const char *name);

typedef struct st_expander {
  st_expand_lookup lookup;
  void *ctx;
  char escape; /* '\\' or '`' */
  /* Called for every variable the text references, set or not (for cache
   * keys and the UndefinedVar check); may be NULL. */
  void (*used)(void *ctx, const char *name, bool set);
} st_expander;

/* Expands one word (quotes removed): "${A:-x}/b" -> "x/b". A word that
 * expands to nothing gives "". EINVAL for a bad substitution
 * ("${", "${v:?msg}" with v unset: the message). */
int st_expand_word(const st_expander *x, const char *word, char **out,
                   st_error **err);

/* Expands text and splits the result into words on unquoted whitespace,
 * as Docker does for the words of EXPOSE and the image of FROM; quoted
 * parts stay in one word. *words is a NULL-terminated heap array. */
int st_expand_words(const st_expander *x, const char *text, char ***words,
                    size_t *n, st_error **err);

/* Docker's predefined proxy ARGs (HTTP_PROXY, HTTPS_PROXY, FTP_PROXY,
 * NO_PROXY, ALL_PROXY, in either case): usable in RUN without an ARG line,
 * kept out of the history and the cache key. */
bool st_expand_proxy_arg(const char *name);

#endif
