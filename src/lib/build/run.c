/* RUN: the command runs in a container made from the current step's image
 * (the container executor of runtime/), as the stage's USER in its WORKDIR
 * with its ENV plus the ARGs in scope; the container's read-write layer
 * becomes the step's layer, and the container is removed. The config is
 * the parent's: nothing of the container (its Cmd, hostname) leaks into
 * the image.
 *
 * --mount: type=cache (a directory of the store kept between builds,
 * <root>/build-cache/<id>), bind (from the context or a stage, read-only
 * unless rw), tmpfs, secret (a file given with --secret on the command
 * line; never in a layer, the config or the key), ssh (an agent socket
 * given with --ssh, bound for the step only). The command's output is
 * read from a pipe by a thread and sent line by line as progress. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/internal.h"
#include "digest/digest.h"
#include "runtime/manage.h"
#include "runtime/runtime.h"
#include "store/containers.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/thread.h"

typedef struct run_prep {
  char **argv; /* NULL-terminated */
  size_t argc;
  char **env; /* "K=V" */
  size_t n_env;
  char **volumes; /* "HOST:CTR[:ro]" */
  size_t n_volumes;
  char **tmpfs;
  size_t n_tmpfs;
  char **scrub; /* mount points (secrets) taken out of the layer */
  size_t n_scrub;
  size_t n_ssh; /* ssh mounts so far: the N of ssh_agent.N */
  const char *network;
} run_prep;

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

static void prep_free(void *p) {
  run_prep *r = p;
  if (r == NULL)
    return;
  strv_free(r->argv, r->argc);
  strv_free(r->env, r->n_env);
  strv_free(r->volumes, r->n_volumes);
  strv_free(r->tmpfs, r->n_tmpfs);
  strv_free(r->scrub, r->n_scrub);
  free(r);
}

static int push(char ***v, size_t *n, char *s) {
  if (s == NULL)
    return -1;
  char **g = realloc(*v, (*n + 2) * sizeof(char *));
  if (g == NULL) {
    free(s);
    return -1;
  }
  *v = g;
  g[(*n)++] = s;
  g[*n] = NULL;
  return 0;
}

/* True when text holds nothing but here-document markers ("<<EOF"). */
static bool only_heredocs(const char *text) {
  for (const char *p = text; *p;) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      break;
    if (strncmp(p, "<<", 2) != 0)
      return false;
    p += strcspn(p, " \t");
  }
  return true;
}

/* Shell form with here-documents: the shell reads them itself, so the
 * script is the line followed by each body and its delimiter; a line of
 * only markers runs the first body as the script. */
static char *shell_script(const st_df_instr *in) {
  if (in->n_heredocs == 0)
    return strdup(in->rest ? in->rest : "");
  if (only_heredocs(in->rest ? in->rest : ""))
    return strdup(in->heredocs[0].content);
  st_buf b = ST_BUF_INIT;
  st_buf_puts(&b, in->rest);
  for (size_t i = 0; i < in->n_heredocs; i++)
    st_buf_printf(&b, "\n%s%s", in->heredocs[i].content, in->heredocs[i].name);
  st_buf_putc(&b, '\n');
  return st_buf_steal(&b);
}

static int make_argv(st_bstate *st, const st_df_instr *in, run_prep *rp,
                     st_error **err) {
  if (in->json) {
    if (in->n_args == 0)
      return st_error_set(err, EINVAL, "RUN requires at least one argument");
    for (size_t i = 0; i < in->n_args; i++)
      if (push(&rp->argv, &rp->argc, strdup(in->args[i])) < 0)
        return st_error_errno(err, ENOMEM, "RUN");
    return 0;
  }
  json_t *sh = json_object_get(st_bconfig_cc(st), "Shell");
  size_t i;
  json_t *v;
  if (json_is_array(sh) && json_array_size(sh) > 0) {
    json_array_foreach(sh, i, v) {
      if (push(&rp->argv, &rp->argc, strdup(json_string_value(v))) < 0)
        return st_error_errno(err, ENOMEM, "RUN");
    }
  } else if (push(&rp->argv, &rp->argc, strdup("/bin/sh")) < 0 ||
             push(&rp->argv, &rp->argc, strdup("-c")) < 0) {
    return st_error_errno(err, ENOMEM, "RUN");
  }
  if (push(&rp->argv, &rp->argc, shell_script(in)) < 0)
    return st_error_errno(err, ENOMEM, "RUN");
  return 0;
}

