/* --init: a small init as the container's PID 1 (what tini or Docker's
 * docker-init do). The kernel gives PID 1 only the signals it handles and
 * makes it the parent of every orphan; a command that is not written to
 * be PID 1 ignores SIGTERM and leaves zombies. This init is the
 * container's first process itself (already set up: root, capabilities,
 * seccomp, user), so nothing is copied into the container: it forks the
 * command, forwards every signal it gets to it, reaps whatever dies, and
 * exits with the command's status when the command ends (the kernel then
 * kills what is left in the PID namespace). */
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/internal.h"

/* The command's process: it shares this one's memory until its exec
 * (CLONE_VM | CLONE_VFORK, on a stack of its own), so starting it copies
 * no page table: strata's address space is large and a fork of it costs
 * milliseconds. glibc's fork is not an option anyway (this process is a
 * clone() of one that may have had threads: atfork handlers, locks). */
typedef struct child_args {
  bool terminal;
  sigset_t mask;
  void (*exec_cmd)(const void *);
  const void *arg;
} child_args;

static int child_main(void *p) {
  const child_args *a = p;
  /* Its own process group, in the terminal's foreground with -t, so
   * Ctrl-C reaches the command once, not this init too. */
  setpgid(0, 0);
  if (a->terminal)
    tcsetpgrp(STDIN_FILENO, getpid());
  for (int sig = 1; sig < NSIG; sig++) /* its own table: no CLONE_SIGHAND */
    signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &a->mask, NULL);
  a->exec_cmd(a->arg); /* does not return */
  _exit(127);
}

static pid_t spawn_command(child_args *a) {
  static char stack[256 << 10] __attribute__((aligned(16)));
  return clone(child_main, stack + sizeof(stack),
               CLONE_VM | CLONE_VFORK | SIGCHLD, a);
}

static int status_code(int st) {
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return 255;
}

_Noreturn void st_init_run(bool terminal, int errfd,
                           void (*exec_cmd)(const void *), const void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  /* The container cannot read this process's memory or open its
   * /proc/1/exe (the host's strata binary). */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_NAME, "strata-init", 0, 0, 0);
  child_args ca = {terminal, old, exec_cmd, arg};
  pid_t child = spawn_command(&ca);
  if (child < 0)
    _exit(125);
  /* The starter learns that the command runs when every copy of errfd is
   * closed: the child's at its exec, this one now. */
  close(errfd);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0)
      continue;
    if (sig != SIGCHLD) {
      kill(child, sig); /* job control stops included: they are its */
      continue;
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0)
      if (p == child)
        _exit(status_code(st));
  }
}
