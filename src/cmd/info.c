/* strata info (system info): Docker's `docker info` layout. The "server"
 * is the store and this host: strata has no daemon. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "fmt/units.h"
#include "format.h"
#include "registry/config.h"
#include "runtime/runtime.h"
#include "store/layers.h"
#include "store/store.h"
#include "sysinfo.h"
#include "util/cleanup.h"

static int run_info(int argc, char **argv);

ST_COMMAND(info, "info|system info", run_info,
           "Display system-wide information",
           "\nUsage:  strata info [OPTIONS]\n\n"
           "Display system-wide information\n\n"
           "Aliases:\n"
           "  strata system info, strata info\n\n"
           "Options:\n"
           "  -f, --format string   Format output using a custom template:\n"
           "                        'json':             Print in JSON "
           "format\n"
           "                        'TEMPLATE':         Print output using "
           "the given Go template\n"
           "  -h, --help            Print usage\n");

/* ---- gathering -------------------------------------------------------- */

/* Containers by Docker's rule: paused before running before stopped. */
static void count_containers(st_store *s, json_t *info) {
  st_container *v = NULL;
  size_t n = 0;
  cleanup_error st_error *err = NULL;
  int64_t running = 0, paused = 0, stopped = 0;
  if (st_container_list(s, &v, &n, &err) < 0)
    n = 0;
  for (size_t i = 0; i < n; i++) {
    st_container_refresh(s, &v[i]);
    if (st_container_paused(&v[i]))
      paused++;
    else if (v[i].state == ST_CT_RUNNING)
      running++;
    else
      stopped++;
  }
  st_containers_free(v, n);
  json_object_set_new(info, "Containers", json_integer((json_int_t)n));
  json_object_set_new(info, "ContainersRunning", json_integer(running));
  json_object_set_new(info, "ContainersPaused", json_integer(paused));
  json_object_set_new(info, "ContainersStopped", json_integer(stopped));
}

/* Images as Docker counts them: every image, tagged or not, intermediate
 * ones included; the build cache's step results are not images to users
 * (Docker keeps them in BuildKit's cache). */
static int64_t count_images(st_store *s) {
  st_image_row *rows = NULL;
  size_t n = 0;
  cleanup_error st_error *err = NULL;
  if (st_image_list(s, &rows, &n, &err) < 0)
    return 0;
  /* a set of IDs: an image has a row per tag */
  json_t *seen = json_object();
  for (size_t i = 0; i < n; i++)
    if (!rows[i].build_cache)
      json_object_set_new(seen, rows[i].img.id, json_true());
  int64_t count = (int64_t)json_object_size(seen);
  json_decref(seen);
  st_image_rows_free(rows, n);
  return count;
}

/* Docker's names for the file system under its root (graphdriver's
 * FsMagic table). */
static const char *backing_fs(const char *path) {
  static const struct {
    unsigned long magic;
    const char *name;
  } names[] = {
      {0xEF53, "extfs"},         {0x58465342, "xfs"},
      {0x9123683E, "btrfs"},     {0x01021994, "tmpfs"},
      {0x794C7630, "overlayfs"}, {0x2FC12FC1, "zfs"},
      {0x6969, "nfs"},           {0x73717368, "squashfs"},
      {0x65735546, "fuse"},      {0x52654973, "reiserfs"},
      {0xE0F5E1E2, "erofs"},     {0xFF534D42, "cifs"},
  };
  struct statfs sf;
  if (statfs(path, &sf) < 0)
    return "<unknown>";
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if ((unsigned long)sf.f_type == names[i].magic)
      return names[i].name;
  return "<unknown>";
}

static json_t *pair(const char *k, const char *v) {
  return json_pack("[s, s]", k, v);
}

/* Driver and DriverStatus: the store's layer backend by Docker's name for
 * it (directory layers stacked with overlayfs are overlay2). */
