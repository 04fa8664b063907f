/* `build --progress=tty`: BuildKit's live view. The steps are redrawn in
 * place: a header with the elapsed time and steps done, one line per step
 * (CACHED, its time, or why it missed), and under the running step the
 * last lines of its output; finished steps collapse to their line. */
#include "build_tty.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

#define TAIL 6

typedef struct tty_step {
  int num;
  char *name, *why;
  int state; /* 0 running, 1 cached, 2 done, 3 error */
  double t0, seconds;
} tty_step;

struct build_tty {
  FILE *out;
  tty_step *steps;
  size_t n, cap;
  char *tail[TAIL];
  size_t n_tail;
  int drawn; /* lines drawn last time */
  double start, last_draw;
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

build_tty *build_tty_new(FILE *out) {
  build_tty *t = calloc(1, sizeof(*t));
  if (t) {
    t->out = out;
    t->start = now();
  }
  return t;
}

static void tail_clear(build_tty *t) {
  for (size_t i = 0; i < t->n_tail; i++)
    free(t->tail[i]);
  t->n_tail = 0;
}

void build_tty_free(build_tty *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->n; i++) {
    free(t->steps[i].name);
    free(t->steps[i].why);
  }
  free(t->steps);
  tail_clear(t);
  free(t);
}

static int columns(FILE *out) {
  struct winsize ws;
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
    return ws.ws_col;
  return 80;
}

static int rows(FILE *out) {
  struct winsize ws;
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 5)
    return ws.ws_row;
  return 24;
}

/* One line, cut to the width, cleared to its end. */
static void line(build_tty *t, int width, const char *left, const char *right) {
  int rl = right ? (int)strlen(right) : 0;
  int room = width - rl - 1;
  fprintf(t->out, "%.*s", room > 0 ? room : 0, left);
  int ll = (int)strlen(left);
  if (right) {
    for (int i = ll < room ? ll : room; i < room; i++)
      fputc(' ', t->out);
    fputs(right, t->out);
  }
  fputs("\033[K\n", t->out);
}

static void draw(build_tty *t, bool final) {
  int width = columns(t->out), max = rows(t->out) - 2;
  if (t->drawn)
    fprintf(t->out, "\033[%dA", t->drawn);
  size_t done = 0;
  for (size_t i = 0; i < t->n; i++)
    done += t->steps[i].state != 0;
  char head[128], right[32];
  snprintf(head, sizeof(head), "[+] Building %.1fs (%zu/%zu)%s",
           now() - t->start, done, t->n, final ? " FINISHED" : "");
  line(t, width, head, NULL);
  int drawn = 1;
  size_t first = t->n > (size_t)max ? t->n - (size_t)max : 0;
  for (size_t i = first; i < t->n; i++) {
    tty_step *s = &t->steps[i];
    cleanup_free char *left = NULL;
    double secs = s->state ? s->seconds : now() - s->t0;
    snprintf(right, sizeof(right), "%.1fs", secs);
    if (asprintf(&left, " => %s%s%s%s%s", s->state == 1 ? "CACHED " : "",
                 s->state == 3 ? "ERROR " : "", s->name, s->why ? "  # " : "",
                 s->why ? s->why : "") < 0)
      continue;
    line(t, width, left, s->state == 1 ? NULL : right);
    drawn++;
    if (s->state != 0 || i + 1 != t->n)
      continue;
    for (size_t k = 0; k < t->n_tail; k++) {
      cleanup_free char *o = NULL;
      if (asprintf(&o, " => => # %s", t->tail[k]) > 0)
        line(t, width, o, NULL);
      drawn++;
    }
  }
  for (int i = drawn; i < t->drawn; i++) /* the view got shorter */
    fputs("\033[K\n", t->out);
  if (drawn < t->drawn)
    fprintf(t->out, "\033[%dA", t->drawn - drawn);
  t->drawn = drawn;
  t->last_draw = now();
  fflush(t->out);
}

static tty_step *find(build_tty *t, int num) {
  for (size_t i = t->n; i-- > 0;)
    if (t->steps[i].num == num)
      return &t->steps[i];
  return NULL;
}

static void start(build_tty *t, const st_build_event *ev) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    tty_step *g = realloc(t->steps, cap * sizeof(*g));
    if (g == NULL)
      return;
    t->steps = g;
    t->cap = cap;
  }
  tail_clear(t);
  t->steps[t->n++] = (tty_step){
      .num = ev->step, .name = strdup(ev->name ? ev->name : ""), .t0 = now()};
}

void build_tty_event(build_tty *t, const st_build_event *ev) {
  tty_step *s = ev->kind == ST_BUILD_STEP_START ? NULL : find(t, ev->step);
  switch (ev->kind) {
  case ST_BUILD_STEP_START:
    start(t, ev);
    break;
  case ST_BUILD_STEP_CACHED:
    if (s)
      s->state = 1;
    break;
  case ST_BUILD_STEP_MISS:
    if (s && ev->text)
      s->why = strdup(ev->text);
    break;
  case ST_BUILD_STEP_OUTPUT:
    if (t->n_tail == TAIL) {
      free(t->tail[0]);
      memmove(t->tail, t->tail + 1, (TAIL - 1) * sizeof(char *));
      t->n_tail--;
    }
    t->tail[t->n_tail++] = strdup(ev->text ? ev->text : "");
    if (now() - t->last_draw < 0.05) /* output comes fast: 20 frames/s */
      return;
    break;
  case ST_BUILD_STEP_DONE:
  case ST_BUILD_STEP_ERROR:
    if (s) {
      s->state = ev->kind == ST_BUILD_STEP_DONE ? 2 : 3;
      s->seconds = ev->seconds;
    }
    break;
  case ST_BUILD_STEP_INFO:
    return;
  case ST_BUILD_WARNING:
  default:
    break;
  }
  draw(t, false);
}

void build_tty_finish(build_tty *t) {
  tail_clear(t);
  draw(t, true);
}
