/* .dockerignore: patterns compiled once, matched against every path of the
 * build context, with Docker's rules:
 *   - one pattern per line; lines starting with '#' are comments; blank
 *     lines are skipped; surrounding whitespace trimmed;
 *   - a pattern is cleaned like Go's filepath.Clean ("./a//b/" -> "a/b"),
 *     a leading '/' is dropped (patterns are relative to the context root);
 *   - '*' matches any run of non-'/' characters, '?' one non-'/'
 *     character, "[a-z]" / "[!a-z]" classes, '\\' escapes; "**" matches any
 *     number of directories (including none);
 *   - a pattern that matches a directory excludes everything under it
 *     ("node_modules" excludes "node_modules/x/y");
 *   - "!pattern" re-includes what an earlier pattern excluded; the last
 *     pattern that matches decides.
 */
#ifndef STRATA_BUILD_IGNORE_H
#define STRATA_BUILD_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct st_ignore st_ignore;

/* Compiles the text of a .dockerignore (len bytes). An empty text gives a
 * matcher that excludes nothing. EINVAL names the bad pattern and its line
 * ("line 3: bad pattern \"[a-\""). */
int st_ignore_compile(const char *text, size_t len, st_ignore **out,
                      st_error **err);

/* True when path (relative to the context root, '/'-separated, no leading
 * "./" or "/", "" never matches) is excluded. */
bool st_ignore_match(const st_ignore *ig, const char *path);

/* True when a walker that found dir excluded must still descend into it,
 * because an exception ("!dir/keep") may re-include something below. */
bool st_ignore_may_reinclude(const st_ignore *ig, const char *dir);

/* Number of patterns (0 for an empty matcher, which callers may skip). */
size_t st_ignore_count(const st_ignore *ig);

/* The pattern texts as compiled (cleaned, '!' kept), for `--check`'s
 * CopyIgnoredFile rule and for messages. */
const char *st_ignore_pattern(const st_ignore *ig, size_t i);

void st_ignore_free(st_ignore *ig);

#endif
