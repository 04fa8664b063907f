/* strata's CopyBeforeDependencyInstall: a copy of the whole context
 * ("COPY . .", "ADD . /app", source "." "./" "*") followed, in the same
 * stage, by a slow dependency step ("npm ci", "pip install -r ...",
 * "go mod download", "apt-get install" ...). Any source change then
 * invalidates the layer of the copy and reruns the install. The finding
 * names the manifests to copy first. A stage that copied a manifest of the
 * ecosystem before the RUN is taken to know what it does. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "build/lint_internal.h"
#include "util/buf.h"
#include "util/cleanup.h"

typedef enum eco {
  ECO_NPM,
  ECO_YARN,
  ECO_PNPM,
  ECO_PIP,
  ECO_PYPROJECT,
  ECO_POETRY,
  ECO_PIPENV,
  ECO_UV,
  ECO_GO,
  ECO_CARGO,
  ECO_BUNDLER,
  ECO_COMPOSER,
  ECO_MAVEN,
  ECO_GRADLE,
  ECO_DOTNET,
  ECO_SYSTEM, /* apt-get, apk: needs no file from the context at all */
  ECO_NONE,
} eco;

/* Manifests (space-separated) and the install to run after copying them. */
static const struct {
  const char *manifests, *install;
} ecos[] = {
    [ECO_NPM] = {"package.json package-lock.json", "npm ci"},
    [ECO_YARN] = {"package.json yarn.lock", "yarn install"},
    [ECO_PNPM] = {"package.json pnpm-lock.yaml", "pnpm install"},
    [ECO_PIP] = {"requirements.txt", NULL}, /* install: the RUN's */
    [ECO_PYPROJECT] = {"pyproject.toml", "pip install ."},
    [ECO_POETRY] = {"pyproject.toml poetry.lock", "poetry install"},
    [ECO_PIPENV] = {"Pipfile Pipfile.lock", "pipenv install"},
    [ECO_UV] = {"pyproject.toml uv.lock", "uv sync"},
    [ECO_GO] = {"go.mod go.sum", "go mod download"},
    [ECO_CARGO] = {"Cargo.toml Cargo.lock", "cargo fetch"},
    [ECO_BUNDLER] = {"Gemfile Gemfile.lock", "bundle install"},
    [ECO_COMPOSER] = {"composer.json composer.lock", "composer install"},
    [ECO_MAVEN] = {"pom.xml", "mvn dependency:go-offline"},
    [ECO_GRADLE] = {"build.gradle settings.gradle", "gradle dependencies"},
    [ECO_DOTNET] = {"*.csproj", "dotnet restore"},
    [ECO_SYSTEM] = {NULL, NULL},
};

/* A dependency step found in a RUN. */
typedef struct dep {
  eco eco;
  char shown[96];    /* "npm ci", "pip install -r requirements/base.txt" */
  char manifest[64]; /* pip: the requirements file given with -r */
} dep;

static const char *base(const char *w) {
  const char *s = strrchr(w, '/');
  return s ? s + 1 : w;
}

static bool has_word(char **w, size_t n, const char *word) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(w[i], word) == 0)
      return true;
  return false;
}

/* True when no word after w[from] is a package name (all are flags). */
static bool only_flags(char **w, size_t n, size_t from) {
  for (size_t i = from; i < n; i++)
    if (w[i][0] != '-')
      return false;
  return true;
}

static bool match_pip(char **w, size_t n, dep *d) {
  size_t i = 0;
  while (i < n && strcmp(w[i], "install") != 0)
    i++;
  for (i++; i < n; i++) {
    const char *file = NULL;
    if ((strcmp(w[i], "-r") == 0 || strcmp(w[i], "--requirement") == 0) &&
        i + 1 < n)
      file = w[i + 1];
    else if (strncmp(w[i], "--requirement=", 14) == 0)
      file = w[i] + 14;
    else if (strncmp(w[i], "-r", 2) == 0 && w[i][2])
      file = w[i] + 2;
    if (file) {
      d->eco = ECO_PIP;
      snprintf(d->manifest, sizeof(d->manifest), "%s", file);
      snprintf(d->shown, sizeof(d->shown), "pip install -r %s", file);
      return true;
    }
    if (strcmp(w[i], ".") == 0 || strcmp(w[i], "./") == 0) {
      d->eco = ECO_PYPROJECT;
      snprintf(d->shown, sizeof(d->shown), "pip install .");
      return true;
    }
  }
  return false;
}

static bool set(dep *d, eco e, const char *shown) {
  d->eco = e;
  snprintf(d->shown, sizeof(d->shown), "%s", shown);
  return true;
}

