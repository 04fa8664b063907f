/* Docker's default seccomp profile, resolved for one capability set into
 * a plain OCI `linux.seccomp` object (what Docker itself hands to runc:
 * the profile's capability conditions are evaluated when the container is
 * created, so config.json carries only names, actions and argument tests,
 * and crun or runc given the same bundle apply the same filter).
 *
 * The shape follows moby's profiles/seccomp/default.json:
 *   - default action ERRNO(EPERM) (Docker's defaultErrnoRet 1); a system
 *     call newer than any the profile names gets ENOSYS instead, so that
 *     libc falls back to an older call (what runc does; see seccomp.c);
 *   - an allow list of ordinary calls;
 *   - argument filters: socket() except AF_VSOCK, personality() only with
 *     the five personas Docker lists, clone() only without CLONE_NEW* and
 *     clone3 -> ENOSYS (its flags live in memory a filter cannot read)
 *     unless the container has CAP_SYS_ADMIN;
 *   - groups allowed only when the container holds a capability
 *     (CAP_SYS_ADMIN: mount, setns, unshare, ...; CAP_SYS_PTRACE: ptrace,
 *     process_vm_*; CAP_SYS_MODULE: init_module, ...).
 * Two deliberate differences. mknod/mknodat may make files, FIFOs,
 * sockets and overlay whiteouts (character device 0:0) but no other device
 * node: Docker lets CAP_MKNOD make any node and relies on a device cgroup
 * to refuse opening it, and strata's own executor sets up no device cgroup
 * (it touches cgroups only for resource limits), so the filter stands in
 * for that rule. And Docker allows ptrace and process_vm_* to
 * every container on kernels >= 4.8; strata allows them only with
 * CAP_SYS_PTRACE (--cap-add SYS_PTRACE), as Docker did before 19.03, so a
 * container's root cannot read or steer its other processes by default.
 *
 * The lists are space-separated names: a name libseccomp does not know on
 * this architecture is skipped when the filter is compiled. */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/internal.h"

/* Allowed to every container (moby's first group, plus the calls newer
 * Docker releases added: cachestat, fchmodat2, futex_*, map_shadow_stack,
 * mseal). */
static const char allow_always[] =
    "accept accept4 access adjtimex alarm bind brk cachestat capget capset "
    "chdir chmod chown chown32 clock_adjtime clock_adjtime64 clock_getres "
    "clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep "
    "clock_nanosleep_time64 close close_range connect copy_file_range creat "
    "dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old "
    "epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 "
    "execve execveat exit exit_group faccessat faccessat2 fadvise64 "
    "fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 "
    "fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr "
    "flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs "
    "fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 "
    "futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents "
    "getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 "
    "getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid "
    "getppid getpriority getrandom getresgid getresgid32 getresuid "
    "getresuid32 getrlimit get_robust_list getrusage getsid getsockname "
    "getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr "
    "inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel "
    "ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 "
    "ioprio_get ioprio_set io_setup io_submit io_uring_enter "
    "io_uring_register io_uring_setup ipc kill landlock_add_rule "
    "landlock_create_ruleset landlock_restrict_self lchown lchown32 "
    "lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr "
    "lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier "
    "memfd_create memfd_secret mincore mkdir mkdirat mlock "
    "mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open "
    "mq_timedreceive mq_timedreceive_time64 mq_timedsend "
    "mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd "
    "msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat "
    "_newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe "
    "pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl "
    "pread64 preadv preadv2 prlimit64 process_mrelease pselect6 "
    "pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink "
    "readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg "
    "remap_file_pages removexattr rename renameat renameat2 restart_syscall "
    "rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo "
    "rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 "
    "rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam "
    "sched_get_priority_max sched_get_priority_min sched_getscheduler "
    "sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity "
    "sched_setattr sched_setparam sched_setscheduler sched_yield seccomp "
    "select semctl semget semop semtimedop semtimedop_time64 send sendfile "
    "sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid "
    "setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid "
    "setpriority setregid setregid32 setresgid setresgid32 setresuid "
    "setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid "
    "setsockopt set_thread_area set_tid_address setuid setuid32 setxattr "
    "shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 "
    "sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs "
    "statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo "
    "tee tgkill time timer_create timer_delete timer_getoverrun "
    "timer_gettime timer_gettime64 timer_settime timer_settime64 "
    "timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime "
    "timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask "
    "uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork "
    "vmsplice wait4 waitid waitpid write writev"
