/* Seccomp: the essentials of Docker's default profile, written as an OCI
 * seccomp object (so an external runtime given the same config.json
 * applies the same filter), and loading such an object with libseccomp.
 *
 * Docker's profile is an allow list of ~350 system calls; this one allows
 * by default and refuses (EPERM) the calls Docker's profile leaves out
 * that matter for isolation: kernel modules, kexec, mounts and the new
 * mount API, namespaces (unshare, setns, clone with CLONE_NEW*), keyrings,
 * bpf, perf, ptrace and process_vm_*, clock and swap changes, reboot.
 * clone3 gets ENOSYS so that libc falls back to clone, whose flags a
 * filter can inspect.
 *
 * The filter is compiled to BPF in the parent (libseccomp is not reachable
 * once the child has pivoted into the container's root, and compiling once
 * keeps the child short); the child only installs the program. Compiled
 * programs are cached in the store by the digest of the profile, so a
 * `run` with a known profile neither loads libseccomp nor compiles. */
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

static const char *const denied[] = {"acct",
                                     "add_key",
                                     "bpf",
                                     "clock_adjtime",
                                     "clock_settime",
                                     "create_module",
                                     "delete_module",
                                     "finit_module",
                                     "get_kernel_syms",
                                     "get_mempolicy",
                                     "init_module",
                                     "ioperm",
                                     "iopl",
                                     "kcmp",
                                     "kexec_file_load",
                                     "kexec_load",
                                     "keyctl",
                                     "lookup_dcookie",
                                     "mbind",
                                     "mount",
                                     "mount_setattr",
                                     "move_mount",
                                     "move_pages",
                                     "name_to_handle_at",
                                     "nfsservctl",
                                     "open_by_handle_at",
                                     "open_tree",
                                     "fsopen",
                                     "fsconfig",
                                     "fsmount",
                                     "fspick",
                                     "perf_event_open",
                                     "pivot_root",
                                     "process_vm_readv",
                                     "process_vm_writev",
                                     "ptrace",
                                     "query_module",
                                     "quotactl",
                                     "quotactl_fd",
                                     "reboot",
                                     "request_key",
                                     "set_mempolicy",
                                     "setns",
                                     "settimeofday",
                                     "stime",
                                     "swapon",
                                     "swapoff",
                                     "sysfs",
                                     "_sysctl",
                                     "syslog",
                                     "umount",
                                     "umount2",
                                     "unshare",
                                     "uselib",
                                     "userfaultfd",
                                     "ustat",
                                     "vm86",
                                     "vm86old",
                                     "vhangup",
                                     NULL};

static json_t *names_json(const char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

json_t *st_seccomp_default(void) {
  json_t *rules = json_array();
  json_array_append_new(rules, json_pack("{s:o, s:s, s:i}", "names",
                                         names_json(denied), "action",
                                         "SCMP_ACT_ERRNO", "errnoRet", EPERM));
  json_array_append_new(rules, json_pack("{s:[s], s:s, s:i}", "names", "clone3",
                                         "action", "SCMP_ACT_ERRNO", "errnoRet",
                                         ENOSYS));
  const int ns[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
  for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
    json_array_append_new(
        rules,
        json_pack("{s:[s], s:s, s:i, s:[{s:i, s:I, s:I, s:s}]}", "names",
                  "clone", "action", "SCMP_ACT_ERRNO", "errnoRet", EPERM,
                  "args", "index", 0, "value", (json_int_t)ns[i], "valueTwo",
                  (json_int_t)ns[i], "op", "SCMP_CMP_MASKED_EQ"));
  return json_pack("{s:s, s:o}", "defaultAction", "SCMP_ACT_ALLOW", "syscalls",
                   rules);
}

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

static int add_rule(scmp_filter_ctx ctx, json_t *rule, st_error **err) {
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
      continue; /* not a system call on this architecture */
    int r = seccomp_rule_add_array(ctx, action, nr, nargs, args);
    if (r < 0 && r != -EEXIST)
      return st_error_errno(err, -r, "seccomp: rule for %s",
                            json_string_value(name));
  }
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

int st_seccomp_compile(json_t *seccomp, struct sock_fprog *out,
                       st_error **err) {
  uint32_t def;
  if (parse_action(json_string_value(json_object_get(seccomp, "defaultAction")),
                   EPERM, &def) < 0)
    return st_error_set(err, EINVAL, "seccomp: unknown default action");
  scmp_filter_ctx ctx = seccomp_init(def);
  if (ctx == NULL)
    return st_error_set(err, ENOMEM, "seccomp: init");
  size_t i;
  json_t *rule;
  int r = 0;
  json_array_foreach(json_object_get(seccomp, "syscalls"), i, rule) {
    if ((r = add_rule(ctx, rule, err)) < 0)
      break;
  }
  if (r == 0)
    r = export_filter(ctx, out, err);
  seccomp_release(ctx);
  return r < 0 ? -1 : 0;
}

/* ---- the cache ---------------------------------------------------------
 *
 * <cache>/<profile hex>.bpf: a header (magic, instruction count, digest of
 * the program) and the program. A file that does not check out (torn
 * write, other version) is ignored and rewritten; no fsync is needed. */

#define BPF_MAGIC "stbpf01"

typedef struct bpf_header {
  char magic[8];
  uint32_t len; /* instructions */
  char digest[ST_DIGEST_LEN];
} bpf_header;

static char *cache_path(const char *cache_dir, json_t *seccomp) {
  cleanup_free char *text =
      json_dumps(seccomp, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
  if (text == NULL)
    return NULL;
  char d[ST_DIGEST_LEN];
  st_digest_of(text, strlen(text), d);
  char *p = NULL;
  if (asprintf(&p, "%s/%s.bpf", cache_dir, st_digest_hex(d)) < 0)
    return NULL;
  return p;
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
  cleanup_free char *path = cache_dir ? cache_path(cache_dir, seccomp) : NULL;
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
