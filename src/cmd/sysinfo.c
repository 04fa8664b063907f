/* strata version and strata info (system info): Docker's layouts, filled
 * from the binary, the host and the store. strata has no daemon, so the
 * "Server" is the engine in this binary. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "format.h"
#include "registry/config.h"
#include "runtime/runtime.h"
#include "store/containers.h"
#include "store/layers.h"
#include "store/usage.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define API_VERSION "1.50" /* the Engine API whose output strata follows */

static int run_version(int argc, char **argv);
static int run_info(int argc, char **argv);

ST_COMMAND(version, "version", run_version,
           "Show the strata version information",
           "\nUsage:  strata version [OPTIONS]\n\n"
           "Show the strata version information\n\n"
           "Options:\n"
           "  -f, --format string   Format output using a custom template:\n"
           "                        'json':             Print in JSON format\n"
           "                        'TEMPLATE':         Print output using "
           "the given Go template\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(info, "info|system info", run_info,
           "Display system-wide information",
           "\nUsage:  strata info [OPTIONS]\n\n"
           "Display system-wide information\n\n"
           "Aliases:\n"
           "  strata system info, strata info\n\n"
           "Options:\n"
           "  -f, --format string   Format output using a custom template:\n"
           "                        'json':             Print in JSON format\n"
           "                        'TEMPLATE':         Print output using "
           "the given Go template\n"
           "  -h, --help            Print usage\n");

/* Parses [-f FORMAT] for both commands; < 0 to go on, else an exit code. */
static int parse_format(int argc, char **argv, const st_command *cmd,
                        const char *name, const char **format) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  while ((c = cli_getopt(argc, argv, "f:h", opts)) != -1) {
    switch (c) {
    case 'f':
      *format = optarg;
      break;
    case 'h':
      return cli_usage(cmd);
    default:
      return cli_bad_flag(name);
    }
  }
  if (optind < argc)
    return cli_bad_usage(name, "\"strata %s\" accepts no arguments.", name);
  return -1;
}

/* A line of a file such as /etc/os-release: KEY="value" -> value. */
static char *os_release(const char *key) {
  cleanup_file FILE *f = fopen("/etc/os-release", "re");
  char line[512];
  size_t klen = strlen(key);
  while (f && fgets(line, sizeof(line), f)) {
    if (strncmp(line, key, klen) != 0 || line[klen] != '=')
      continue;
    char *v = line + klen + 1;
    v[strcspn(v, "\n")] = '\0';
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
      v[n - 1] = '\0';
      v++;
    }
    return strdup(v);
  }
  return strdup("Linux");
}

/* The version a runtime prints first ("crun version 1.8.1"), or NULL when
 * it is not on PATH. */
static char *runtime_version(const char *name) {
  cleanup_free char *cmd = NULL;
  if (asprintf(&cmd, "%s --version 2>/dev/null", name) < 0)
    return NULL;
  FILE *p = popen(cmd, "re");
  if (p == NULL)
    return NULL;
  char line[256] = "";
  char *r = fgets(line, sizeof(line), p) ? strdup(line) : NULL;
  pclose(p);
  if (r)
    r[strcspn(r, "\n")] = '\0';
  return r && *r ? r : (free(r), NULL);
}

static json_t *version_doc(void) {
  struct utsname u;
  uname(&u);
  json_t *engine = json_pack(
      "{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}", "Name",
      "Engine (daemonless)", "Details", "ApiVersion", API_VERSION, "Arch",
      "amd64", "BuildTime", __DATE__ " " __TIME__, "Experimental", "false",
      "GitCommit", "", "KernelVersion", u.release, "Os", "linux");
  json_t *components = json_array();
  json_array_append_new(components, engine);
  static const char *const runtimes[] = {"crun", "runc", NULL};
  for (size_t i = 0; runtimes[i]; i++) {
    cleanup_free char *v = runtime_version(runtimes[i]);
    if (v)
      json_array_append_new(components,
                            json_pack("{s:s, s:s}", "Name", runtimes[i],
                                      "Version", v + strcspn(v, "0123456789")));
  }
  json_t *client = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Platform", "strata",
      "Version", STRATA_VERSION, "ApiVersion", API_VERSION, "DefaultAPIVersion",
      API_VERSION, "GoVersion", "none (C)", "GitCommit", "", "Os", "linux",
      "Arch", strcmp(u.machine, "x86_64") == 0 ? "amd64" : u.machine);
  json_object_set_new(client, "BuildTime", json_string(__DATE__ " " __TIME__));
  json_t *server = json_pack("{s:s, s:s, s:s, s:o}", "Platform", "strata",
                             "Version", STRATA_VERSION, "ApiVersion",
                             API_VERSION, "Components", components);
  return json_pack("{s:o, s:o}", "Client", client, "Server", server);
}

