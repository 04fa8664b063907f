/* Seccomp: compiling an OCI seccomp object (the profile itself is in
 * seccomp_profile.c) with libseccomp, caching the compiled program, and
 * installing it.
 *
 * The filter is compiled to BPF in the parent (libseccomp is not reachable
 * once the child has pivoted into the container's root, and compiling once
 * keeps the child short); the child only installs the program. Compiled
 * programs are cached in the store by the digest of the profile: the
 * profile in config.json is already resolved for the container's
 * capabilities, so the digest covers the capability set (two sets that
 * open the same calls share one program). A `run` with a known profile
 * neither loads libseccomp nor compiles.
 *
 * Like runc, a program whose default action is an errno answers ENOSYS,
 * not that errno, for native system calls numbered above every call the
 * profile names: calls newer than the profile (or than libseccomp) then
 * look unimplemented, and libc falls back to the older call instead of
 * failing with EPERM. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "digest/digest.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include "runtime/internal.h"

static int parse_action(const char *a, int errno_ret, uint32_t *out) {
  if (a == NULL)
    return -1;
  if (strcmp(a, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp(a, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO((uint16_t)errno_ret);
  else if (strcmp(a, "SCMP_ACT_KILL") == 0)
    *out = SCMP_ACT_KILL;
  else if (strcmp(a, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(a, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else
    return -1;
  return 0;
}

static int parse_op(const char *op, enum scmp_compare *out) {
  static const struct {
    const char *n;
    enum scmp_compare c;
  } t[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
           {"SCMP_CMP_LT", SCMP_CMP_LT},
           {"SCMP_CMP_LE", SCMP_CMP_LE},
           {"SCMP_CMP_EQ", SCMP_CMP_EQ},
           {"SCMP_CMP_GE", SCMP_CMP_GE},
           {"SCMP_CMP_GT", SCMP_CMP_GT},
           {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; op && i < sizeof(t) / sizeof(t[0]); i++)
    if (strcmp(op, t[i].n) == 0) {
      *out = t[i].c;
      return 0;
    }
  return -1;
}

static int parse_args(json_t *args, struct scmp_arg_cmp *out, unsigned *n) {
  size_t i;
  json_t *a;
  *n = 0;
  json_array_foreach(args, i, a) {
    if (i >= 6)
      return -1;
    enum scmp_compare op;
    if (parse_op(json_string_value(json_object_get(a, "op")), &op) < 0)
      return -1;
    out[i].arg = (unsigned)json_integer_value(json_object_get(a, "index"));
    out[i].op = op;
    out[i].datum_a =
        (scmp_datum_t)json_integer_value(json_object_get(a, "value"));
    out[i].datum_b =
        (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo"));
    (*n)++;
  }
  return 0;
}

/* Adds one rule of the profile; *max_nr grows to the highest native
 * system call number it names. */
static int add_rule(scmp_filter_ctx ctx, json_t *rule, int *max_nr,
                    st_error **err) {
  uint32_t action;
  int errno_ret = (int)json_integer_value(json_object_get(rule, "errnoRet"));
  if (errno_ret == 0)
    errno_ret = EPERM;
  if (parse_action(json_string_value(json_object_get(rule, "action")),
                   errno_ret, &action) < 0)
    return st_error_set(err, EINVAL, "seccomp: unknown action");
  struct scmp_arg_cmp args[6];
  unsigned nargs;
  if (parse_args(json_object_get(rule, "args"), args, &nargs) < 0)
    return st_error_set(err, EINVAL, "seccomp: bad args");
  size_t i;
  json_t *name;
  json_array_foreach(json_object_get(rule, "names"), i, name) {
    int nr = seccomp_syscall_resolve_name(json_string_value(name));
    if (nr == __NR_SCMP_ERROR)
      continue; /* unknown to libseccomp */
    if (nr > *max_nr)
      *max_nr = nr;
    int r = seccomp_rule_add_array(ctx, action, nr, nargs, args);
    /* -EDOM, -EOPNOTSUPP: not a call of any architecture of the filter;
     * -EACCES: the rule's action is the default one. */
    if (r < 0 && r != -EEXIST && r != -EDOM && r != -EOPNOTSUPP && r != -EACCES)
      return st_error_errno(err, -r, "seccomp: rule for %s",
                            json_string_value(name));
  }
  return 0;
}

