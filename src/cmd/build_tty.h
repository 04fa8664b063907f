/* The live view of `build --progress=tty` (see build_tty.c). */
#ifndef STRATA_CMD_BUILD_TTY_H
#define STRATA_CMD_BUILD_TTY_H

#include <stdio.h>

#include "build/build.h"

typedef struct build_tty build_tty;

build_tty *build_tty_new(FILE *out);
void build_tty_event(build_tty *t, const st_build_event *ev);
/* Draws the final view (every step collapsed to its line). */
void build_tty_finish(build_tty *t);
void build_tty_free(build_tty *t);

#endif
