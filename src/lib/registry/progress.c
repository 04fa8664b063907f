/* Docker's progress words and bars. */
#include "registry/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/units.h"
#include "util/cleanup.h"

#define BAR_WIDTH 50

/* "[=====>     ]  1.2MB/4.5MB", as Docker's JSONProgress draws it. */
static void bar(char *buf, size_t n, const char *what, uint64_t cur,
                uint64_t total) {
  cleanup_free char *c = st_human_size((int64_t)cur);
  cleanup_free char *t = st_human_size((int64_t)total);
  char b[BAR_WIDTH + 3];
  size_t fill = total ? (size_t)(cur * BAR_WIDTH / total) : 0;
  if (fill > BAR_WIDTH)
    fill = BAR_WIDTH;
  b[0] = '[';
  for (size_t i = 0; i < BAR_WIDTH; i++)
    b[i + 1] = i < fill ? '=' : (i == fill ? '>' : ' ');
  b[BAR_WIDTH + 1] = ']';
  b[BAR_WIDTH + 2] = '\0';
  snprintf(buf, n, "%s %s  %s/%s", what, b, c ? c : "?", t ? t : "?");
}

const char *st_reg_event_status(const st_reg_event *ev, bool with_bar,
                                char *buf, size_t n) {
  const char *s = NULL;
  switch (ev->kind) {
  case ST_REG_LAYER_EXISTS:
    s = "Already exists";
    break;
  case ST_REG_LAYER_WAITING:
    s = "Pulling fs layer";
    break;
  case ST_REG_LAYER_DOWNLOADING:
    if (with_bar && ev->total) {
      bar(buf, n, "Downloading", ev->current, ev->total);
      return buf;
    }
    s = "Downloading";
    break;
  case ST_REG_LAYER_RETRYING:
    snprintf(buf, n, "Retrying (attempt %llu): %s",
             (unsigned long long)ev->current + 1, ev->text ? ev->text : "");
    return buf;
  case ST_REG_LAYER_VERIFYING:
    s = "Verifying Checksum";
    break;
  case ST_REG_LAYER_DOWNLOADED:
    s = "Download complete";
    break;
  case ST_REG_LAYER_PULL_COMPLETE:
    s = "Pull complete";
    break;
  case ST_REG_LAYER_PREPARING:
    s = "Preparing";
    break;
  case ST_REG_LAYER_PUSH_WAITING:
    s = "Waiting";
    break;
  case ST_REG_LAYER_PUSHING:
    if (with_bar && ev->total) {
      bar(buf, n, "Pushing", ev->current, ev->total);
      return buf;
    }
    s = "Pushing";
    break;
  case ST_REG_LAYER_PUSHED:
    s = "Pushed";
    break;
  case ST_REG_LAYER_MOUNTED:
    snprintf(buf, n, "Mounted from %s", ev->text ? ev->text : "");
    return buf;
  case ST_REG_LAYER_ALREADY_PUSHED:
    s = "Layer already exists";
    break;
  case ST_REG_PULLING_FROM:
  case ST_REG_PUSH_REFERS:
  case ST_REG_IMAGE_MISSING:
  default:
    return NULL;
  }
  snprintf(buf, n, "%s", s);
  return buf;
}

bool st_reg_event_is_milestone(const st_reg_event *ev) {
  return ev->kind != ST_REG_LAYER_DOWNLOADING &&
         ev->kind != ST_REG_LAYER_PUSHING;
}