static void storage_driver(st_store *s, json_t *info) {
  st_layer_driver d = st_store_layer_driver_recorded(s);
  json_object_set_new(info, "Driver",
                      json_string(d == ST_LAYER_EROFS ? "erofs" : "overlay2"));
  json_t *status = json_array();
  json_array_append_new(
      status, pair("Backing Filesystem", backing_fs(st_store_root(s))));
  json_object_set_new(info, "DriverStatus", status);
}

static json_t *string_array(const char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *plugins(void) {
  static const char *const volume[] = {"local"};
  static const char *const network[] = {"bridge", "host", "null"};
  static const char *const log[] = {"json-file"};
  return json_pack("{s:o, s:o, s:n, s:o}", "Volume", string_array(volume, 1),
                   "Network", string_array(network, 3), "Authorization", "Log",
                   string_array(log, 1));
}

static const char *cgroup_version(void) {
  struct statfs sf;
  if (statfs("/sys/fs/cgroup", &sf) == 0 &&
      (unsigned long)sf.f_type == 0x63677270UL) /* CGROUP2_SUPER_MAGIC */
    return "2";
  return "1";
}

/* Runtimes: strata's executor (the default) and the OCI runtimes on PATH,
 * each {"path": ...} as Docker's JSON has them. */
static json_t *runtimes(void) {
  json_t *r = json_object();
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  self[len > 0 ? len : 0] = '\0';
  json_object_set_new(r, SYSINFO_BUILTIN_RUNTIME,
                      json_pack("{s:s}", "path", len > 0 ? self : "strata"));
  json_t *oci = sysinfo_oci_runtimes();
  size_t i;
  json_t *e;
  json_array_foreach(oci, i, e) {
    json_object_set_new(r, json_string_value(json_object_get(e, "Name")),
                        json_pack("{s:O}", "path", json_object_get(e, "Path")));
  }
  json_decref(oci);
  return r;
}

static json_t *security_options(void) {
  json_t *a = json_array();
  json_array_append_new(a, json_string("name=seccomp,profile=builtin"));
  if (geteuid() != 0)
    json_array_append_new(a, json_string("name=rootless"));
  return a;
}

/* KEY's value in an os-release file ("" when absent), unquoted. */
static char *os_release(const char *key) {
  cleanup_file FILE *f = fopen("/etc/os-release", "re");
  if (f == NULL)
    f = fopen("/usr/lib/os-release", "re");
  char line[512];
  size_t klen = strlen(key);
  while (f && fgets(line, sizeof(line), f)) {
    if (strncmp(line, key, klen) != 0 || line[klen] != '=')
      continue;
    char *v = line + klen + 1;
    v[strcspn(v, "\n")] = '\0';
    size_t vlen = strlen(v);
    if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
      v[vlen - 1] = '\0';
      v++;
    }
    return strdup(v);
  }
  return strdup("");
}

static int64_t mem_total(void) {
  cleanup_file FILE *f = fopen("/proc/meminfo", "re");
  char line[256];
  long long kb;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
      return (int64_t)kb * 1024;
  return 0;
}