/* The ARGs in scope (not shadowed by ENV) go into the environment and the
 * key; proxy build args go into the environment only, as Docker does. */
static int make_env(st_bstate *st, run_prep *rp, json_t *args, st_buf *prefix,
                    st_error **err) {
  json_t *env = json_object_get(st_bconfig_cc(st), "Env");
  int n = 0;
  for (size_t i = 0; i < st->n_args; i++) {
    const st_bvar *a = &st->args[i];
    if (a->value == NULL || st_benv_get(env, a->name) != NULL)
      continue;
    char *kv = NULL;
    if (asprintf(&kv, "%s=%s", a->name, a->value) < 0 ||
        push(&rp->env, &rp->n_env, kv) < 0)
      return st_error_errno(err, ENOMEM, "RUN");
    json_object_set_new(args, a->name, json_string(a->value));
    st_buf_printf(prefix, " %s=%s", a->name, a->value);
    n++;
  }
  for (size_t i = 0; i < st->b->n_cli_args; i++) {
    const st_bvar *a = &st->b->cli_args[i];
    if (!st_expand_proxy_arg(a->name) || a->value == NULL)
      continue;
    st->b->cli_used[i] = true;
    char *kv = NULL;
    if (asprintf(&kv, "%s=%s", a->name, a->value) < 0 ||
        push(&rp->env, &rp->n_env, kv) < 0)
      return st_error_errno(err, ENOMEM, "RUN");
  }
  return n;
}

/* ---- --mount ------------------------------------------------------------ */

typedef struct mount_opt {
  char *type, *target, *source, *id, *from, *size;
  bool readonly, rw, required;
} mount_opt;

static void mount_opt_clear(mount_opt *m) {
  free(m->type);
  free(m->target);
  free(m->source);
  free(m->id);
  free(m->from);
  free(m->size);
}

static int parse_mount(const char *spec, mount_opt *m, st_error **err) {
  cleanup_free char *dup = strdup(spec);
  if (dup == NULL)
    return st_error_errno(err, ENOMEM, "--mount");
  for (char *next = dup, *kv; next;) {
    kv = next;
    next = strchr(next, ',');
    if (next)
      *next++ = '\0';
    if (*kv == '\0')
      continue;
    char *eq = strchr(kv, '=');
    const char *v = eq ? eq + 1 : "true";
    if (eq)
      *eq = '\0';
    char **slot = strcmp(kv, "type") == 0 ? &m->type
                  : strcmp(kv, "target") == 0 || strcmp(kv, "dst") == 0 ||
                          strcmp(kv, "destination") == 0
                      ? &m->target
                  : strcmp(kv, "source") == 0 || strcmp(kv, "src") == 0
                      ? &m->source
                  : strcmp(kv, "id") == 0   ? &m->id
                  : strcmp(kv, "from") == 0 ? &m->from
                  : strcmp(kv, "size") == 0 ? &m->size
                                            : NULL;
    bool on = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    if (slot) {
      free(*slot);
      if ((*slot = strdup(v)) == NULL)
        return st_error_errno(err, ENOMEM, "--mount");
    } else if (strcmp(kv, "readonly") == 0 || strcmp(kv, "ro") == 0) {
      m->readonly = on;
    } else if (strcmp(kv, "rw") == 0 || strcmp(kv, "readwrite") == 0) {
      m->rw = on;
    } else if (strcmp(kv, "required") == 0) {
      m->required = on;
    } else if (strcmp(kv, "sharing") && strcmp(kv, "mode") &&
               strcmp(kv, "uid") && strcmp(kv, "gid") && strcmp(kv, "env")) {
      return st_error_set(err, EINVAL, "--mount %s: unknown option %s", spec,
                          kv);
    }
  }
  if (m->type == NULL && (m->type = strdup("bind")) == NULL)
    return st_error_errno(err, ENOMEM, "--mount");
  return 0;
}

/* <root>/build-cache/<sha256 of id>: a cache mount's directory. */
static char *cache_dir(st_bstate *st, const char *id, st_error **err) {
  char d[ST_DIGEST_LEN];
  st_digest_of(id, strlen(id), d);
  char *dir = NULL;
  if (asprintf(&dir, "%s/build-cache/%.16s", st_store_root(st->b->s),
               st_digest_hex(d)) < 0)
    return NULL;
  cleanup_free char *parent = NULL;
  if (asprintf(&parent, "%s/build-cache", st_store_root(st->b->s)) < 0 ||
      (mkdir(parent, 0700) < 0 && errno != EEXIST) ||
      (mkdir(dir, 0755) < 0 && errno != EEXIST)) {
    st_error_errno(err, errno ? errno : ENOMEM, "cache mount %s", id);
    free(dir);
    return NULL;
  }
  return dir;
}