#if defined(__x86_64__) || defined(__i386__)
    " arch_prctl modify_ldt"
#elif defined(__aarch64__) || defined(__arm__)
    " arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint "
    "cacheflush set_tls"
#elif defined(__powerpc64__)
    " sync_file_range2 swapcontext"
#elif defined(__s390x__)
    " s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr"
#elif defined(__riscv)
    " riscv_flush_icache"
#endif
    ;

/* Allowed to a container that holds the capability. */
static const struct cap_group {
  int cap;
  const char *names;
} cap_groups[] = {
    {CAP_DAC_READ_SEARCH, "open_by_handle_at"},
    {CAP_SYS_ADMIN,
     "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick "
     "lookup_dcookie mount mount_setattr move_mount open_tree perf_event_open "
     "quotactl quotactl_fd setdomainname sethostname setns syslog umount "
     "umount2 unshare"},
    {CAP_SYS_BOOT, "reboot"},
    {CAP_SYS_CHROOT, "chroot"},
    {CAP_SYS_MODULE, "delete_module init_module finit_module"},
    {CAP_SYS_PACCT, "acct"},
    {CAP_SYS_PTRACE, "kcmp pidfd_getfd process_madvise process_vm_readv "
                     "process_vm_writev ptrace"},
    {CAP_SYS_RAWIO, "iopl ioperm"},
    {CAP_SYS_TIME, "settimeofday stime clock_settime clock_settime64"},
    {CAP_SYS_TTY_CONFIG, "vhangup"},
    {CAP_SYS_NICE, "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"},
    {CAP_SYSLOG, "syslog"},
    {CAP_BPF, "bpf"},
    {CAP_PERFMON, "perf_event_open"},
};
#define N_GROUPS (sizeof(cap_groups) / sizeof(cap_groups[0]))

/* personality(2) personas Docker allows: PER_LINUX, UNAME26, PER_LINUX32,
 * UNAME26|PER_LINUX32, and 0xffffffff (a query). */
static const json_int_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

#define CAP_BIT(c) (UINT64_C(1) << (c))

/* True when word (len bytes) is one of the space-separated names. */
static bool names_have(const char *names, const char *word, size_t len) {
  for (const char *p = names; *p;) {
    size_t n = strcspn(p, " ");
    if (n == len && memcmp(p, word, len) == 0)
      return true;
    p += n;
    p += strspn(p, " ");
  }
  return false;
}

/* Appends each name of names to a, skipping those an earlier held group
 * (index < upto) already added. */
static void append_names(json_t *a, const char *names, uint64_t caps,
                         size_t upto) {
  for (const char *p = names; *p;) {
    size_t n = strcspn(p, " ");
    bool dup = false;
    for (size_t g = 0; g < upto && !dup; g++)
      dup = (caps & CAP_BIT(cap_groups[g].cap)) &&
            names_have(cap_groups[g].names, p, n);
    if (n && !dup)
      json_array_append_new(a, json_stringn(p, n));
    p += n;
    p += strspn(p, " ");
  }
}

static json_t *arg_rule(const char *name, const char *action, json_int_t value,
                        json_int_t value_two, const char *op) {
  return json_pack("{s:[s], s:s, s:[{s:i, s:I, s:I, s:s}]}", "names", name,
                   "action", action, "args", "index", 0, "value", value,
                   "valueTwo", value_two, "op", op);
}

