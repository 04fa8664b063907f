/* Debug messages handed to the program's sink (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static st_log_sink debug_sink;

void st_log_set_debug(st_log_sink sink) {
  debug_sink = sink;
}

bool st_debug_enabled(void) {
  return debug_sink != NULL;
}

void st_debug(const char *fmt, ...) {
  if (debug_sink == NULL)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  debug_sink(msg);
}