static char *bind_source(st_bstate *st, const mount_opt *m, st_error **err) {
  cleanup_free char *root = NULL;
  if (m->from) {
    char id[ST_DIGEST_LEN];
    if (st_bresolve_from(st->b, m->from, id, err) < 0 ||
        st_bimage_root(st->b, id, &root, err) < 0)
      return NULL;
  } else {
    root = realpath(st->b->o->context, NULL);
    if (root == NULL) {
      st_error_errno(err, errno, "--mount: build context");
      return NULL;
    }
  }
  const char *src = m->source ? m->source : ".";
  while (*src == '/')
    src++;
  if (strstr(src, "..")) {
    st_error_set(err, EINVAL, "--mount source %s leaves its root", src);
    return NULL;
  }
  char *path = NULL;
  if (asprintf(&path, "%s/%s", root, src) < 0)
    return NULL;
  return path;
}

/* The file a --secret gives: its src, or its env's value written to a
 * private file. NULL (and no error) when the build was given no such id. */
static char *secret_file(st_bstate *st, const char *id, st_error **err) {
  const st_build_opts *o = st->b->o;
  for (size_t i = 0; i < o->n_secrets; i++) {
    const st_build_secret *sec = &o->secrets[i];
    if (strcmp(sec->id, id) != 0)
      continue;
    if (sec->src)
      return realpath(sec->src, NULL);
    char *tmp, *path = NULL;
    if (st_bprivate_dir(st->b, &tmp, err) < 0)
      return NULL;
    char d[ST_DIGEST_LEN];
    st_digest_of(id, strlen(id), d);
    if (asprintf(&path, "%s/secret-%.16s", tmp, st_digest_hex(d)) < 0)
      return NULL;
    const char *v = getenv(sec->env ? sec->env : id);
    cleanup_close int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = v ? strlen(v) : 0;
    if (fd < 0 || (len && write(fd, v, len) != (ssize_t)len)) {
      st_error_errno(err, errno, "secret %s", id);
      free(path);
      return NULL;
    }
    return path;
  }
  return NULL;
}

/* --mount=type=secret: the file read-only at target (default
 * /run/secrets/<id>); it never enters the key, and its mount point is
 * taken out of the layer after the run. */
static int add_secret(st_bstate *st, run_prep *rp, const mount_opt *m,
                      json_t *mounts, st_error **err) {
  const char *id = m->id ? m->id : m->target ? strrchr(m->target, '/') : NULL;
  if (id && *id == '/')
    id++;
  if (id == NULL || *id == '\0')
    return st_error_set(err, EINVAL, "--mount type=secret: id is required");
  cleanup_free char *file = secret_file(st, id, err), *target = NULL,
                    *vol = NULL;
  if (file == NULL && err && *err)
    return -1;
  if (file == NULL && m->required)
    return st_error_set(err, EINVAL,
                        "secret %s: not given to the build (--secret id=%s,"
                        "src=FILE)",
                        id, id);
  if (file == NULL)
    return 0; /* an optional secret that was not given: nothing mounted */
  if (m->target)
    target = strdup(m->target);
  else if (asprintf(&target, "/run/secrets/%s", id) < 0)
    target = NULL;
  if (target == NULL || asprintf(&vol, "%s:%s:ro", file, target) < 0 ||
      push(&rp->volumes, &rp->n_volumes, steal_pointer(&vol)) < 0 ||
      push(&rp->scrub, &rp->n_scrub, strdup(target)) < 0)
    return st_error_errno(err, ENOMEM, "--mount");
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s}", "type", "secret",
                                          "target", target, "id", id));
  return 0;
}

/* --mount=type=ssh: the agent socket that --ssh ID gave, bound at target
 * (default /run/buildkit/ssh_agent.N, N counting this RUN's ssh mounts)
 * for this step only, with SSH_AUTH_SOCK pointing at it. The key holds the
 * id and target, never the host path; the mount point leaves the layer. */