static int run_version(int argc, char **argv) {
  const char *format = NULL;
  int code = parse_format(argc, argv, &st_cmd_version, "version", &format);
  if (code >= 0)
    return code;
  json_auto_t *doc = version_doc();
  if (format && *format)
    return cli_print_one(doc,
                         strcmp(format, "json") == 0 ? "{{json .}}" : format);
  json_t *c = json_object_get(doc, "Client");
  json_t *s = json_object_get(doc, "Server");
  printf("Client:\n");
  printf(" Version:           %s\n",
         json_string_value(json_object_get(c, "Version")));
  printf(" API version:       %s\n", API_VERSION);
  printf(" Go version:        none (C)\n");
  printf(" Built:             %s\n",
         json_string_value(json_object_get(c, "BuildTime")));
  printf(" OS/Arch:           linux/%s\n",
         json_string_value(json_object_get(c, "Arch")));
  printf("\nServer: strata (no daemon: the engine runs in each command)\n");
  size_t i;
  json_t *comp;
  json_array_foreach(json_object_get(s, "Components"), i, comp) {
    const char *name = json_string_value(json_object_get(comp, "Name"));
    printf(" %s:\n", name);
    if (i == 0) {
      printf("  Version:          %s\n", STRATA_VERSION);
      printf("  API version:      %s\n", API_VERSION);
      printf("  OS/Arch:          linux/%s\n",
             json_string_value(json_object_get(c, "Arch")));
    } else {
      printf("  Version:          %s\n",
             json_string_value(json_object_get(comp, "Version")));
    }
  }
  return 0;
}

/* Docker's units.BytesSize: binary units, four significant digits. */
static void bytes_size(double v, char *out, size_t n) {
  static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t i = 0;
  while (v >= 1024 && i + 1 < sizeof(u) / sizeof(u[0])) {
    v /= 1024;
    i++;
  }
  snprintf(out, n, "%.4g%s", v, u[i]);
}

static const char *fs_name(const char *path) {
  struct statfs f;
  if (statfs(path, &f) < 0)
    return "unknown";
  switch ((unsigned long)f.f_type) {
  case 0xEF53UL:
    return "extfs";
  case 0x58465342UL:
    return "xfs";
  case 0x9123683EUL:
    return "btrfs";
  case 0x01021994UL:
    return "tmpfs";
  case 0x794c7630UL:
    return "overlayfs";
  default:
    return "unknown";
  }
}

static int cgroup_version(void) {
  struct statfs f;
  return statfs("/sys/fs/cgroup", &f) == 0 &&
                 (unsigned long)f.f_type == 0x63677270UL
             ? 2
             : 1;
}

