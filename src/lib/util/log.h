/* Debug messages from the library (`strata -D`, `--log-level debug`).
 *
 * The library never writes to a terminal itself: it hands each message to
 * the sink the program installed (the CLI prints "strata: debug: ..." on
 * stderr). Without a sink, or below debug level, st_debug costs one
 * branch. Safe from any thread (the sink is set once, before work). */
#ifndef STRATA_UTIL_LOG_H
#define STRATA_UTIL_LOG_H

#include <stdbool.h>

typedef void (*st_log_sink)(const char *msg);

/* Installs the sink for debug messages; NULL turns them off. */
void st_log_set_debug(st_log_sink sink);

/* True when debug messages go somewhere (skip costly formatting else). */
bool st_debug_enabled(void);

/* One debug message, printf-style, without a trailing newline. */
void st_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
