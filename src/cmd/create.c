/* strata create: create a container without starting it. */
#include <stdio.h>

#include "cli.h"
#include "container_opts.h"
#include "pull_progress.h"
#include "util/cleanup.h"

static int run_create(int argc, char **argv);

ST_COMMAND(create, "create|container create", run_create,
           "Create a new container",
           "\nUsage:  strata create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
           "Create a new container\n\n"
           "Aliases:\n"
           "  strata container create, strata create\n\n"
           "Options:\n"
           "  -a, --attach list         Attach to STDIN, STDOUT or STDERR\n"
           "      --detach-keys string  Override the key sequence for "
           "detaching a container\n"
           "      --cap-add list        Add Linux capabilities\n"
           "      --cap-drop list       Drop Linux capabilities\n"
           "  -c, --cpu-shares int      CPU shares (relative weight)\n"
           "      --cpus decimal        Number of CPUs\n"
           "      --cpuset-cpus string  CPUs in which to allow execution "
           "(0-3, 0,1)\n"
           "      --cpuset-mems string  MEMs in which to allow execution "
           "(0-3, 0,1)\n"
           "      --entrypoint string   Overwrite the default ENTRYPOINT\n"
           "      --cidfile string      Write the container ID to the file\n"
           "  -e, --env list            Set environment variables\n"
           "      --env-file list       Read in a file of environment "
           "variables\n"
           "      --health-cmd string   Command to run to check health\n"
           "      --health-interval duration  Time between running the check "
           "(ms|s|m|h) (default 0s)\n"
           "      --health-retries int  Consecutive failures needed to report "
           "unhealthy\n"
           "      --health-start-period duration  Start period for the "
           "container to initialize before starting health-retries countdown "
           "(ms|s|m|h) (default 0s)\n"
           "      --health-timeout duration  Maximum time to allow one check "
           "to run (ms|s|m|h) (default 0s)\n"
           "  -h, --hostname string     Container host name\n"
           "      --init                Run an init inside the container "
           "that forwards signals and reaps processes\n"
           "  -i, --interactive         Keep STDIN open even if not attached\n"
           "  -l, --label list          Set meta data on a container\n"
           "      --label-file list     Read in a line delimited file of "
           "labels\n"
           "      --log-driver string   Logging driver for the container\n"
           "      --log-opt list        Log driver options\n"
           "  -m, --memory bytes        Memory limit\n"
           "      --memory-reservation bytes  Memory soft limit\n"
           "      --memory-swap bytes   Swap limit equal to memory plus swap: "
           "'-1' to enable unlimited swap\n"
           "      --oom-kill-disable    Disable OOM Killer\n"
           "      --mount mount         Attach a filesystem mount to the "
           "container\n"
           "      --name string         Assign a name to the container\n"
           "      --network string      Connect a container to a network "
           "(bridge (default), host, none, NAME, container:NAME|ID)\n"
           "      --no-healthcheck      Disable any container-specified "
           "HEALTHCHECK\n"
           "      --network-alias list  Add network-scoped alias for the "
           "container\n"
           "      --ip string           IPv4 address (e.g., 172.30.100.104)\n"
           "      --dns list            Set custom DNS servers\n"
           "      --dns-option list     Set DNS options\n"
           "      --dns-search list     Set custom DNS search domains\n"
           "      --add-host list       Add a custom host-to-IP mapping "
           "(host:ip)\n"
           "  -p, --publish list        Publish a container's port(s) to the "
           "host\n"
           "  -P, --publish-all         Publish all exposed ports to random "
           "ports\n"
           "      --pids-limit int      Tune container pids limit\n"
           "      --privileged          Give extended privileges\n"
           "      --pull string         Pull image before creating "
           "(\"always\", \"missing\", \"never\") (default \"missing\")\n"
           "      --read-only           Mount the root filesystem read only\n"
           "      --restart string      Restart policy to apply when a "
           "container exits (default \"no\")\n"
           "      --rm                  Remove the container when it exits\n"
           "      --oom-score-adj int   Tune host's OOM preferences (-1000 to "
           "1000)\n"
           "      --shm-size bytes      Size of /dev/shm (default 64MB)\n"
           "      --stop-signal string  Signal to stop the container\n"
           "      --stop-timeout int    Timeout (in seconds) to stop a "
           "container\n"
           "      --runtime string      OCI runtime for this container (crun, "
           "runc, a path)\n"
           "      --security-opt list   Security Options "
           "(no-new-privileges[=bool], seccomp=unconfined)\n"
           "      --tmpfs list          Mount a tmpfs directory\n"
           "  -t, --tty                 Allocate a pseudo-TTY\n"
           "  -u, --user string         Username or UID "
           "(<name|uid>[:<group|gid>])\n"
           "  -v, --volume list         Bind mount a volume\n"
           "      --volumes-from list   Mount volumes from the specified "
           "container(s)\n"
           "  -w, --workdir string      Working directory inside the "
           "container\n" CLI_NS_FLAGS_HELP
           "      --help                Print usage\n");

static int run_create(int argc, char **argv) {
  cli_create c;
  int code = cli_create_parse(argc, argv, "create", &st_cmd_create, false, &c);
  if (code >= 0) {
    cli_create_free(&c);
    return code;
  }
  st_store *s = cli_store();
  cleanup_error st_error *err = NULL;
  char id[ST_CONTAINER_ID_LEN];
  if (s == NULL)
    code = 125;
  else if ((code = cli_cidfile_create(&c)) >= 0 ||
           (code = cli_ensure_image_for(s, c.o.image, c.pull, c.o.platform)) >=
               0)
    cli_cidfile_done(&c, NULL); /* error printed */
  else if (st_container_create(s, &c.o, id, &err) < 0)
    cli_cidfile_done(&c, NULL), code = cli_runtime_fail(err);
  else
    cli_cidfile_done(&c, id), printf("%s\n", id), code = 0;
  cli_create_free(&c);
  return code;
}