/* One simple command, as words, leading "VAR=x" and "sudo" removed. */
static bool match_command(char **w, size_t n, dep *d) {
  if (n == 0)
    return false;
  const char *cmd = base(w[0]);
  const char *sub = n > 1 ? w[1] : "";
  if (strcmp(cmd, "npm") == 0) {
    if (strcmp(sub, "ci") == 0)
      return set(d, ECO_NPM, "npm ci");
    if ((strcmp(sub, "install") == 0 || strcmp(sub, "i") == 0) &&
        only_flags(w, n, 2) && !has_word(w, n, "-g") &&
        !has_word(w, n, "--global"))
      return set(d, ECO_NPM, "npm install");
  } else if (strcmp(cmd, "yarn") == 0) {
    if (n == 1 || (strcmp(sub, "install") == 0 && only_flags(w, n, 2)))
      return set(d, ECO_YARN, "yarn install");
  } else if (strcmp(cmd, "pnpm") == 0) {
    if ((strcmp(sub, "install") == 0 || strcmp(sub, "i") == 0) &&
        only_flags(w, n, 2))
      return set(d, ECO_PNPM, "pnpm install");
  } else if (strncmp(cmd, "pip", 3) == 0 ||
             (strncmp(cmd, "python", 6) == 0 && strcmp(sub, "-m") == 0 &&
              n > 2 && strncmp(w[2], "pip", 3) == 0)) {
    return match_pip(w, n, d);
  } else if (strcmp(cmd, "poetry") == 0) {
    if (strcmp(sub, "install") == 0)
      return set(d, ECO_POETRY, "poetry install");
  } else if (strcmp(cmd, "pipenv") == 0) {
    if ((strcmp(sub, "install") == 0 && only_flags(w, n, 2)) ||
        strcmp(sub, "sync") == 0)
      return set(d, ECO_PIPENV, "pipenv install");
  } else if (strcmp(cmd, "uv") == 0) {
    if (strcmp(sub, "sync") == 0)
      return set(d, ECO_UV, "uv sync");
    if (strcmp(sub, "pip") == 0)
      return match_pip(w, n, d);
  } else if (strcmp(cmd, "go") == 0) {
    if (strcmp(sub, "mod") == 0 && n > 2 && strcmp(w[2], "download") == 0)
      return set(d, ECO_GO, "go mod download");
  } else if (strcmp(cmd, "cargo") == 0) {
    if (strcmp(sub, "fetch") == 0)
      return set(d, ECO_CARGO, "cargo fetch");
    if (strcmp(sub, "build") == 0)
      return set(d, ECO_CARGO, "cargo build");
  } else if (strcmp(cmd, "bundle") == 0) {
    if (strcmp(sub, "install") == 0)
      return set(d, ECO_BUNDLER, "bundle install");
  } else if (strcmp(cmd, "composer") == 0) {
    if (strcmp(sub, "install") == 0)
      return set(d, ECO_COMPOSER, "composer install");
  } else if (strcmp(cmd, "apt-get") == 0 || strcmp(cmd, "apt") == 0) {
    if (has_word(w, n, "install"))
      return set(d, ECO_SYSTEM,
                 strcmp(cmd, "apt") == 0 ? "apt install" : "apt-get install");
  } else if (strcmp(cmd, "apk") == 0) {
    if (strcmp(sub, "add") == 0)
      return set(d, ECO_SYSTEM, "apk add");
  } else if (strcmp(cmd, "mvn") == 0 || strcmp(cmd, "mvnw") == 0) {
    for (size_t i = 1; i < n; i++)
      if (strncmp(w[i], "dependency:", 11) == 0) {
        d->eco = ECO_MAVEN;
        snprintf(d->shown, sizeof(d->shown), "mvn %s", w[i]);
        return true;
      }
  } else if (strcmp(cmd, "gradle") == 0 || strcmp(cmd, "gradlew") == 0) {
    if (has_word(w, n, "dependencies"))
      return set(d, ECO_GRADLE, "gradle dependencies");
  } else if (strcmp(cmd, "dotnet") == 0) {
    if (strcmp(sub, "restore") == 0)
      return set(d, ECO_DOTNET, "dotnet restore");
  }
  return false;
}

/* Splits a shell command line into simple commands (at && || ; | & and
 * newlines) and those into words (quotes dropped; good enough to find
 * "npm ci"), and matches each command. */
static bool find_dep(const char *text, dep *d) {
  cleanup_free char *copy = strdup(text);
  if (copy == NULL)
    return false;
  char *words[64];
  size_t n = 0;
  bool found = false;
  for (char *p = copy;; p++) {
    char ch = *p;
    bool sep = ch == '\0' || strchr("&|;\n()", ch) != NULL;
    bool space = ch == ' ' || ch == '\t' || ch == '\r' || ch == '\\' ||
                 ch == '"' || ch == '\'';
    if (sep || space) {
      *p = '\0';
    } else if (p == copy || p[-1] == '\0') {
      if (n < sizeof(words) / sizeof(words[0]))
        words[n++] = p;
    }
    if (sep) {
      size_t skip = 0;
      while (skip < n &&
             (strchr(words[skip], '=') || strcmp(words[skip], "sudo") == 0 ||
              strcmp(words[skip], "exec") == 0))
        skip++;
      if (!found && match_command(words + skip, n - skip, d))
        found = true;
      n = 0;
    }
    if (ch == '\0')
      break;
  }
  return found;
}

