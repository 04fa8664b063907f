/* strata completion bash: a bash completion script made from the command
 * table and each command's --help text, so it always matches the binary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "util/cleanup.h"

extern const st_command __start_strata_cmds[];
extern const st_command __stop_strata_cmds[];

static int run_completion(int argc, char **argv);

ST_COMMAND(completion, "completion", run_completion,
           "Generate the autocompletion script for the specified shell",
           "\nUsage:  strata completion bash\n\n"
           "Generate the autocompletion script for bash\n\n"
           "To load completions in the current shell:\n\n"
           "  source <(strata completion bash)\n\n"
           "To load them for every new session, save the script as\n"
           "/usr/share/bash-completion/completions/strata (`make install`\n"
           "installs it under PREFIX).\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

/* Commands whose arguments are images, and those whose arguments are
 * containers: completed from `strata images` / `strata ps -a`. */
static const char *const image_cmds[] = {"rmi",
                                         "image rm",
                                         "image remove",
                                         "history",
                                         "image history",
                                         "tag",
                                         "image tag",
                                         "push",
                                         "image push",
                                         "save",
                                         "image save",
                                         "run",
                                         "container run",
                                         "create",
                                         "container create",
                                         "image inspect",
                                         NULL};
static const char *const container_cmds[] = {"start",
                                             "stop",
                                             "restart",
                                             "kill",
                                             "rm",
                                             "logs",
                                             "exec",
                                             "wait",
                                             "top",
                                             "diff",
                                             "export",
                                             "commit",
                                             "rename",
                                             "cp",
                                             "inspect",
                                             "container start",
                                             "container stop",
                                             "container restart",
                                             "container kill",
                                             "container rm",
                                             "container logs",
                                             "container exec",
                                             "container wait",
                                             "container top",
                                             "container diff",
                                             "container export",
                                             "container commit",
                                             "container rename",
                                             "container cp",
                                             "container inspect",
                                             NULL};

static bool listed(const char *const *v, const char *name) {
  for (size_t i = 0; v[i]; i++)
    if (strcmp(v[i], name) == 0)
      return true;
  return false;
}

/* The flags in a usage text's option lines ("  -a, --all ..."), as one
 * space-separated string ("-a --all --format"). */
static void usage_flags(const char *usage, st_buf *out) {
  const char *opts = strstr(usage, "\nOptions:\n");
  for (const char *p = opts ? opts + 10 : NULL; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    size_t i = 0;
    while (i < len && p[i] == ' ')
      i++;
    /* "-a, --all", or "    --no-trunc": a short flag, then a long one */
    while (i + 1 < len && p[i] == '-') {
      size_t start = i;
      while (i < len && p[i] != ' ' && p[i] != ',' && p[i] != '=')
        i++;
      st_buf_printf(out, " %.*s", (int)(i - start), p + start);
      if (i < len && p[i] == ',')
        i++;
      while (i < len && p[i] == ' ')
        i++;
      if (i < len && p[i] != '-')
        break;
    }
    p = eol ? eol + 1 : NULL;
  }
}

/* A shell variable name for a command name: "image ls" -> "image_ls". */
static void var_name(const char *name, size_t len, char *out, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < len && k + 1 < n; i++)
    out[k++] = name[i] == ' ' ? '_' : name[i];
  out[k] = '\0';
}

static void print_tables(void) {
  st_buf top = ST_BUF_INIT, groups = ST_BUF_INIT;
  for (const st_command *c = __start_strata_cmds; c < __stop_strata_cmds; c++) {
    st_buf flags = ST_BUF_INIT;
    usage_flags(c->usage, &flags);
    for (const char *p = c->names; p && *p;) {
      size_t len = strcspn(p, "|");
      char var[64];
      var_name(p, len, var, sizeof(var));
      printf("_strata_flags_%s='%s'\n", var, flags.data ? flags.data + 1 : "");
      const char *sp = memchr(p, ' ', len);
      cleanup_free char *name = strndup(p, len);
      if (sp == NULL) {
        st_buf_printf(&top, " %s", name ? name : "");
      } else if (name) {
        name[sp - p] = '\0';
        st_buf_printf(&groups, "_strata_sub_%s+=' %s'\n", name,
                      name + (sp - p) + 1);
      }
      const char *kind = listed(image_cmds, name ? name : "") ? "image"
                         : listed(container_cmds, name ? name : "")
                             ? "container"
                             : "";
      if (name && sp)
        name[sp - p] = ' ';
      if (*kind)
        printf("_strata_args_%s=%s\n", var, kind);
      p = p[len] == '|' ? p + len + 1 : NULL;
    }
    st_buf_free(&flags);
  }
  printf("_strata_commands='builder container image system volume help%s'\n",
         top.data ? top.data : "");
  fputs(groups.data ? groups.data : "", stdout);
  st_buf_free(&top);
  st_buf_free(&groups);
}