/* "SCMP_ARCH_X86" -> libseccomp's token, 0 when unknown. */
static uint32_t arch_token(const char *name) {
  if (name == NULL || strncmp(name, "SCMP_ARCH_", 10) != 0)
    return 0;
  char lower[32];
  size_t n = 0;
  for (const char *p = name + 10; *p && n + 1 < sizeof(lower); p++)
    lower[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  lower[n] = '\0';
  return seccomp_arch_resolve_name(lower);
}

/* Adds the profile's architectures besides the native one (unknown or
 * foreign ones are skipped, as runc does on a host that lacks them). */
static int add_arches(scmp_filter_ctx ctx, json_t *arches, st_error **err) {
  size_t i;
  json_t *a;
  json_array_foreach(arches, i, a) {
    uint32_t t = arch_token(json_string_value(a));
    if (t == 0 || t == seccomp_arch_native())
      continue;
    int r = seccomp_arch_add(ctx, t);
    if (r < 0 && r != -EEXIST)
      return st_error_errno(err, -r, "seccomp: architecture %s",
                            json_string_value(a));
  }
  return 0;
}

/* Puts in front of prog: native calls above max_nr return ENOSYS. */
static int prepend_enosys(struct sock_fprog *prog, int max_nr, st_error **err) {
#if defined(__x86_64__)
  const uint32_t x32_bit = 0x40000000; /* x32 calls: left to the filter */
#else
  const uint32_t x32_bit = 0xffffffff;
#endif
  const struct sock_filter head[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4), /* seccomp_data.arch */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch_native(), 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0), /* seccomp_data.nr */
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, x32_bit, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max_nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
  size_t nh = sizeof(head) / sizeof(head[0]);
  if (prog->len + nh > BPF_MAXINSNS)
    return st_error_set(err, E2BIG, "seccomp: filter too long");
  struct sock_filter *f = malloc((prog->len + nh) * sizeof(*f));
  if (f == NULL)
    return st_error_errno(err, ENOMEM, "seccomp");
  memcpy(f, head, sizeof(head));
  memcpy(f + nh, prog->filter, prog->len * sizeof(*f));
  free(prog->filter);
  prog->filter = f;
  prog->len = (unsigned short)(prog->len + nh);
  return 0;
}

