/* Docker's pull output, shared by `pull` and by `run`/`create` when they
 * pull their image (which print it on stderr, as Docker does, keeping
 * stdout for the container). */
#ifndef STRATA_CMD_PULL_PROGRESS_H
#define STRATA_CMD_PULL_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "registry/registry.h"

/* Per-layer lines; on a terminal each layer keeps its line and is redrawn
 * in place, as Docker does. */
typedef struct cli_pull_printer {
  FILE *out;
  bool tty;
  char ids[256][13];
  size_t n;
} cli_pull_printer;

/* Prints to out; redraws in place when out is a terminal. */
void cli_pull_printer_init(cli_pull_printer *p, FILE *out);

/* An st_reg_progress_fn; ctx is a cli_pull_printer. */
void cli_pull_on_event(void *ctx, const st_reg_event *ev);

/* "Digest: ..." and "Status: ..." after a pull (without the final name). */
void cli_pull_print_status(FILE *out, const st_pull_result *r);

/* For `run` and `create`: makes sure image is in the store as the --pull
 * policy (NULL: missing) says, printing Docker's notice and the pull on
 * stderr. Returns -1 when the container can be created, else the exit code
 * (125) after printing the error. */
int cli_ensure_image(struct st_store *s, const char *image, const char *policy);
/* The same for --platform ("os/arch[/variant]", NULL: the host's). */
int cli_ensure_image_for(struct st_store *s, const char *image,
                         const char *policy, const char *platform);

#endif