static int add_ssh(st_bstate *st, run_prep *rp, const mount_opt *m,
                   json_t *mounts, st_error **err) {
  const char *id = m->id ? m->id : "default";
  const st_build_opts *o = st->b->o;
  const char *sock = NULL;
  for (size_t i = 0; i < o->n_ssh && sock == NULL; i++)
    if (strcmp(o->ssh[i].id, id) == 0)
      sock = o->ssh[i].socket;
  if (sock == NULL && m->required)
    return st_error_set(err, EINVAL,
                        "ssh %s: no SSH agent given to the build (use "
                        "--ssh %s or --ssh %s=SOCKET)",
                        id, id, id);
  if (sock == NULL)
    return 0; /* optional and not given: nothing mounted, as Docker */
  cleanup_free char *target = NULL, *vol = NULL, *env = NULL;
  if (m->target)
    target = strdup(m->target);
  else if (asprintf(&target, "/run/buildkit/ssh_agent.%zu", rp->n_ssh) < 0)
    target = NULL;
  if (target == NULL || asprintf(&vol, "%s:%s", sock, target) < 0 ||
      asprintf(&env, "SSH_AUTH_SOCK=%s", target) < 0 ||
      push(&rp->volumes, &rp->n_volumes, steal_pointer(&vol)) < 0 ||
      push(&rp->scrub, &rp->n_scrub, strdup(target)) < 0)
    return st_error_errno(err, ENOMEM, "--mount");
  /* the first ssh mount is the one SSH_AUTH_SOCK names, as BuildKit */
  if (rp->n_ssh++ == 0 && push(&rp->env, &rp->n_env, steal_pointer(&env)) < 0)
    return st_error_errno(err, ENOMEM, "--mount");
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s}", "type", "ssh",
                                          "target", target, "id", id));
  return 0;
}

static int add_mount(st_bstate *st, run_prep *rp, const mount_opt *m,
                     json_t *mounts, st_error **err) {
  if (m->target == NULL && strcmp(m->type, "secret") && strcmp(m->type, "ssh"))
    return st_error_set(err, EINVAL, "--mount type=%s: target is required",
                        m->type);
  cleanup_free char *host = NULL, *vol = NULL;
  bool ro = false;
  if (strcmp(m->type, "cache") == 0) {
    host = cache_dir(st, m->id ? m->id : m->target, err);
  } else if (strcmp(m->type, "bind") == 0) {
    host = bind_source(st, m, err);
    ro = !m->rw;
  } else if (strcmp(m->type, "tmpfs") == 0) {
    json_array_append_new(
        mounts, json_pack("{s:s, s:s}", "type", "tmpfs", "target", m->target));
    if (push(&rp->tmpfs, &rp->n_tmpfs, strdup(m->target)) < 0)
      return st_error_errno(err, ENOMEM, "--mount");
    return 0;
  } else if (strcmp(m->type, "secret") == 0) {
    return add_secret(st, rp, m, mounts, err);
  } else if (strcmp(m->type, "ssh") == 0) {
    return add_ssh(st, rp, m, mounts, err);
  } else {
    return st_error_set(err, EINVAL, "--mount: unsupported type %s", m->type);
  }
  if (host == NULL)
    return -1;
  if (asprintf(&vol, "%s:%s%s", host, m->target, ro ? ":ro" : "") < 0 ||
      push(&rp->volumes, &rp->n_volumes, steal_pointer(&vol)) < 0)
    return st_error_errno(err, ENOMEM, "--mount");
  /* the key names what is mounted, not host paths */
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s?, s:s?, s:b}", "type",
                                          m->type, "target", m->target, "id",
                                          m->id, "from", m->from, "ro", ro));
  return 0;
}

/* ---- the step ----------------------------------------------------------- */

