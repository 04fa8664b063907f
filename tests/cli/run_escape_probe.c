/* probe CALL [ARG]: makes one system call a container must not be able to
 * use against the host and prints "CALL: ok" or "CALL: <errno name>". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
  switch (e) {
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EACCES: return "EACCES";
  case EROFS: return "EROFS";
  case ENOSYS: return "ENOSYS";
  case EINVAL: return "EINVAL";
  case EFAULT: return "EFAULT";
  case EBADF: return "EBADF";
  case ETXTBSY: return "ETXTBSY";
  case ENXIO: return "ENXIO";
  case EEXIST: return "EEXIST";
  default: return strerror(e);
  }
}

static long ptrace_pid(pid_t pid) {
  if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0)
    return -1;
  waitpid(pid, NULL, __WALL);
  ptrace(PTRACE_DETACH, pid, 0, 0);
  return 0;
}

static long vm_read(pid_t pid) {
  char buf[8];
  struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x400000, sizeof(buf)};
  return process_vm_readv(pid, &l, 1, &r, 1, 0) < 0 && errno != EFAULT ? -1 : 0;
}

/* The classic escape: chroot into a subdirectory, climb with "..", chroot
 * to where the climb ended. Fails (ENOENT) when marker, a path only the
 * host has, is not visible afterwards. */
static long chroot_escape(const char *marker) {
  mkdir("/tmp/jail", 0700);
  if (chroot("/tmp/jail") < 0)
    return -1;
  for (int i = 0; i < 64; i++)
    if (chdir("..") < 0)
      return -1;
  if (chroot(".") < 0)
    return -1;
  struct stat st;
  return stat(marker, &st);
}

/* For secs seconds, looks at the executable of every process: prints the
 * ones whose target names a strata binary and that could be opened. */
static long watch_exe(int secs) {
  time_t end = time(NULL) + secs;
  long seen = 0;
  while (time(NULL) < end) {
    for (int pid = 2; pid < 400; pid++) {
      char path[64], target[512];
      snprintf(path, sizeof(path), "/proc/%d/exe", pid);
      ssize_t n = readlink(path, target, sizeof(target) - 1);
      if (n <= 0)
        continue;
      target[n] = '\0';
      int fd = open(path, O_RDONLY);
      if (strstr(target, "strata") && fd >= 0) {
        printf("exposed: %s\n", target);
        seen++;
      }
      if (fd >= 0)
        close(fd);
    }
  }
  if (seen) {
    errno = EACCES;
    return -1;
  }
  return 0;
}

static long run(const char *call, const char *arg) {
  pid_t pid = arg ? (pid_t)atoi(arg) : 1;
  if (!strcmp(call, "mount"))
    return mount("none", "/mnt", "tmpfs", 0, NULL);
  if (!strcmp(call, "umount"))
    return umount2("/proc", MNT_DETACH);
  if (!strcmp(call, "unshare"))
    return unshare(CLONE_NEWNS);
  if (!strcmp(call, "unshare-user"))
    return unshare(CLONE_NEWUSER);
  if (!strcmp(call, "setns")) {
    int fd = open("/proc/1/ns/mnt", O_RDONLY);
    return fd < 0 ? -1 : setns(fd, 0);
  }
  if (!strcmp(call, "clone-newns")) {
    long r = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (r == 0)
      _exit(0);
    return r < 0 ? -1 : 0;
  }
  if (!strcmp(call, "clone3"))
    return syscall(SYS_clone3, NULL, 0);
  if (!strcmp(call, "ptrace"))
    return ptrace_pid(pid);
  if (!strcmp(call, "ptrace-child")) {
    pid_t c = fork();
    if (c == 0) {
      pause();
      _exit(0);
    }
    long r = ptrace_pid(c);
    int e = errno;
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    errno = e;
    return r;
  }
  if (!strcmp(call, "process_vm_readv"))
    return vm_read(pid);
  /* Arguments below are invalid on purpose: were a call let through, it
   * would fail (EINVAL, EFAULT, EBADF, ENOENT) without changing anything. */
  if (!strcmp(call, "init_module"))
    return syscall(SYS_init_module, NULL, 0, "");
  if (!strcmp(call, "finit_module"))
    return syscall(SYS_finit_module, -1, "", 0);
  if (!strcmp(call, "delete_module"))
    return syscall(SYS_delete_module, "strata_no_such_module", O_NONBLOCK);
  if (!strcmp(call, "keyctl"))
    return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0);
  if (!strcmp(call, "add_key"))
    return syscall(SYS_add_key, "user", "strata", "x", 1, -3);
  if (!strcmp(call, "bpf"))
    return syscall(SYS_bpf, -1, NULL, 0);
  if (!strcmp(call, "perf_event_open"))
    return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
  if (!strcmp(call, "kexec_load"))
    return syscall(SYS_kexec_load, 0, 0, NULL, 0x7fff0000UL);
  if (!strcmp(call, "reboot"))
    return syscall(SYS_reboot, 0, 0, 0, NULL); /* bad magic */
  if (!strcmp(call, "settime"))
    return syscall(SYS_clock_settime, CLOCK_REALTIME, NULL);
  if (!strcmp(call, "mknod-blk"))
    return mknod(arg ? arg : "/tmp/blk", S_IFBLK | 0600, makedev(8, 0));
  if (!strcmp(call, "mknod-chr"))
    return mknod(arg ? arg : "/tmp/chr", S_IFCHR | 0600, makedev(1, 1));
  if (!strcmp(call, "chroot"))
    return chroot("/tmp");
  if (!strcmp(call, "open-rw"))
    return open(arg, O_WRONLY) < 0 ? -1 : 0;
  if (!strcmp(call, "open-ro"))
    return open(arg, O_RDONLY) < 0 ? -1 : 0;
  if (!strcmp(call, "write-exe")) {
    /* reopen the executable of pid for writing through /proc */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%s/exe", arg ? arg : "self");
    int fd = open(path, O_WRONLY);
    if (fd < 0)
      return -1;
    return write(fd, "", 0) < 0 ? -1 : 0;
  }
  if (!strcmp(call, "chroot-escape"))
    return chroot_escape(arg);
  if (!strcmp(call, "watch-exe"))
    return watch_exe(arg ? atoi(arg) : 3);
  if (!strcmp(call, "unknown"))
    return syscall(1000);
  fprintf(stderr, "probe: unknown call %s\n", call);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe CALL [ARG]\n");
    return 2;
  }
  errno = 0;
  long r = run(argv[1], argc > 2 ? argv[2] : NULL);
  if (r < 0) {
    printf("%s: %s\n", argv[1], ename(errno));
    return 1;
  }
  printf("%s: ok\n", argv[1]);
  return 0;
}