/* The RUN's command text: shell form, exec form words, here-documents. */
static char *run_text(const st_df_instr *in) {
  st_buf b = ST_BUF_INIT;
  int ret = 0;
  if (in->rest)
    ret |= st_buf_puts(&b, in->rest);
  for (size_t i = 0; i < in->n_args; i++)
    ret |= st_buf_printf(&b, " %s", in->args[i]);
  for (size_t i = 0; i < in->n_heredocs; i++)
    ret |= st_buf_printf(&b, "\n%s", in->heredocs[i].content);
  if (ret < 0) {
    st_buf_free(&b);
    return NULL;
  }
  return st_buf_steal(&b);
}

static bool is_broad(const char *src) {
  static const char *const broad[] = {".", "./", "*", "./*", "/", NULL};
  for (size_t i = 0; broad[i]; i++)
    if (strcmp(src, broad[i]) == 0)
      return true;
  return false;
}

/* A COPY/ADD of the build context (no --from) whose sources (all but the
 * last word) include the whole context. */
static bool copies_all(const st_df_instr *in) {
  if ((in->kind != ST_DF_COPY && in->kind != ST_DF_ADD) ||
      lint_flag(in, "from"))
    return false;
  for (size_t i = 0; i + 1 < in->n_args; i++)
    if (is_broad(in->args[i]))
      return true;
  return false;
}

/* Whether a source copied by an earlier COPY matches a manifest name. */
static bool copied(const st_df_instr *const *copies, size_t n,
                   const char *manifest) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j + 1 < copies[i]->n_args; j++) {
      const char *src = base(copies[i]->args[j]);
      if (fnmatch(src, manifest, 0) == 0 || fnmatch(manifest, src, 0) == 0)
        return true;
    }
  return false;
}

static bool manifest_copied(const st_df_instr *const *copies, size_t n,
                            const dep *d) {
  if (d->eco == ECO_PIP)
    return copied(copies, n, base(d->manifest));
  const char *m = ecos[d->eco].manifests;
  if (m == NULL)
    return false;
  cleanup_free char *list = strdup(m);
  if (list == NULL)
    return false;
  for (char *p = list; *p;) {
    size_t len = strcspn(p, " ");
    char save = p[len];
    p[len] = '\0';
    if (copied(copies, n, p))
      return true;
    p += len + (save != '\0');
  }
  return false;
}

static char *copy_text(const st_df_instr *in) {
  st_buf b = ST_BUF_INIT;
  int ret = st_buf_puts(&b, in->kind == ST_DF_ADD ? "ADD" : "COPY");
  for (size_t i = 0; i < in->n_args; i++)
    ret |= st_buf_printf(&b, " %s", in->args[i]);
  if (ret < 0) {
    st_buf_free(&b);
    return NULL;
  }
  return st_buf_steal(&b);
}

static void report(lint_ctx *c, const st_df_instr *all, const st_df_instr *run,
                   const dep *d) {
  cleanup_free char *cp = copy_text(all);
  if (cp == NULL) {
    c->oom = true;
    return;
  }
  if (d->eco == ECO_SYSTEM) {
    lint_add(c, "CopyBeforeDependencyInstall", run->line,
             "%s before RUN %s invalidates the package install on every "
             "source change; run %s before %s",
             cp, d->shown, d->shown, cp);
    return;
  }
  const char *manifests =
      d->eco == ECO_PIP ? d->manifest : ecos[d->eco].manifests;
  const char *install = ecos[d->eco].install ? ecos[d->eco].install : d->shown;
  lint_add(c, "CopyBeforeDependencyInstall", run->line,
           "%s before RUN %s invalidates the dependency install on every "
           "source change; copy %s first, run %s, then %s",
           cp, d->shown, manifests, install, cp);
}

void lint_cache_order(lint_ctx *c) {
  const st_dockerfile *df = c->df;
  const st_df_instr **copies = calloc(df->n + 1, sizeof(*copies));
  if (copies == NULL) {
    c->oom = true;
    return;
  }
  size_t n_copies = 0;
  const st_df_instr *all = NULL;
  for (size_t i = 0; i < df->n && !c->oom; i++) {
    const st_df_instr *in = &df->instrs[i];
    if (in->kind == ST_DF_FROM) {
      all = NULL;
      n_copies = 0;
    } else if (copies_all(in)) {
      if (all == NULL)
        all = in;
    } else if ((in->kind == ST_DF_COPY || in->kind == ST_DF_ADD) &&
               lint_flag(in, "from") == NULL) {
      copies[n_copies++] = in;
    } else if (in->kind == ST_DF_RUN && all) {
      cleanup_free char *text = run_text(in);
      dep d = {.eco = ECO_NONE};
      if (text == NULL)
        c->oom = true;
      else if (find_dep(text, &d) && !manifest_copied(copies, n_copies, &d))
        report(c, all, in, &d);
    }
  }
  free(copies);
}
