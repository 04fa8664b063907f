/* Threads that never take a process's signals. */
#ifndef STRATA_UTIL_THREAD_H
#define STRATA_UTIL_THREAD_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread (the caller's
 * mask is restored). A process-directed signal (Ctrl-C, kill) then goes to
 * a thread that expects it: the thread reading a signalfd, or the default
 * action, never a helper thread. With SIGINT unblocked in a helper thread
 * it could be delivered there: ignored (a shell's background job inherits
 * SIG_IGN) so the signalfd never saw it, or killing the process without
 * its clean-up. Returns pthread_create's result. */
int st_thread_create(pthread_t *th, void *(*fn)(void *), void *arg);

#endif