static const char script_body[] =
    "_strata_words() {\n"
    "  case $1 in\n"
    "  image) strata images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |\n"
    "    grep -v '<none>' ;;\n"
    "  container) strata ps -a --format '{{.Names}}' 2>/dev/null ;;\n"
    "  esac\n"
    "}\n"
    "\n"
    "_strata() {\n"
    "  local cur=${COMP_WORDS[COMP_CWORD]} i=1 w cmd= sub= var\n"
    "  COMPREPLY=()\n"
    "  while [ \"$i\" -lt \"$COMP_CWORD\" ]; do\n"
    "    w=${COMP_WORDS[i]}\n"
    "    case $w in\n"
    "    --root | --log-level | -l) [ -z \"$cmd\" ] && i=$((i + 1)) ;;\n"
    "    -*) ;;\n"
    "    *)\n"
    "      if [ -z \"$cmd\" ]; then\n"
    "        cmd=$w\n"
    "      elif [ -z \"$sub\" ] && eval \"[ -n \\\"\\${_strata_sub_$cmd:-}\\\" "
    "]\"; then\n"
    "        sub=$w\n"
    "        break\n"
    "      else\n"
    "        break\n"
    "      fi\n"
    "      ;;\n"
    "    esac\n"
    "    i=$((i + 1))\n"
    "  done\n"
    "  if [ -z \"$cmd\" ]; then\n"
    "    case $cur in\n"
    "    -*) COMPREPLY=($(compgen -W '--root --log-level -l --debug -D "
    "--version -v --help -h' -- \"$cur\")) ;;\n"
    "    *) COMPREPLY=($(compgen -W \"$_strata_commands\" -- \"$cur\")) ;;\n"
    "    esac\n"
    "    return\n"
    "  fi\n"
    "  local subs\n"
    "  eval \"subs=\\${_strata_sub_$cmd:-}\"\n"
    "  if [ -n \"$subs\" ] && [ -z \"$sub\" ]; then\n"
    "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
    "    return\n"
    "  fi\n"
    "  var=$cmd${sub:+_$sub}\n"
    "  case $cur in\n"
    "  -*) eval \"COMPREPLY=(\\$(compgen -W \\\"\\${_strata_flags_$var:-}\\\" "
    "-- \\\"\\$cur\\\"))\" ;;\n"
    "  *)\n"
    "    local kind\n"
    "    eval \"kind=\\${_strata_args_$var:-}\"\n"
    "    [ -n \"$kind\" ] && COMPREPLY=($(compgen -W \"$(_strata_words "
    "\"$kind\")\" -- \"$cur\"))\n"
    "    ;;\n"
    "  esac\n"
    "}\n"
    "complete -F _strata strata\n";

static int run_completion(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
    switch (c) {
    case 'h':
      return cli_usage(&st_cmd_completion);
    default:
      return cli_bad_flag("completion");
    }
  }
  if (argc - optind != 1)
    return cli_bad_usage("completion", "\"strata completion\" requires "
                                       "exactly 1 argument: the shell "
                                       "(bash).\nUsage:  strata completion "
                                       "bash");
  if (strcmp(argv[optind], "bash") != 0)
    return cli_bad_usage("completion",
                         "unsupported shell \"%s\": only bash is supported "
                         "(zsh and fish are not yet)",
                         argv[optind]);
  fputs("# bash completion for strata (made by `strata completion bash`)\n",
        stdout);
  print_tables();
  fputs(script_body, stdout);
  return 0;
}
