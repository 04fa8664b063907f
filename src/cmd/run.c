/* strata run: create a container from an image and start it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "container_opts.h"
#include "pull_progress.h"
#include "util/cleanup.h"

static int run_run(int argc, char **argv);

#define CONTAINER_FLAGS                                                        \
  "  -a, --attach list         Attach to STDIN, STDOUT or STDERR\n"            \
  "      --detach-keys string  Override the key sequence for detaching a "     \
  "container\n"                                                                \
  "      --cap-add list        Add Linux capabilities\n"                       \
  "      --cap-drop list       Drop Linux capabilities\n"                      \
  "  -c, --cpu-shares int      CPU shares (relative weight)\n"                 \
  "      --cpus decimal        Number of CPUs\n"                               \
  "      --cpuset-cpus string  CPUs in which to allow execution (0-3, 0,1)\n"  \
  "      --cpuset-mems string  MEMs in which to allow execution (0-3, 0,1)\n"  \
  "      --entrypoint string   Overwrite the default ENTRYPOINT of the "       \
  "image\n"                                                                    \
  "      --cidfile string      Write the container ID to the file\n"           \
  "  -e, --env list            Set environment variables\n"                    \
  "      --env-file list       Read in a file of environment variables\n"      \
  "      --health-cmd string   Command to run to check health\n"               \
  "      --health-interval duration  Time between running the check "          \
  "(ms|s|m|h) (default 0s)\n"                                                  \
  "      --health-retries int  Consecutive failures needed to report "         \
  "unhealthy\n"                                                                \
  "      --health-start-period duration  Start period for the container to "   \
  "initialize before starting health-retries countdown (ms|s|m|h) (default "   \
  "0s)\n"                                                                      \
  "      --health-timeout duration  Maximum time to allow one check to run "   \
  "(ms|s|m|h) (default 0s)\n"                                                  \
  "  -h, --hostname string     Container host name\n"                          \
  "      --init                Run an init inside the container that "         \
  "forwards signals and reaps processes\n"                                     \
  "  -i, --interactive         Keep STDIN open even if not attached\n"         \
  "  -l, --label list          Set meta data on a container\n"                 \
  "      --label-file list     Read in a line delimited file of labels\n"      \
  "      --log-driver string   Logging driver for the container\n"             \
  "      --log-opt list        Log driver options\n"                           \
  "  -m, --memory bytes        Memory limit\n"                                 \
  "      --memory-reservation bytes  Memory soft limit\n"                      \
  "      --memory-swap bytes   Swap limit equal to memory plus swap: '-1' "    \
  "to enable unlimited swap\n"                                                 \
  "      --oom-kill-disable    Disable OOM Killer\n"                           \
  "      --mount mount         Attach a filesystem mount to the container\n"   \
  "      --name string         Assign a name to the container\n"               \
  "      --network string      Connect a container to a network (bridge "      \
  "(default), host, none, NAME, container:NAME|ID)\n"                          \
  "      --no-healthcheck      Disable any container-specified HEALTHCHECK\n"  \
  "      --network-alias list  Add network-scoped alias for the container\n"   \
  "      --ip string           IPv4 address (e.g., 172.30.100.104)\n"          \
  "      --dns list            Set custom DNS servers\n"                       \
  "      --dns-option list     Set DNS options\n"                              \
  "      --dns-search list     Set custom DNS search domains\n"                \
  "      --add-host list       Add a custom host-to-IP mapping (host:ip)\n"    \
  "  -p, --publish list        Publish a container's port(s) to the host\n"    \
  "  -P, --publish-all         Publish all exposed ports to random ports\n"    \
  "      --pids-limit int      Tune container pids limit (-1 for "             \
  "unlimited)\n"                                                               \
  "      --privileged          Give extended privileges to this container\n"   \
  "      --pull string         Pull image before running (\"always\", "        \
  "\"missing\", \"never\") (default \"missing\")\n"                            \
  "      --read-only           Mount the container's root filesystem as "      \
  "read only\n"                                                                \
  "      --restart string      Restart policy to apply when a container "      \
  "exits (default \"no\")\n"                                                   \
  "      --oom-score-adj int   Tune host's OOM preferences (-1000 to 1000)\n"  \
  "      --shm-size bytes      Size of /dev/shm (default 64MB)\n"              \
  "      --stop-signal string  Signal to stop the container\n"                 \
  "      --stop-timeout int    Timeout (in seconds) to stop a container\n"     \
  "      --rm                  Automatically remove the container when it "    \
  "exits\n"                                                                    \
  "      --runtime string      Runtime to use for this container (an OCI "     \
  "runtime: crun, runc, or a path)\n"                                          \
  "      --security-opt list   Security Options (no-new-privileges[=bool], "   \
  "seccomp=unconfined)\n"                                                      \
  "      --tmpfs list          Mount a tmpfs directory\n"                      \
  "  -t, --tty                 Allocate a pseudo-TTY\n"                        \
  "  -u, --user string         Username or UID (format: "                      \
  "<name|uid>[:<group|gid>])\n"                                                \
  "  -v, --volume list         Bind mount a volume\n"                          \
  "      --volumes-from list   Mount volumes from the specified "              \
  "container(s)\n"                                                             \
  "  -w, --workdir string      Working directory inside the container\n"

ST_COMMAND(run, "run|container run", run_run,
           "Create and run a new container from an image",
           "\nUsage:  strata run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
           "Create and run a new container from an image\n\n"
           "Aliases:\n"
           "  strata container run, strata run\n\n"
           "Options:\n"
           "  -d, --detach              Run container in background and "
           "print container ID\n" CONTAINER_FLAGS CLI_NS_FLAGS_HELP
           "      --help                Print usage\n"
           "\nWithout --init the command runs as PID 1 of the container: it "
           "gets only\nthe signals it handles (SIGKILL always), so "
           "`strata stop` falls back to\nSIGKILL after -t seconds. --init "
           "forwards signals and reaps orphans.\n");

/* -a without a stream: the container's copy of it is /dev/null (Docker's
 * daemon sends it to the log only). Ours is back for what we print after. */