int st_brun_prepare(st_bstate *st, st_bstep *step, st_error **err) {
  const st_df_instr *in = step->in;
  run_prep *rp = calloc(1, sizeof(*rp));
  if (rp == NULL)
    return st_error_errno(err, ENOMEM, "RUN");
  step->priv = rp;
  step->priv_free = prep_free;
  step->layer = step->numbered = true;
  json_t *args = json_object(), *mounts = json_array();
  step->inputs = json_pack("{s:o, s:o}", "args", args, "mounts", mounts);
  if (step->inputs == NULL || make_argv(st, in, rp, err) < 0)
    return -1;
  cleanup_buf st_buf prefix = ST_BUF_INIT;
  int n_args = make_env(st, rp, args, &prefix, err);
  if (n_args < 0)
    return -1;
  for (size_t i = 0; i < in->n_flags; i++) {
    const st_df_flag *f = &in->flags[i];
    if (strcmp(f->name, "mount") == 0) {
      mount_opt m = {0};
      int r = parse_mount(f->value ? f->value : "", &m, err);
      if (r == 0)
        r = add_mount(st, rp, &m, mounts, err);
      mount_opt_clear(&m);
      if (r < 0)
        return -1;
    } else if (strcmp(f->name, "network") == 0) {
      const char *v = f->value ? f->value : "";
      if (strcmp(v, "none") && strcmp(v, "host") && strcmp(v, "default"))
        return st_error_set(err, EINVAL,
                            "--network=%s: strata supports "
                            "default, none and host",
                            v);
      rp->network = strcmp(v, "default") == 0 ? NULL : f->value;
      json_object_set_new(step->inputs, "network", json_string(v));
    } else if (strcmp(f->name, "security") != 0) {
      return st_error_set(err, EINVAL, "unknown flag: --%s", f->name);
    }
  }
  /* Docker's history text: RUN |N K=V ... /bin/sh -c cmd # buildkit */
  st_buf by = ST_BUF_INIT;
  st_buf_puts(&by, "RUN ");
  if (n_args)
    st_buf_printf(&by, "|%d%s ", n_args, prefix.data);
  for (size_t i = 0; i < rp->argc; i++)
    st_buf_printf(&by, "%s%s", i ? " " : "", rp->argv[i]);
  st_buf_puts(&by, " # buildkit");
  if ((step->created_by = st_buf_steal(&by)) == NULL)
    return st_error_errno(err, ENOMEM, "RUN");
  json_object_set_new(step->inputs, "instr", json_string(step->created_by));
  return 0;
}

/* ---- running ------------------------------------------------------------ */

typedef struct reader {
  st_bctx *b;
  const st_bstep *step;
  const char *name;
  int fd;
  sem_t ready;
} reader;

static void *reader_main(void *arg) {
  reader *r = arg;
  char buf[8192];
  st_buf line = ST_BUF_INIT;
  /* Thread start-up may take libc's and the dynamic linker's locks: it is
   * over once this thread holds the clone lock, and the container is
   * cloned only after that (see st_runtime_clone_lock). */
  st_runtime_clone_lock();
  (void)read(r->fd, buf, 0);
  st_runtime_clone_unlock();
  sem_post(&r->ready);
  for (;;) {
    ssize_t k = read(r->fd, buf, sizeof(buf));
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    st_runtime_clone_lock(); /* no malloc or stdio across a clone() */
    for (ssize_t i = 0; i < k; i++) {
      if (buf[i] != '\n' && buf[i] != '\r') {
        st_buf_putc(&line, buf[i]);
        continue;
      }
      if (buf[i] == '\r' && i + 1 < k && buf[i + 1] == '\n')
        continue;
      st_bemit(r->b, ST_BUILD_STEP_OUTPUT, r->step->num, r->name,
               line.data ? line.data : "", st_bclock() - r->step->t0);
      line.len = 0;
      if (line.data)
        line.data[0] = '\0';
    }
    st_runtime_clone_unlock();
  }
  if (line.len)
    st_bemit(r->b, ST_BUILD_STEP_OUTPUT, r->step->num, r->name, line.data,
             st_bclock() - r->step->t0);
  st_buf_free(&line);
  return NULL;
}

/* Runs the container with its stdout and stderr on a pipe read by a
 * thread; this process's own 1 and 2 are put back afterwards. */
static int run_captured(st_bstate *st, const st_bstep *step, const char *id,
                        int *status, st_error **err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return st_error_errno(err, errno, "pipe");
  int saved1 = fcntl(1, F_DUPFD_CLOEXEC, 3),
      saved2 = fcntl(2, F_DUPFD_CLOEXEC, 3);
  reader rd = {.b = st->b, .step = step, .name = step->title, .fd = p[0]};
  pthread_t th;
  /* the reader takes no signal (st_thread_create): the container's
   * SIGCHLD belongs to the supervisor's signalfd on this thread */
  sem_init(&rd.ready, 0, 0);
  bool started = st_thread_create(&th, reader_main, &rd) == 0;
  while (started && sem_wait(&rd.ready) < 0 && errno == EINTR)
    ;
  dup2(p[1], 1);
  dup2(p[1], 2);
  close(p[1]);
  int r = st_container_run(st->b->s, id, status, err);
  dup2(saved1, 1);
  dup2(saved2, 2);
  close(saved1);
  close(saved2);
  if (started)
    pthread_join(th, NULL);
  sem_destroy(&rd.ready);
  close(p[0]);
  return r;
}