static json_t *str_array(char **v) {
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

/* The info document, with Docker's JSON key names. */
static int info_doc(st_store *s, json_t **out, st_error **err) {
  st_container *all = NULL;
  size_t n = 0;
  if (st_container_list(s, &all, &n, err) < 0)
    return -1;
  json_int_t running = 0, paused = 0, stopped = 0;
  for (size_t i = 0; i < n; i++) {
    st_container_refresh(s, &all[i]);
    if (all[i].state != ST_CT_RUNNING)
      stopped++;
    else if (st_container_paused(&all[i]))
      paused++;
    else
      running++;
  }
  st_containers_free(all, n);
  st_usage u;
  if (st_disk_usage(s, &u, err) < 0)
    return -1;
  size_t n_images = u.n_images;
  st_usage_clear(&u);
  struct utsname un;
  uname(&un);
  struct sysinfo si;
  sysinfo(&si);
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  cleanup_free char *os = os_release("PRETTY_NAME");
  cleanup_free char *os_ver = os_release("VERSION_ID");
  bool erofs = st_store_layer_driver_recorded(s) == ST_LAYER_EROFS;
  const char *root = st_store_root(s);
  json_t *driver_status = json_array();
  json_array_append_new(
      driver_status, json_pack("[s, s]", "Backing Filesystem", fs_name(root)));
  json_array_append_new(driver_status,
                        json_pack("[s, s]", "Layers",
                                  erofs ? "one EROFS file per layer (tar index)"
                                        : "one directory tree per layer"));
  json_t *runtimes = json_object();
  json_object_set_new(runtimes, "strata",
                      json_pack("{s:s}", "path", "(built in)"));
  static const char *const peers[] = {"crun", "runc", NULL};
  for (size_t i = 0; peers[i]; i++) {
    cleanup_free char *v = runtime_version(peers[i]);
    if (v)
      json_object_set_new(runtimes, peers[i],
                          json_pack("{s:s}", "path", peers[i]));
  }
  const st_reg_config *rc = NULL;
  st_error *ignored = NULL;
  if (st_reg_config_get(&rc, &ignored) < 0)
    st_error_free(ignored);
  json_t *security = json_array();
  json_array_append_new(security, json_string("name=seccomp,profile=builtin"));
  if (geteuid() != 0)
    json_array_append_new(security, json_string("name=rootless"));
  char mem[32];
  bytes_size((double)si.totalram * si.mem_unit, mem, sizeof(mem));
  json_t *d = json_object();
  json_object_set_new(d, "ID", json_string(""));
  json_object_set_new(d, "Containers", json_integer((json_int_t)n));
  json_object_set_new(d, "ContainersRunning", json_integer(running));
  json_object_set_new(d, "ContainersPaused", json_integer(paused));
  json_object_set_new(d, "ContainersStopped", json_integer(stopped));
  json_object_set_new(d, "Images", json_integer((json_int_t)n_images));
  json_object_set_new(d, "Driver", json_string(erofs ? "erofs" : "overlay2"));
  json_object_set_new(d, "DriverStatus", driver_status);
  json_object_set_new(d, "Plugins",
                      json_pack("{s:[s], s:[s, s, s], s:[s]}", "Volume",
                                "local", "Network", "bridge", "host", "null",
                                "Log", "json-file"));
  json_object_set_new(d, "LoggingDriver", json_string("json-file"));
  json_object_set_new(d, "CgroupDriver", json_string("cgroupfs"));
  char cgv[4];
  snprintf(cgv, sizeof(cgv), "%d", cgroup_version());
  json_object_set_new(d, "CgroupVersion", json_string(cgv));
  json_object_set_new(d, "KernelVersion", json_string(un.release));
  json_object_set_new(d, "OperatingSystem", json_string(os ? os : "Linux"));
  json_object_set_new(d, "OSVersion", json_string(os_ver ? os_ver : ""));
  json_object_set_new(d, "OSType", json_string("linux"));
  json_object_set_new(d, "Architecture", json_string(un.machine));
  json_object_set_new(d, "NCPU",
                      json_integer((json_int_t)sysconf(_SC_NPROCESSORS_ONLN)));
  json_object_set_new(
      d, "MemTotal",
      json_integer(
          (json_int_t)((unsigned long long)si.totalram * si.mem_unit)));
  json_object_set_new(d, "MemTotalHuman", json_string(mem));
  json_object_set_new(d, "DockerRootDir", json_string(root));
  json_object_set_new(d, "Name", json_string(host));
  json_object_set_new(d, "ServerVersion", json_string(STRATA_VERSION));
  json_object_set_new(d, "Runtimes", runtimes);
  json_object_set_new(d, "DefaultRuntime", json_string("strata"));
  json_object_set_new(d, "InitBinary", json_string("strata (built in)"));
  json_object_set_new(d, "SecurityOptions", security);
  json_object_set_new(d, "Debug", json_false());
  json_object_set_new(d, "ExperimentalBuild", json_false());
  json_object_set_new(d, "LiveRestoreEnabled", json_false());
  json_object_set_new(d, "RegistryConfig",
                      json_pack("{s:o, s:o}", "InsecureRegistryCIDRs",
                                str_array(rc ? rc->insecure : NULL), "Mirrors",
                                str_array(rc ? rc->mirrors : NULL)));
  *out = d;
  return 0;
}

static const char *jstr(json_t *d, const char *k) {
  const char *v = json_string_value(json_object_get(d, k));
  return v ? v : "";
}

static long long jint(json_t *d, const char *k) {
  return (long long)json_integer_value(json_object_get(d, k));
}

static void print_info(json_t *d) {
  printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: "
         "false\n\n",
         STRATA_VERSION);
  printf("Server:\n");
  printf(" Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: "
         "%lld\n",
         jint(d, "Containers"), jint(d, "ContainersRunning"),
         jint(d, "ContainersPaused"), jint(d, "ContainersStopped"));
  printf(" Images: %lld\n", jint(d, "Images"));
  printf(" Server Version: %s\n", jstr(d, "ServerVersion"));
  printf(" Storage Driver: %s\n", jstr(d, "Driver"));
  size_t i;
  json_t *kv;
  json_array_foreach(json_object_get(d, "DriverStatus"), i, kv)
      printf("  %s: %s\n", json_string_value(json_array_get(kv, 0)),
             json_string_value(json_array_get(kv, 1)));
  printf(" Logging Driver: %s\n", jstr(d, "LoggingDriver"));
  printf(" Cgroup Driver: %s\n", jstr(d, "CgroupDriver"));
  printf(" Cgroup Version: %s\n", jstr(d, "CgroupVersion"));
  printf(" Plugins:\n  Volume: local\n  Network: bridge host null\n  Log: "
         "json-file\n");
  printf(" Runtimes:");
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(d, "Runtimes"), k, v) printf(" %s", k);
  printf("\n Default Runtime: %s\n", jstr(d, "DefaultRuntime"));
  printf(" Init Binary: %s\n", jstr(d, "InitBinary"));
  printf(" Security Options:\n");
  json_array_foreach(json_object_get(d, "SecurityOptions"), i, v) {
    const char *o = json_string_value(v);
    if (strncmp(o, "name=seccomp", 12) == 0)
      printf("  seccomp\n   Profile: builtin\n");
    else
      printf("  %s\n", o + (strncmp(o, "name=", 5) == 0 ? 5 : 0));
  }
  printf(" Kernel Version: %s\n", jstr(d, "KernelVersion"));
  printf(" Operating System: %s\n", jstr(d, "OperatingSystem"));
  printf(" OSType: %s\n", jstr(d, "OSType"));
  printf(" Architecture: %s\n", jstr(d, "Architecture"));
  printf(" CPUs: %lld\n", jint(d, "NCPU"));
  printf(" Total Memory: %s\n", jstr(d, "MemTotalHuman"));
  printf(" Name: %s\n", jstr(d, "Name"));
  printf(" Docker Root Dir: %s\n", jstr(d, "DockerRootDir"));
  printf(" Debug Mode: false\n");
  printf(" Experimental: false\n");
  json_t *reg = json_object_get(d, "RegistryConfig");
  printf(" Insecure Registries:\n");
  json_array_foreach(json_object_get(reg, "InsecureRegistryCIDRs"), i, v)
      printf("  %s\n", json_string_value(v));
  json_t *mirrors = json_object_get(reg, "Mirrors");
  if (json_array_size(mirrors) > 0) {
    printf(" Registry Mirrors:\n");
    json_array_foreach(mirrors, i, v) printf("  %s\n", json_string_value(v));
  }
  printf(" Live Restore Enabled: false\n");
}

static int run_info(int argc, char **argv) {
  const char *format = NULL;
  int code = parse_format(argc, argv, &st_cmd_info, "info", &format);
  if (code >= 0)
    return code;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  json_t *d = NULL;
  if (info_doc(s, &d, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  if (format && *format)
    code =
        cli_print_one(d, strcmp(format, "json") == 0 ? "{{json .}}" : format);
  else
    print_info(d), code = 0;
  json_decref(d);
  return code;
}
