/* Docker's pull output (see pull_progress.h). */
#include "pull_progress.h"

#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "registry/progress.h"
#include "runtime/flags.h"
#include "util/cleanup.h"

void cli_pull_printer_init(cli_pull_printer *p, FILE *out) {
  memset(p, 0, sizeof(*p));
  p->out = out;
  p->tty = isatty(fileno(out)) == 1;
}

static size_t line_of(cli_pull_printer *p, const char *digest) {
  char id[13];
  snprintf(id, sizeof(id), "%.12s", digest + 7);
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->ids[i], id) == 0)
      return i;
  if (p->n == sizeof(p->ids) / sizeof(p->ids[0]))
    return p->n - 1;
  memcpy(p->ids[p->n], id, sizeof(id));
  if (p->tty)
    fputc('\n', p->out);
  return p->n++;
}

void cli_pull_on_event(void *ctx, const st_reg_event *ev) {
  cli_pull_printer *p = ctx;
  if (ev->kind == ST_REG_IMAGE_MISSING) {
    fprintf(stderr, "Unable to find image '%s' locally\n", ev->text);
    fflush(stderr);
    return;
  }
  if (ev->kind == ST_REG_PULLING_FROM) {
    fprintf(p->out, "%s: Pulling from %s\n", ev->text, ev->repo);
    fflush(p->out);
    p->n = 0;
    return;
  }
  char buf[160];
  if (ev->digest == NULL ||
      st_reg_event_status(ev, p->tty, buf, sizeof(buf)) == NULL)
    return;
  if (!p->tty) {
    if (st_reg_event_is_milestone(ev))
      fprintf(p->out, "%.12s: %s\n", ev->digest + 7, buf);
    fflush(p->out);
    return;
  }
  size_t i = line_of(p, ev->digest);
  size_t up = p->n - i;
  fprintf(p->out, "\033[%zuA\r\033[2K%.12s: %s\033[%zuB\r", up, ev->digest + 7,
          buf, up);
  fflush(p->out);
}

void cli_pull_print_status(FILE *out, const st_pull_result *r) {
  cleanup_free char *fam = cli_familiar(r->name);
  fprintf(out, "Digest: %s\n", r->digest);
  fprintf(out, "Status: %s for %s\n",
          r->up_to_date ? "Image is up to date" : "Downloaded newer image",
          fam ? fam : r->name);
  fflush(out);
}

int cli_ensure_image(struct st_store *s, const char *image,
                     const char *policy) {
  return cli_ensure_image_for(s, image, policy, NULL);
}

int cli_ensure_image_for(struct st_store *s, const char *image,
                         const char *policy, const char *platform) {
  cleanup_error st_error *err = NULL;
  st_pull_policy pol;
  if (st_pull_policy_parse(policy, &pol, &err) < 0) {
    cli_print_error(err);
    return 125;
  }
  /* Docker: an image of another platform than --platform's is missing */
  if (pol == ST_PULL_MISSING && st_image_platform_differs(s, image, platform))
    pol = ST_PULL_ALWAYS;
  cli_pull_printer p;
  cli_pull_printer_init(&p, stderr);
  st_reg_opts o = {
      .progress = cli_pull_on_event, .progress_ctx = &p, .platform = platform};
  st_pull_result r;
  int rc = st_image_ensure(s, image, pol, &o, &r, &err);
  if (rc < 0) {
    cli_print_error(err);
    return 125;
  }
  if (rc > 0) {
    cli_pull_print_status(stderr, &r);
    st_pull_result_clear(&r);
  }
  return -1;
}