static int check_status(const run_prep *rp, int status, st_error **err) {
  if (status == 0)
    return 0;
  if (status == 128 + SIGKILL)
    return st_error_set(err, EINTR, "interrupted: the RUN step was killed");
  cleanup_buf st_buf cmd = ST_BUF_INIT;
  for (size_t i = 0; i < rp->argc; i++)
    st_buf_printf(&cmd, "%s%s", i ? " " : "", rp->argv[i]);
  return st_error_set(err, ECHILD,
                      "process \"%s\" did not complete successfully: exit "
                      "code: %d",
                      cmd.data ? cmd.data : "", status);
}

/* A secret's mount point (an empty file, and the directories made for it
 * when they are empty now) is no change of the step: out of the upper. */
static void scrub_mount_points(st_bstate *st, const run_prep *rp,
                               const char *id) {
  cleanup_free char *dir = st_container_dir(st->b->s, id);
  for (size_t i = 0; dir && i < rp->n_scrub; i++) {
    cleanup_free char *p = NULL;
    if (asprintf(&p, "%s/upper%s", dir, rp->scrub[i]) < 0)
      continue;
    struct stat sb;
    if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0)
      unlink(p);
    for (char *slash = strrchr(p, '/'); slash && slash > p + strlen(dir) + 6;
         slash = strrchr(p, '/')) {
      *slash = '\0';
      if (rmdir(p) < 0) /* not empty, or the image had it: keep */
        break;
    }
  }
}

#define BUILD_CT_PREFIX "strata-build-"

void st_brun_sweep(st_store *s) {
  st_container *v = NULL;
  size_t n = 0;
  st_error *e = NULL;
  if (st_container_list(s, &v, &n, &e) < 0) {
    st_error_free(e);
    return;
  }
  size_t plen = strlen(BUILD_CT_PREFIX);
  for (size_t i = 0; i < n; i++) {
    const char *name = v[i].name ? v[i].name : "";
    if (strncmp(name, BUILD_CT_PREFIX, plen) != 0)
      continue;
    long pid = strtol(name + plen, NULL, 10);
    if (pid <= 0 ||
        (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM)))
      continue; /* a build that still runs */
    if (st_container_remove(s, v[i].id, true, &e) < 0) {
      st_error_free(e);
      e = NULL;
    }
  }
  st_containers_free(v, n);
}

int st_brun_exec(st_bstate *st, st_bstep *step, st_layer_rec *layer,
                 st_error **err) {
  run_prep *rp = step->priv;
  if (*st->image == '\0')
    return st_error_set(err, EINVAL,
                        "RUN on an empty image (FROM scratch "
                        "with no files): nothing to run");
  json_t *cc = st_bconfig_cc(st);
  const char *wd = json_string_value(json_object_get(cc, "WorkingDir"));
  const char *user = json_string_value(json_object_get(cc, "User"));
  st_create_opts o = {.image = st->image,
                      .cmd = rp->argv,
                      .n_cmd = rp->argc,
                      .entrypoint = "",
                      .env = rp->env,
                      .n_env = rp->n_env,
                      .workdir = wd && *wd ? wd : NULL,
                      .user = user && *user ? user : NULL,
                      .network = rp->network         ? rp->network
                                 : st->b->o->network ? st->b->o->network
                                                     : "host",
                      .volumes = rp->volumes,
                      .n_volumes = rp->n_volumes,
                      .tmpfs = rp->tmpfs,
                      .n_tmpfs = rp->n_tmpfs,
                      .volatile_layer = true,
                      .kill_on_interrupt = true};
  /* a name that says whose step it is, so that a build killed before it
   * removes the container has it removed by the next (st_brun_sweep) */
  static unsigned seq;
  char name[64];
  snprintf(name, sizeof(name), "%s%d-%u", BUILD_CT_PREFIX, (int)getpid(),
           ++seq);
  o.name = name;
  char id[ST_CONTAINER_ID_LEN];
  if (st_container_create(st->b->s, &o, id, err) < 0)
    return -1;
  int status = 0;
  int r = run_captured(st, step, id, &status, err);
  if (r == 0)
    r = check_status(rp, status, err);
  if (r == 0)
    scrub_mount_points(st, rp, id);
  if (r == 0)
    r = st_container_layer(st->b->s, id, st->b->epoch, layer, err);
  st_error *ignored = NULL;
  if (st_container_remove(st->b->s, id, true, &ignored) < 0)
    st_error_free(ignored);
  return r;
}
