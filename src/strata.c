/* strata: global flags, then dispatch to one command (src/cmd/<cmd>.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "config.h"
#include "util/cleanup.h"
#include "util/log.h"

extern const st_command __start_strata_cmds[];
extern const st_command __stop_strata_cmds[];

#define DEFAULT_ROOT "/var/lib/strata"

/* True when `names` ("images|image ls") contains exactly `name`. */
static int has_name(const char *names, const char *name) {
  size_t n = strlen(name);
  for (const char *p = names; *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0)
      return 1;
    if (!bar)
      break;
    p = bar + 1;
  }
  return 0;
}

static const st_command *find_command(const char *name) {
  for (const st_command *c = __start_strata_cmds; c < __stop_strata_cmds; c++)
    if (has_name(c->names, name))
      return c;
  return NULL;
}

static int cmp_cmd(const void *a, const void *b) {
  return strcmp((*(const st_command *const *)a)->names,
                (*(const st_command *const *)b)->names);
}

static void print_help(FILE *f) {
  fputs("\nUsage:  strata [OPTIONS] COMMAND\n\n"
        "A daemonless, Docker-compatible container image engine\n\n"
        "Options:\n"
        "      --root string        Root of the image store (default "
        "\"" DEFAULT_ROOT "\", or $STRATA_ROOT)\n"
        "  -l, --log-level string   Set the logging level (\"debug\"|\"info\"|"
        "\"warn\"|\"error\") (default \"warn\")\n"
        "  -D, --debug              Enable debug mode\n"
        "  -v, --version            Print version information and quit\n"
        "  -h, --help               Print usage\n\n",
        f);
  size_t n = (size_t)(__stop_strata_cmds - __start_strata_cmds);
  const st_command **sorted = calloc(n ? n : 1, sizeof(*sorted));
  if (sorted == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    sorted[i] = &__start_strata_cmds[i];
  qsort(sorted, n, sizeof(*sorted), cmp_cmd);
  /* Like Docker: management commands (groups) first, then the commands
   * whose main name is one word; group members are listed by `strata
   * GROUP`. */
  static const struct {
    const char *name, *summary;
  } groups[] = {
      {"builder", "Manage builds"}, {"container", "Manage containers"},
      {"image", "Manage images"},   {"network", "Manage networks"},
      {"system", "Manage strata"},  {"volume", "Manage volumes"}};
  fputs("Management Commands:\n", f);
  for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
    fprintf(f, "  %-11s %s\n", groups[i].name, groups[i].summary);
  fputs("\nCommands:\n", f);
  for (size_t i = 0; i < n; i++) {
    const char *names = sorted[i]->names;
    size_t len = strcspn(names, "|");
    if (memchr(names, ' ', len) != NULL)
      continue;
    fprintf(f, "  %-11.*s %s\n", (int)len, names, sorted[i]->summary);
  }
  free(sorted);
  fputs("\nRun 'strata COMMAND --help' for more information on a command.\n",
        f);
}

/* "strata image" alone lists the image subcommands (like Docker's
 * management commands); an unknown subcommand is an error. Returns 1 when
 * group was a known group. */
typedef struct group_row {
  char name[32];
  const char *summary;
} group_row;

static int cmp_row(const void *a, const void *b) {
  return strcmp(((const group_row *)a)->name, ((const group_row *)b)->name);
}

static int print_group_help(const char *group, const char *sub) {
  size_t glen = strlen(group);
  group_row rows[64];
  size_t n = 0;
  for (const st_command *c = __start_strata_cmds; c < __stop_strata_cmds; c++) {
    for (const char *p = c->names; p && *p;) {
      if (strncmp(p, group, glen) == 0 && p[glen] == ' ') {
        size_t len = strcspn(p + glen + 1, "|");
        if (n < sizeof(rows) / sizeof(rows[0]) && len < sizeof(rows[0].name)) {
          snprintf(rows[n].name, sizeof(rows[n].name), "%.*s", (int)len,
                   p + glen + 1);
          rows[n++].summary = c->summary;
        }
        break;
      }
      p = strchr(p, '|');
      p = p ? p + 1 : NULL;
    }
  }
  if (n == 0)
    return 0;
  /* sorted by name, as Docker lists a management command's commands */
  qsort(rows, n, sizeof(rows[0]), cmp_row);
  if (sub)
    fprintf(stderr, "strata: unknown command \"%s %s\"\n\n", group, sub);
  printf("\nUsage:  strata %s COMMAND\n\nCommands:\n", group);
  /* cobra's layout: names padded to the longest, at least 11 */
  int width = 11;
  for (size_t i = 0; i < n; i++)
    if ((int)strlen(rows[i].name) > width)
      width = (int)strlen(rows[i].name);
  for (size_t i = 0; i < n; i++)
    printf("  %-*s %s\n", width, rows[i].name, rows[i].summary);
  printf("\nRun 'strata %s COMMAND --help' for more information on a "
         "command.\n",
         group);
  return 1;
}

static int parse_log_level(const char *s) {
  static const char *names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  if (strcmp(s, "warning") == 0)
    return LOG_WARN;
  if (strcmp(s, "fatal") == 0 || strcmp(s, "panic") == 0)
    return LOG_ERROR;
  return -1;
}

/* Parses the flags before the command; returns the index of the command
 * word, or -1 (with *code set) when main should exit. */
static int parse_globals(int argc, char **argv, int *code) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    if (strcmp(a, "--root") == 0 || strcmp(a, "--log-level") == 0 ||
        strcmp(a, "-l") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "Error: flag needs an argument: %s\n", a);
        *code = 125;
        return -1;
      }
      val = argv[++i];
    } else if (strncmp(a, "--root=", 7) == 0) {
      val = a + 7;
      a = "--root";
    } else if (strncmp(a, "--log-level=", 12) == 0) {
      val = a + 12;
      a = "--log-level";
    }
    if (strcmp(a, "--root") == 0) {
      cli.root = val;
    } else if (strcmp(a, "--log-level") == 0 || strcmp(a, "-l") == 0) {
      int lvl = parse_log_level(val);
      if (lvl < 0) {
        fprintf(stderr,
                "Error: unknown log level \"%s\": use debug, info, warn or "
                "error\n",
                val);
        *code = 125;
        return -1;
      }
      cli.log_level = lvl;
    } else if (strcmp(a, "-D") == 0 || strcmp(a, "--debug") == 0) {
      cli.log_level = LOG_DEBUG;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      printf("strata version %s\n", STRATA_VERSION);
      *code = 0;
      return -1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_help(stdout);
      *code = 0;
      return -1;
    } else {
      fprintf(stderr, "Error: unknown flag: %s\nSee 'strata --help'.\n", a);
      *code = 125;
      return -1;
    }
  }
  return i;
}

