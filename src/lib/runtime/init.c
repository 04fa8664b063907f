/* --init: a small init as the container's PID 1 (what tini or Docker's
 * docker-init do). The kernel gives PID 1 only the signals it handles and
 * makes it the parent of every orphan; a command that is not written to
 * be PID 1 ignores SIGTERM and leaves zombies. This init is the
 * container's first process itself (already set up: root, capabilities,
 * seccomp, user), so nothing is copied into the container: it forks the
 * command, forwards every signal it gets to it, reaps whatever dies, and
 * exits with the command's status when the command ends (the kernel then
 * kills what is left in the PID namespace). */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/internal.h"

/* A raw fork: this process is a clone() of one that may have had threads,
 * so glibc's fork (atfork handlers, its locks) is not safe here. */
static pid_t raw_fork(void) {
  return (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
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
  pid_t child = raw_fork();
  if (child < 0)
    _exit(125);
  if (child == 0) {
    /* Its own process group, in the terminal's foreground with -t, so
     * Ctrl-C reaches the command once, not this init too. */
    setpgid(0, 0);
    if (terminal)
      tcsetpgrp(STDIN_FILENO, getpid());
    for (int sig = 1; sig < NSIG; sig++)
      signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    exec_cmd(arg); /* does not return */
    _exit(127);
  }
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
