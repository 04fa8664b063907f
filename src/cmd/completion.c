/* strata completion bash|zsh|fish: completion scripts made from the
 * command table and each command's --help text, so they always match the
 * binary. zsh runs the bash script through its bashcompinit layer; fish
 * gets `complete` lines of its own. */
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
           "\nUsage:  strata completion bash|zsh|fish\n\n"
           "Generate the autocompletion script for the specified shell\n\n"
           "To load completions in the current shell:\n\n"
           "  bash:  source <(strata completion bash)\n"
           "  zsh:   source <(strata completion zsh)\n"
           "  fish:  strata completion fish | source\n\n"
           "To load them for every new session, save the script as\n"
           "/usr/share/bash-completion/completions/strata (bash; `make\n"
           "install` installs it under PREFIX), a file sourced by ~/.zshrc\n"
           "(zsh), or ~/.config/fish/completions/strata.fish (fish).\n\n"
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
  printf("_strata_commands='builder container image network system volume "
         "help%s'\n",
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

/* zsh: its bashcompinit layer runs the bash script's `complete -F`. */
static const char zsh_head[] =
    "# zsh completion for strata (made by `strata completion zsh`)\n"
    "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit -i; "
    "}\n"
    "autoload -U +X bashcompinit && bashcompinit\n";
/* The bash function indexes arrays from 0 and relies on word splitting. */
static const char zsh_tail[] = "_strata_zsh() {\n"
                               "  setopt localoptions ksharrays shwordsplit\n"
                               "  _strata \"$@\"\n"
                               "}\n"
                               "complete -F _strata_zsh strata\n";

/* fish: single quotes escaped for a fish string. */
static void fish_quoted(const char *s, size_t len) {
  putchar('\'');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\'' || s[i] == '\\')
      putchar('\\');
    putchar(s[i]);
  }
  putchar('\'');
}

/* One `complete` line per flag of a usage text, under condition cond. */
static void fish_flags(const char *usage, const char *cond) {
  st_buf flags = ST_BUF_INIT;
  usage_flags(usage, &flags);
  for (const char *p = flags.data; p && *p;) {
    while (*p == ' ')
      p++;
    size_t len = strcspn(p, " ");
    if (len > 2 && p[1] == '-')
      printf("complete -c strata -n %s -l %.*s\n", cond, (int)len - 2, p + 2);
    else if (len == 2)
      printf("complete -c strata -n %s -s %c\n", cond, p[1]);
    p += len;
  }
  st_buf_free(&flags);
}

static void print_fish(void) {
  puts("# fish completion for strata (made by `strata completion fish`)");
  puts("function __strata_words");
  puts("  switch $argv[1]");
  puts("    case image");
  puts("      strata images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null "
       "| string match -v '*<none>*'");
  puts("    case container");
  puts("      strata ps -a --format '{{.Names}}' 2>/dev/null");
  puts("  end");
  puts("end");
  /* the words after `strata` that are neither flags nor the values of
   * the global --root and --log-level: the command path, then arguments */
  puts("function __strata_path");
  puts("  set -l skip 0");
  puts("  for w in (commandline -opc)[2..-1]");
  puts("    if test $skip = 1");
  puts("      set skip 0");
  puts("    else if contains -- $w --root --log-level -l");
  puts("      set skip 1");
  puts("    else if not string match -q -- '-*' $w");
  puts("      echo $w");
  puts("    end");
  puts("  end");
  puts("end");
  puts("function __strata_is");
  puts("  test \"$(__strata_path)\" = \"$argv\"");
  puts("end");
  /* the command is argv (maybe followed by arguments) */
  puts("function __strata_in");
  puts("  set -l path (__strata_path)");
  puts("  set -l n (count $argv)");
  puts("  test (count $path) -ge $n; or return 1");
  puts("  test \"$path[1..$n]\" = \"$argv\"");
  puts("end");
  puts("complete -c strata -f");
  puts("complete -c strata -n '__strata_is' -l root -r");
  puts("complete -c strata -n '__strata_is' -s l -l log-level -r");
  puts("complete -c strata -n '__strata_is' -s D -l debug");
  puts("complete -c strata -n '__strata_is' -s v -l version");
  puts("complete -c strata -n '__strata_is' -s h -l help");
  static const char *const groups[] = {
      "builder", "container", "image", "network", "system", "volume", NULL};
  for (size_t i = 0; groups[i]; i++)
    printf("complete -c strata -n '__strata_is' -a %s\n", groups[i]);
  for (const st_command *c = __start_strata_cmds; c < __stop_strata_cmds; c++) {
    for (const char *p = c->names; p && *p;) {
      size_t len = strcspn(p, "|");
      const char *sp = memchr(p, ' ', len);
      /* the command path before the last word, and the last word */
      size_t head = sp ? (size_t)(sp - p) : 0;
      const char *last = sp ? sp + 1 : p;
      size_t last_len = len - (size_t)(last - p);
      printf("complete -c strata -n '__strata_is%s%.*s' -a %.*s -d ",
             sp ? " " : "", (int)head, p, (int)last_len, last);
      fish_quoted(c->summary, strlen(c->summary));
      putchar('\n');
      char cond[96];
      snprintf(cond, sizeof(cond), "'__strata_in %.*s'", (int)len, p);
      fish_flags(c->usage, cond);
      cleanup_free char *name = strndup(p, len);
      const char *kind = listed(image_cmds, name ? name : "") ? "image"
                         : listed(container_cmds, name ? name : "")
                             ? "container"
                             : NULL;
      if (kind)
        printf("complete -c strata -n %s -a '(__strata_words %s)'\n", cond,
               kind);
      p = p[len] == '|' ? p + len + 1 : NULL;
    }
  }
}

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
                                       "(bash, zsh or fish).\nUsage:  "
                                       "strata completion bash|zsh|fish");
  const char *shell = argv[optind];
  if (strcmp(shell, "fish") == 0) {
    print_fish();
    return 0;
  }
  if (strcmp(shell, "bash") != 0 && strcmp(shell, "zsh") != 0)
    return cli_bad_usage("completion",
                         "unsupported shell \"%s\": bash, zsh and fish are "
                         "supported",
                         shell);
  if (strcmp(shell, "zsh") == 0)
    fputs(zsh_head, stdout);
  else
    fputs("# bash completion for strata (made by `strata completion "
          "bash`)\n",
          stdout);
  print_tables();
  fputs(script_body, stdout);
  if (strcmp(shell, "zsh") == 0)
    fputs(zsh_tail, stdout);
  return 0;
}