static int ncpu(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static void host_facts(json_t *info) {
  struct utsname u;
  if (uname(&u) < 0)
    memset(&u, 0, sizeof(u));
  cleanup_free char *pretty = os_release("PRETTY_NAME");
  cleanup_free char *version = os_release("VERSION_ID");
  char host[256] = "";
  if (gethostname(host, sizeof(host) - 1) < 0)
    host[0] = '\0';
  json_object_set_new(info, "KernelVersion", json_string(u.release));
  json_object_set_new(info, "OperatingSystem",
                      json_string(*pretty ? pretty : "Linux"));
  json_object_set_new(info, "OSVersion", json_string(version));
  json_object_set_new(info, "OSType", json_string("linux"));
  json_object_set_new(info, "Architecture", json_string(u.machine));
  json_object_set_new(info, "NCPU", json_integer(ncpu()));
  json_object_set_new(info, "MemTotal", json_integer(mem_total()));
  json_object_set_new(info, "Name", json_string(host));
}

/* The store's ID, as Docker's engine-id: a UUID made the first time it is
 * asked for and kept in <root>/engine-id. Two first callers at once agree:
 * the file is linked into place, never overwritten. "" when the store is
 * read-only. */
static char *engine_id(const char *root) {
  cleanup_free char *path = NULL;
  cleanup_free char *tmp = NULL;
  char id[64] = "";
  if (asprintf(&path, "%s/engine-id", root) < 0 ||
      asprintf(&tmp, "%s/engine-id.%d", root, (int)getpid()) < 0)
    return strdup("");
  for (int attempt = 0; attempt < 2; attempt++) {
    cleanup_file FILE *f = fopen(path, "re");
    if (f && fgets(id, sizeof(id), f)) {
      id[strcspn(id, "\n")] = '\0';
      if (*id)
        return strdup(id);
    }
    cleanup_file FILE *u = fopen("/proc/sys/kernel/random/uuid", "re");
    if (u == NULL || fgets(id, sizeof(id), u) == NULL)
      return strdup("");
    cleanup_file FILE *out = fopen(tmp, "wxe");
    if (out == NULL)
      return strdup("");
    bool ok =
        fputs(id, out) >= 0 && fflush(out) == 0 && fsync(fileno(out)) == 0;
    if (ok && link(tmp, path) < 0 && errno != EEXIST)
      ok = false;
    unlink(tmp);
    if (!ok)
      return strdup("");
  }
  return strdup("");
}

/* RegistryConfig and its text lines, from the settings file the registry
 * code reads (registry/config.h). 127.0.0.0/8 is always insecure, as in
 * Docker: strata speaks plain HTTP to loopback registries. */
static json_t *registry_config(void) {
  const st_reg_config *c = NULL;
  cleanup_error st_error *err = NULL;
  if (st_reg_config_get(&c, &err) < 0)
    c = NULL;
  json_t *cidrs = json_array();
  json_t *index = json_object();
  json_t *mirrors = json_array();
  json_array_append_new(cidrs, json_string("127.0.0.0/8"));
  for (size_t i = 0; c && c->insecure && c->insecure[i]; i++) {
    const char *r = c->insecure[i];
    if (strchr(r, '/'))
      json_array_append_new(cidrs, json_string(r));
    else
      json_object_set_new(index, r,
                          json_pack("{s:s, s:[], s:b, s:b}", "Name", r,
                                    "Mirrors", "Secure", 0, "Official", 0));
  }
  for (size_t i = 0; c && c->mirrors && c->mirrors[i]; i++)
    json_array_append_new(mirrors, json_string(c->mirrors[i]));
  json_object_set_new(index, "docker.io",
                      json_pack("{s:s, s:O, s:b, s:b}", "Name", "docker.io",
                                "Mirrors", mirrors, "Secure", 1, "Official",
                                1));
  return json_pack("{s:o, s:o, s:o}", "InsecureRegistryCIDRs", cidrs,
                   "IndexConfigs", index, "Mirrors", mirrors);
}

static json_t *gather(st_store *s) {
  json_t *info = json_object();
  cleanup_free char *id = engine_id(st_store_root(s));
  json_object_set_new(info, "ID", json_string(id));
  count_containers(s, info);
  json_object_set_new(info, "Images", json_integer(count_images(s)));
  storage_driver(s, info);
  json_object_set_new(info, "Plugins", plugins());
  json_object_set_new(info, "Debug", json_boolean(cli.log_level >= LOG_DEBUG));
  json_object_set_new(info, "LoggingDriver", json_string("json-file"));
  json_object_set_new(info, "CgroupDriver", json_string("cgroupfs"));
  json_object_set_new(info, "CgroupVersion", json_string(cgroup_version()));
  host_facts(info);
  json_object_set_new(info, "IndexServerAddress",
                      json_string("https://index.docker.io/v1/"));
  json_object_set_new(info, "RegistryConfig", registry_config());
  json_object_set_new(info, "DockerRootDir", json_string(st_store_root(s)));
  json_object_set_new(info, "ExperimentalBuild", json_false());
  json_object_set_new(info, "ServerVersion", json_string(STRATA_VERSION));
  json_object_set_new(info, "Runtimes", runtimes());
  json_object_set_new(info, "DefaultRuntime",
                      json_string(SYSINFO_BUILTIN_RUNTIME));
  json_object_set_new(info, "LiveRestoreEnabled", json_false());
  json_object_set_new(info, "InitBinary",
                      json_string("strata-init (built-in)"));
  json_object_set_new(info, "SecurityOptions", security_options());
  json_object_set_new(info, "Warnings", json_array());
  json_object_set_new(info, "ClientInfo",
                      json_pack("{s:b, s:s, s:s, s:[], s:[]}", "Debug",
                                cli.log_level >= LOG_DEBUG, "Version",
                                STRATA_VERSION, "Context", "default", "Plugins",
                                "Warnings"));
  return info;
}

/* ---- Docker's text layout -------------------------------------------- */

#define STR(o, k) json_string_value(json_object_get(o, k))
#define INT(o, k) ((long long)json_integer_value(json_object_get(o, k)))

static void print_client(json_t *ci) {
  printf("Client: strata\n");
  printf(" Version:    %s\n", STR(ci, "Version"));
  printf(" Context:    %s\n", STR(ci, "Context"));
  printf(" Debug Mode: %s\n",
         json_is_true(json_object_get(ci, "Debug")) ? "true" : "false");
}

/* "  Name: a b c" for a list of strings. */
static void print_list(const char *indent, const char *name, json_t *a) {
  size_t i;
  json_t *v;
  printf("%s%s:", indent, name);
  json_array_foreach(a, i, v) printf(" %s", json_string_value(v));
  putchar('\n');
}

static void print_counts(json_t *info) {
  printf(" Containers: %lld\n", INT(info, "Containers"));
  printf("  Running: %lld\n", INT(info, "ContainersRunning"));
  printf("  Paused: %lld\n", INT(info, "ContainersPaused"));
  printf("  Stopped: %lld\n", INT(info, "ContainersStopped"));
  printf(" Images: %lld\n", INT(info, "Images"));
  printf(" Server Version: %s\n", STR(info, "ServerVersion"));
}

static void print_storage(json_t *info) {
  printf(" Storage Driver: %s\n", STR(info, "Driver"));
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(info, "DriverStatus"), i, p) {
    printf("  %s: %s\n", json_string_value(json_array_get(p, 0)),
           json_string_value(json_array_get(p, 1)));
  }
  printf(" Logging Driver: %s\n", STR(info, "LoggingDriver"));
  printf(" Cgroup Driver: %s\n", STR(info, "CgroupDriver"));
  printf(" Cgroup Version: %s\n", STR(info, "CgroupVersion"));
  json_t *pl = json_object_get(info, "Plugins");
  printf(" Plugins:\n");
  print_list("  ", "Volume", json_object_get(pl, "Volume"));
  print_list("  ", "Network", json_object_get(pl, "Network"));
  print_list("  ", "Log", json_object_get(pl, "Log"));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_runtimes(json_t *info) {
  json_t *r = json_object_get(info, "Runtimes");
  const char *names[16];
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(r, k, v) {
    if (n < sizeof(names) / sizeof(names[0]))
      names[n++] = k;
  }
  qsort(names, n, sizeof(names[0]), cmp_str);
  printf(" Runtimes:");
  for (size_t i = 0; i < n; i++)
    printf(" %s", names[i]);
  putchar('\n');
  printf(" Default Runtime: %s\n", STR(info, "DefaultRuntime"));
  printf(" Init Binary: %s\n", STR(info, "InitBinary"));
}

/* "name=seccomp,profile=builtin" -> "  seccomp\n   Profile: builtin". */
static void print_security(json_t *info) {
  printf(" Security Options:\n");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(info, "SecurityOptions"), i, v) {
    const char *opt = json_string_value(v);
    for (const char *kv = opt; kv && *kv;) {
      size_t len = strcspn(kv, ",");
      const char *eq = memchr(kv, '=', len);
      if (eq && (size_t)(eq - kv) == 4 && strncmp(kv, "name", 4) == 0)
        printf("  %.*s\n", (int)(len - 5), eq + 1);
      else if (eq && eq > kv)
        printf("   %c%.*s: %.*s\n", toupper((unsigned char)kv[0]),
               (int)(eq - kv - 1), kv + 1, (int)(len - (size_t)(eq - kv) - 1),
               eq + 1);
      kv += len;
      if (*kv == ',')
        kv++;
    }
  }
}