/* mknod(path, mode, dev) / mknodat(dirfd, path, mode, dev): allowed for
 * anything but a device node, and for the 0:0 character device (an
 * overlay whiteout). */
static void add_mknod_rules(json_t *rules) {
  static const struct {
    const char *name;
    int mode_arg;
  } calls[] = {{"mknod", 1}, {"mknodat", 2}};
  static const json_int_t types[] = {0, S_IFREG, S_IFIFO, S_IFSOCK};
  for (size_t c = 0; c < 2; c++) {
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
      json_array_append_new(
          rules,
          json_pack("{s:[s], s:s, s:[{s:i, s:I, s:I, s:s}]}", "names",
                    calls[c].name, "action", "SCMP_ACT_ALLOW", "args", "index",
                    calls[c].mode_arg, "value", (json_int_t)S_IFMT, "valueTwo",
                    types[t], "op", "SCMP_CMP_MASKED_EQ"));
    json_array_append_new(
        rules,
        json_pack("{s:[s], s:s, s:[{s:i, s:I, s:I, s:s}, {s:i, s:I, s:s}]}",
                  "names", calls[c].name, "action", "SCMP_ACT_ALLOW", "args",
                  "index", calls[c].mode_arg, "value", (json_int_t)S_IFMT,
                  "valueTwo", (json_int_t)S_IFCHR, "op", "SCMP_CMP_MASKED_EQ",
                  "index", calls[c].mode_arg + 1, "value", (json_int_t)0, "op",
                  "SCMP_CMP_EQ"));
  }
}

static json_t *architectures(void) {
#if defined(__x86_64__)
  return json_pack("[s, s, s]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                   "SCMP_ARCH_X32");
#elif defined(__aarch64__)
  return json_pack("[s, s]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
#else
  return json_array(); /* the native one only */
#endif
}

json_t *st_seccomp_default(uint64_t caps) {
  bool admin = caps & CAP_BIT(CAP_SYS_ADMIN);
  json_t *allowed = json_array();
  append_names(allowed, allow_always, caps, 0);
  for (size_t g = 0; g < N_GROUPS; g++)
    if (caps & CAP_BIT(cap_groups[g].cap))
      append_names(allowed, cap_groups[g].names, caps, g);
  json_t *rules = json_array();
  json_array_append_new(rules, json_pack("{s:o, s:s}", "names", allowed,
                                         "action", "SCMP_ACT_ALLOW"));
  json_array_append_new(rules, arg_rule("socket", "SCMP_ACT_ALLOW",
                                        40 /* AF_VSOCK */, 0, "SCMP_CMP_NE"));
  add_mknod_rules(rules);
  for (size_t i = 0; i < sizeof(personas) / sizeof(personas[0]); i++)
    json_array_append_new(rules, arg_rule("personality", "SCMP_ACT_ALLOW",
                                          personas[i], 0, "SCMP_CMP_EQ"));
  if (!admin) {
    const json_int_t ns = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                          CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                          CLONE_NEWNET;
#if defined(__s390x__) || defined(__s390__)
    json_t *clone =
        arg_rule("clone", "SCMP_ACT_ALLOW", ns, 0, "SCMP_CMP_MASKED_EQ");
    json_integer_set(
        json_object_get(json_array_get(json_object_get(clone, "args"), 0),
                        "index"),
        1);
#else
    json_t *clone =
        arg_rule("clone", "SCMP_ACT_ALLOW", ns, 0, "SCMP_CMP_MASKED_EQ");
#endif
    json_array_append_new(rules, clone);
    json_array_append_new(rules, json_pack("{s:[s], s:s, s:i}", "names",
                                           "clone3", "action", "SCMP_ACT_ERRNO",
                                           "errnoRet", ENOSYS));
  }
  return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO",
                   "defaultErrnoRet", EPERM, "architectures", architectures(),
                   "syscalls", rules);
}