/* Builds the filter and exports its BPF program through a memfd. */
static int export_filter(scmp_filter_ctx ctx, struct sock_fprog *out,
                         st_error **err) {
  cleanup_close int fd = memfd_create("seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "seccomp: memfd");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0)
    return st_error_errno(err, -r, "seccomp: export filter");
  off_t len = lseek(fd, 0, SEEK_CUR);
  if (len <= 0 || len % (off_t)sizeof(struct sock_filter) != 0)
    return st_error_set(err, EIO, "seccomp: bad filter size");
  struct sock_filter *prog = malloc((size_t)len);
  if (prog == NULL || pread(fd, prog, (size_t)len, 0) != (ssize_t)len) {
    free(prog);
    return st_error_errno(err, EIO, "seccomp: read filter");
  }
  out->filter = prog;
  out->len = (unsigned short)((size_t)len / sizeof(struct sock_filter));
  return 0;
}

static int compile_rules(scmp_filter_ctx ctx, json_t *seccomp, int *max_nr,
                         st_error **err) {
  /* A binary tree of system calls rather than a list: ~380 allowed
   * calls would otherwise cost every call a linear scan. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (add_arches(ctx, json_object_get(seccomp, "architectures"), err) < 0)
    return -1;
  size_t i;
  json_t *rule;
  json_array_foreach(json_object_get(seccomp, "syscalls"), i, rule) {
    if (add_rule(ctx, rule, max_nr, err) < 0)
      return -1;
  }
  return 0;
}

int st_seccomp_compile(json_t *seccomp, struct sock_fprog *out,
                       st_error **err) {
  uint32_t def;
  json_t *ret = json_object_get(seccomp, "defaultErrnoRet");
  int def_errno = ret ? (int)json_integer_value(ret) : EPERM;
  const char *def_name =
      json_string_value(json_object_get(seccomp, "defaultAction"));
  if (parse_action(def_name, def_errno, &def) < 0)
    return st_error_set(err, EINVAL, "seccomp: unknown default action");
  scmp_filter_ctx ctx = seccomp_init(def);
  if (ctx == NULL)
    return st_error_set(err, ENOMEM, "seccomp: init");
  int max_nr = -1;
  int r = compile_rules(ctx, seccomp, &max_nr, err);
  if (r == 0)
    r = export_filter(ctx, out, err);
  seccomp_release(ctx);
  if (r == 0 && max_nr >= 0 && strcmp(def_name, "SCMP_ACT_ERRNO") == 0 &&
      (r = prepend_enosys(out, max_nr, err)) < 0) {
    free(out->filter);
    out->filter = NULL;
  }
  return r < 0 ? -1 : 0;
}

/* ---- the cache ---------------------------------------------------------
 *
 * <cache>/<profile hex>.bpf: a header (magic, instruction count, digest of
 * the program) and the program. A file that does not check out (torn
 * write, other version) is ignored and rewritten; no fsync is needed. */

#define BPF_MAGIC "stbpf02"

typedef struct bpf_header {
  char magic[8];
  uint32_t len; /* instructions */
  char digest[ST_DIGEST_LEN];
} bpf_header;

int st_seccomp_key(json_t *seccomp, char key[ST_DIGEST_LEN]) {
  cleanup_free char *text =
      json_dumps(seccomp, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
  if (text == NULL)
    return -1;
  st_digest_of(text, strlen(text), key);
  return 0;
}

static char *cache_path(const char *cache_dir, const char *key) {
  char *p = NULL;
  if (asprintf(&p, "%s/%s.bpf", cache_dir, st_digest_hex(key)) < 0)
    return NULL;
  return p;
}

/* The default profile compiled at build time (tools/seccomp_gen.c): linked
 * into the strata binary only, so weak here (absent: NULL). */
extern const char st_seccomp_builtin_key[] __attribute__((weak));
extern const unsigned short st_seccomp_builtin_len __attribute__((weak));
extern const struct sock_filter st_seccomp_builtin_prog[] __attribute__((weak));

static bool builtin(const char *key, struct sock_fprog *out) {
  if (st_seccomp_builtin_key == NULL || &st_seccomp_builtin_len == NULL ||
      st_seccomp_builtin_prog == NULL ||
      strcmp(key, st_seccomp_builtin_key) != 0)
    return false;
  size_t bytes = st_seccomp_builtin_len * sizeof(struct sock_filter);
  struct sock_filter *prog = malloc(bytes);
  if (prog == NULL)
    return false;
  memcpy(prog, st_seccomp_builtin_prog, bytes);
  out->filter = prog;
  out->len = st_seccomp_builtin_len;
  return true;
}

static bool cache_read(const char *path, struct sock_fprog *out) {
  cleanup_free char *buf = NULL;
  size_t n = 0;
  st_error *e = NULL;
  if (st_read_file(path, &buf, &n, &e) < 0) {
    st_error_free(e);
    return false;
  }
  bpf_header h;
  if (n < sizeof(h))
    return false;
  memcpy(&h, buf, sizeof(h));
  size_t bytes = (size_t)h.len * sizeof(struct sock_filter);
  if (memcmp(h.magic, BPF_MAGIC, 8) != 0 || h.len == 0 ||
      h.len > BPF_MAXINSNS || n != sizeof(h) + bytes)
    return false;
  char d[ST_DIGEST_LEN];
  st_digest_of(buf + sizeof(h), bytes, d);
  h.digest[ST_DIGEST_LEN - 1] = '\0';
  if (strcmp(d, h.digest) != 0)
    return false;
  struct sock_filter *prog = malloc(bytes);
  if (prog == NULL)
    return false;
  memcpy(prog, buf + sizeof(h), bytes);
  out->filter = prog;
  out->len = (unsigned short)h.len;
  return true;
}

static void cache_write(const char *cache_dir, const char *path,
                        const struct sock_fprog *prog) {
  size_t bytes = (size_t)prog->len * sizeof(struct sock_filter);
  bpf_header h;
  memset(&h, 0, sizeof(h));
  memcpy(h.magic, BPF_MAGIC, 8);
  h.len = prog->len;
  st_digest_of(prog->filter, bytes, h.digest);
  cleanup_free char *buf = malloc(sizeof(h) + bytes);
  cleanup_free char *tmp = NULL;
  if (buf == NULL || asprintf(&tmp, "%s.%d.tmp", path, (int)getpid()) < 0)
    return;
  memcpy(buf, &h, sizeof(h));
  memcpy(buf + sizeof(h), prog->filter, bytes);
  st_error *e = NULL;
  if (st_mkdir_p(cache_dir, 0700, &e) < 0) {
    st_error_free(e);
    return;
  }
  cleanup_close int fd =
      open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return;
  if (st_write_all(fd, buf, sizeof(h) + bytes, tmp, &e) < 0 ||
      rename(tmp, path) < 0) {
    st_error_free(e);
    unlink(tmp);
  }
}

int st_seccomp_compile_cached(json_t *seccomp, const char *cache_dir,
                              struct sock_fprog *out, st_error **err) {
  char key[ST_DIGEST_LEN];
  if (st_seccomp_key(seccomp, key) < 0)
    return st_error_errno(err, ENOMEM, "seccomp");
  if (builtin(key, out))
    return 0;
  cleanup_free char *path = cache_dir ? cache_path(cache_dir, key) : NULL;
  if (path && cache_read(path, out))
    return 0;
  if (st_seccomp_compile(seccomp, out, err) < 0)
    return -1;
  if (path)
    cache_write(cache_dir, path, out);
  return 0;
}

int st_seccomp_install(const struct sock_fprog *prog, st_error **err) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return st_error_errno(err, errno, "no_new_privs");
  return st_seccomp_install_filter(prog, err);
}

int st_seccomp_install_filter(const struct sock_fprog *prog, st_error **err) {
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
    return st_error_errno(err, errno, "seccomp: install filter");
  return 0;
}