static void print_host(json_t *info) {
  printf(" Kernel Version: %s\n", STR(info, "KernelVersion"));
  printf(" Operating System: %s\n", STR(info, "OperatingSystem"));
  printf(" OSType: %s\n", STR(info, "OSType"));
  printf(" Architecture: %s\n", STR(info, "Architecture"));
  printf(" CPUs: %lld\n", INT(info, "NCPU"));
  cleanup_free char *mem = st_bytes_size(INT(info, "MemTotal"));
  printf(" Total Memory: %s\n", mem ? mem : "0B");
  printf(" Name: %s\n", STR(info, "Name"));
  printf(" ID: %s\n", STR(info, "ID"));
  printf(" Docker Root Dir: %s\n", STR(info, "DockerRootDir"));
  printf(" Debug Mode: %s\n",
         json_is_true(json_object_get(info, "Debug")) ? "true" : "false");
  printf(" Experimental: %s\n",
         json_is_true(json_object_get(info, "ExperimentalBuild")) ? "true"
                                                                  : "false");
}

/* Docker lists the insecure registries by name, then the CIDRs, and the
 * mirrors only when there are some. */
static void print_registries(json_t *info) {
  json_t *rc = json_object_get(info, "RegistryConfig");
  printf(" Insecure Registries:\n");
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(rc, "IndexConfigs"), k, v) {
    if (!json_is_true(json_object_get(v, "Secure")))
      printf("  %s\n", k);
  }
  size_t i;
  json_array_foreach(json_object_get(rc, "InsecureRegistryCIDRs"), i, v) {
    printf("  %s\n", json_string_value(v));
  }
  json_t *mirrors = json_object_get(rc, "Mirrors");
  if (json_array_size(mirrors) > 0) {
    printf(" Registry Mirrors:\n");
    json_array_foreach(mirrors, i, v) printf("  %s\n", json_string_value(v));
  }
  printf(" Live Restore Enabled: %s\n",
         json_is_true(json_object_get(info, "LiveRestoreEnabled")) ? "true"
                                                                   : "false");
}

static void print_text(json_t *info) {
  print_client(json_object_get(info, "ClientInfo"));
  printf("\nServer:\n");
  print_counts(info);
  print_storage(info);
  print_runtimes(info);
  print_security(info);
  print_host(info);
  print_registries(info);
}

static int run_info(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *format = NULL;
  int c;
  while ((c = cli_getopt(argc, argv, "f:h", opts)) != -1) {
    switch (c) {
    case 'f':
      format = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_info);
    default:
      return cli_bad_flag("info");
    }
  }
  if (optind < argc)
    return cli_bad_usage("info", "\"strata info\" accepts no arguments.\n"
                                 "Usage:  strata info [OPTIONS]");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  json_t *info = gather(s);
  int code = 0;
  if (format && *format)
    code = cli_print_one(info,
                         strcmp(format, "json") == 0 ? "{{json .}}" : format);
  else
    print_text(info);
  json_decref(info);
  return code;
}