/* Runs the command named by argv[i] (and argv[i+1] for two-word
 * commands) with the arguments after it; returns the exit code. */
static int dispatch(int argc, char **argv, int i);

/* `strata help [CMD...]`: what `strata [CMD...] --help` prints (argv[i] is
 * "help"). */
static int help_command(int argc, char **argv, int i) {
  static char help_flag[] = "--help";
  if (i + 1 >= argc || argv[i + 1][0] == '-' ||
      strcmp(argv[i + 1], "help") == 0) {
    print_help(stdout);
    return 0;
  }
  int n = argc - i - 1;
  cleanup_free char **hv = calloc((size_t)n + 2, sizeof(*hv));
  if (hv == NULL) {
    fputs("Error: out of memory\n", stderr);
    return 1;
  }
  memcpy(hv, argv + i + 1, (size_t)n * sizeof(*hv));
  hv[n] = help_flag;
  return dispatch(n + 1, hv, 0);
}

static int dispatch(int argc, char **argv, int i) {
  if (strcmp(argv[i], "help") == 0)
    return help_command(argc, argv, i);
  /* Two-word commands first ("image ls"), then one word ("images"). */
  const st_command *cmd = NULL;
  int used = 1;
  if (i + 1 < argc) {
    char two[128];
    if (snprintf(two, sizeof(two), "%s %s", argv[i], argv[i + 1]) <
        (int)sizeof(two))
      cmd = find_command(two);
    if (cmd)
      used = 2;
  }
  if (cmd == NULL)
    cmd = find_command(argv[i]);
  if (cmd == NULL) {
    /* A group ("image") alone or with --help prints its commands. */
    const char *sub = i + 1 < argc ? argv[i + 1] : NULL;
    bool help = sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0);
    if (print_group_help(argv[i], help ? NULL : sub))
      return sub && !help ? 1 : 0;
    fprintf(stderr,
            "strata: '%s' is not a strata command.\nSee 'strata --help'\n",
            argv[i]);
    return 1;
  }
  /* The command sees argv[0] = its own name (as typed), then its args. */
  int cargc = argc - i - used + 1;
  char **cargv = argv + i + used - 1;
  return cmd->run(cargc, cargv);
}

int main(int argc, char **argv) {
  int code = 0;
  int i = parse_globals(argc, argv, &code);
  if (i < 0)
    return code;
  if (cli.root == NULL)
    cli.root = getenv("STRATA_ROOT");
  if (cli.root == NULL || cli.root[0] == '\0')
    cli.root = DEFAULT_ROOT;
  if (cli.log_level >= LOG_DEBUG)
    st_log_set_debug(cli_debug_sink);
  if (i >= argc) {
    print_help(stdout);
    return 0;
  }
  return dispatch(argc, argv, i);
}
