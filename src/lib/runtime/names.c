/* Generated container names in Docker's "adjective_surname" shape, and
 * process identity helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "runtime/internal.h"
#include "util/cleanup.h"

static const char *const adjectives[] = {
    "admiring", "brave",      "clever",   "dazzling", "eager",   "focused",
    "gallant",  "happy",      "jolly",    "keen",     "loving",  "modest",
    "nifty",    "optimistic", "quirky",   "relaxed",  "serene",  "tender",
    "upbeat",   "vibrant",    "wizardly", "youthful", "zealous", "bold",
};

static const char *const surnames[] = {
    "turing",  "hopper",   "lovelace", "ritchie",   "thompson", "torvalds",
    "knuth",   "dijkstra", "liskov",   "hamilton",  "curie",    "noether",
    "shannon", "babbage",  "goldberg", "kernighan", "pike",     "mccarthy",
    "allen",   "perlman",  "wozniak",  "cerf",      "lamport",  "backus",
};

#define COUNT(a) (sizeof(a) / sizeof(a[0]))

char *st_name_generate(void) {
  unsigned r[2];
  if (getrandom(r, sizeof(r), 0) != sizeof(r))
    r[0] = (unsigned)rand(), r[1] = (unsigned)rand();
  char *name = NULL;
  if (asprintf(&name, "%s_%s", adjectives[r[0] % COUNT(adjectives)],
               surnames[r[1] % COUNT(surnames)]) < 0)
    return NULL;
  return name;
}

uint64_t st_pid_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  cleanup_file FILE *f = fopen(path, "re");
  if (f == NULL || fgets(buf, sizeof(buf), f) == NULL)
    return 0;
  /* comm may hold spaces and parentheses: fields start after the last ')' */
  char *p = strrchr(buf, ')');
  if (p == NULL)
    return 0;
  char state = 0;
  unsigned long long start = 0;
  /* state is field 3, starttime field 22 */
  if (sscanf(p + 2,
             "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
             "%*s %*s %*s %*s %*s %*s %llu",
             &state, &start) != 2)
    return 0;
  return state == 'Z' || state == 'X' ? 0 : start;
}

bool st_pid_alive(pid_t pid, uint64_t start) {
  return pid > 0 && start != 0 && st_pid_start_time(pid) == start;
}