static int detach_stream(unsigned attach, unsigned bit, int fd) {
  if (attach == 0 || (attach & bit))
    return -1;
  int saved = dup(fd);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (saved >= 0 && null >= 0)
    dup2(null, fd);
  if (null >= 0)
    close(null);
  return saved;
}

static void restore_stream(int saved, int fd) {
  if (saved < 0)
    return;
  dup2(saved, fd);
  close(saved);
}

static int run_attached(st_store *s, const char *id, unsigned attach,
                        int *status, st_error **err) {
  fflush(NULL);
  int in = detach_stream(attach, ST_ATTACH_STDIN, STDIN_FILENO);
  int out = detach_stream(attach, ST_ATTACH_STDOUT, STDOUT_FILENO);
  int er = detach_stream(attach, ST_ATTACH_STDERR, STDERR_FILENO);
  int r = st_container_run(s, id, status, err);
  restore_stream(in, STDIN_FILENO);
  restore_stream(out, STDOUT_FILENO);
  restore_stream(er, STDERR_FILENO);
  return r < 0 ? cli_runtime_fail(*err) : *status;
}

/* run -it: the container runs under its own monitor, as `run -d` does, and
 * this process attaches to it (its log from the start, our terminal in raw
 * mode through the attach socket), so that the detach keys can leave it
 * running: an attached run's container would be this process's child. */
static bool via_monitor(const cli_create *c) {
  return c->o.tty && c->o.interactive && !c->detach && c->o.attach == 0 &&
         !(c->o.log_driver && strcmp(c->o.log_driver, "none") == 0);
}

static int run_via_monitor(st_store *s, const char *id, const char *keys,
                           st_error **err) {
  if (st_container_start_detached(s, id, err) < 0)
    return cli_runtime_fail(*err);
  cli_attach_opts ao = {
      .sig_proxy = true, .in = true, .detach_keys = keys, .from_start = true};
  return cli_attach_running(s, id, &ao);
}

static int run_run(int argc, char **argv) {
  cli_create c;
  int code = cli_create_parse(argc, argv, "run", &st_cmd_run, true, &c);
  if (code >= 0) {
    cli_create_free(&c);
    return code;
  }
  /* Docker's CheckTty: a terminal for the container's stdin needs one
   * here (a pipe would be relayed into the pty and never end). */
  if (c.o.interactive && c.o.tty && !c.detach && !isatty(STDIN_FILENO)) {
    cli_create_free(&c);
    fputs("the input device is not a TTY\n", stderr);
    return 1;
  }
  st_store *s = cli_store();
  if (s == NULL) {
    cli_create_free(&c);
    return 125;
  }
  cleanup_error st_error *err = NULL;
  char id[ST_CONTAINER_ID_LEN];
  int status = 0;
  if ((code = cli_cidfile_create(&c)) >= 0 ||
      (code = cli_ensure_image_for(s, c.o.image, c.pull, c.o.platform)) >= 0) {
    cli_cidfile_done(&c, NULL); /* error printed */
  } else if (st_container_create(s, &c.o, id, &err) < 0) {
    cli_cidfile_done(&c, NULL);
    code = cli_runtime_fail(err);
  } else {
    cli_cidfile_done(&c, id);
    /* Recorded: the container holds its image and layers, and nothing
     * else of this process is unrecorded, so an attached run (which may
     * last long) does not hold gc back (store.h). */
    st_store_idle(s);
    if (c.detach) {
      code = st_container_start_detached(s, id, &err) < 0
                 ? cli_runtime_fail(err)
                 : 0;
      if (code == 0)
        printf("%s\n", id);
    } else if (via_monitor(&c)) {
      code = run_via_monitor(s, id, c.detach_keys, &err);
    } else {
      code = run_attached(s, id, c.o.attach, &status, &err);
    }
  }
  cli_create_free(&c);
  return code;
}
