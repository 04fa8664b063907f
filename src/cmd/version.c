/* strata version: Docker's `docker version` layout. There is no daemon: the
 * Server block describes the engine built into this binary and the OCI
 * runtimes it can hand containers to. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli.h"
#include "config.h"
#include "fmt/template.h"
#include "format.h"
#include "git_commit.h"
#include "sysinfo.h"

static int run_version(int argc, char **argv);

ST_COMMAND(version, "version", run_version,
           "Show the strata version information",
           "\nUsage:  strata version [OPTIONS]\n\n"
           "Show the strata version information\n\n"
           "Options:\n"
           "  -f, --format string   Format output using a custom template:\n"
           "                        'json':             Print in JSON "
           "format\n"
           "                        'TEMPLATE':         Print output using "
           "the given Go template\n"
           "  -h, --help            Print usage\n");

/* strata speaks no Docker Engine API: there is no daemon to speak it. */
#define API_VERSION "none (daemonless)"

static json_t *client_json(void) {
  return json_pack("{s:{s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                   "Platform", "Name", "strata", "Version", STRATA_VERSION,
                   "ApiVersion", API_VERSION, "DefaultAPIVersion", API_VERSION,
                   "GitCommit", STRATA_GIT_COMMIT, "GoVersion",
                   sysinfo_compiler(), "Os", "linux", "Arch", sysinfo_goarch(),
                   "BuildTime", sysinfo_built(), "Context", "default");
}

static json_t *component(const char *name, const char *version,
                         json_t *details) {
  return json_pack("{s:s, s:s, s:o}", "Name", name, "Version", version,
                   "Details", details);
}

static json_t *server_json(void) {
  struct utsname u;
  const char *kernel = uname(&u) == 0 ? u.release : "";
  json_t *components = json_array();
  json_array_append_new(
      components,
      component("Engine (daemonless)", STRATA_VERSION,
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                          "ApiVersion", API_VERSION, "Arch", sysinfo_goarch(),
                          "BuildTime", sysinfo_built(), "Experimental", "false",
                          "GitCommit", STRATA_GIT_COMMIT, "GoVersion",
                          sysinfo_compiler(), "KernelVersion", kernel, "Os",
                          "linux")));
  json_t *oci = sysinfo_oci_runtimes();
  size_t i;
  json_t *r;
  json_array_foreach(oci, i, r) {
    json_array_append_new(
        components, component(json_string_value(json_object_get(r, "Name")),
                              json_string_value(json_object_get(r, "Version")),
                              json_pack("{s:O}", "GitCommit",
                                        json_object_get(r, "GitCommit"))));
  }
  json_decref(oci);
  /* the executor a container gets without --runtime, and --init's init */
  json_array_append_new(
      components,
      component(SYSINFO_BUILTIN_RUNTIME " (built-in executor)", STRATA_VERSION,
                json_pack("{s:s}", "GitCommit", "")));
  json_array_append_new(components,
                        component("strata-init (built-in)", STRATA_VERSION,
                                  json_pack("{s:s}", "GitCommit", "")));
  return json_pack("{s:{s:s}, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                   "s:s}",
                   "Platform", "Name", "strata", "Components", components,
                   "Version", STRATA_VERSION, "ApiVersion", API_VERSION,
                   "GitCommit", STRATA_GIT_COMMIT, "GoVersion",
                   sysinfo_compiler(), "Os", "linux", "Arch", sysinfo_goarch(),
                   "KernelVersion", kernel, "Experimental", "false",
                   "BuildTime", sysinfo_built());
}

/* What templates see: Go's field names (APIVersion where the JSON says
 * ApiVersion), with the JSON encoding kept for {{json .}}. */
static json_t *field_view(json_t *j) {
  json_t *f = json_deep_copy(j);
  json_t *api = json_object_get(f, "ApiVersion");
  if (api) {
    json_object_set(f, "APIVersion", api);
    json_object_del(f, "ApiVersion");
  }
  json_object_set(f, ST_TPL_JSON_FORM, j);
  return f;
}

static void print_pair(const char *key, const char *value) {
  printf("%-19s %s\n", key, value);
}

static void print_client(json_t *c) {
#define S(k) json_string_value(json_object_get(c, k))
  printf("Client: %s\n", json_string_value(json_object_get(
                             json_object_get(c, "Platform"), "Name")));
  print_pair(" Version:", S("Version"));
  print_pair(" API version:", S("ApiVersion"));
  print_pair(" Go version:", S("GoVersion"));
  if (*S("GitCommit"))
    print_pair(" Git commit:", S("GitCommit"));
  print_pair(" Built:", S("BuildTime"));
  printf("%-19s %s/%s\n", " OS/Arch:", S("Os"), S("Arch"));
  print_pair(" Context:", S("Context"));
#undef S
}

/* Docker's layout of the Server block: the engine's details, then each
 * component's version and details (GitCommit). */
static void print_server(json_t *sv) {
  printf("\nServer: %s\n", json_string_value(json_object_get(
                               json_object_get(sv, "Platform"), "Name")));
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(sv, "Components"), i, c) {
    json_t *d = json_object_get(c, "Details");
#define D(k) json_string_value(json_object_get(d, k))
    printf(" %s:\n", json_string_value(json_object_get(c, "Name")));
    print_pair("  Version:", json_string_value(json_object_get(c, "Version")));
    if (i == 0) {
      print_pair("  API version:", D("ApiVersion"));
      print_pair("  Go version:", D("GoVersion"));
      if (*D("GitCommit"))
        print_pair("  Git commit:", D("GitCommit"));
      print_pair("  Built:", D("BuildTime"));
      printf("%-19s %s/%s\n", "  OS/Arch:", D("Os"), D("Arch"));
      print_pair("  Experimental:", D("Experimental"));
    } else if (D("GitCommit") && *D("GitCommit")) {
      print_pair("  GitCommit:", D("GitCommit"));
    }
#undef D
  }
}

static int run_version(int argc, char **argv) {
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
      return cli_usage(&st_cmd_version);
    default:
      return cli_bad_flag("version");
    }
  }
  if (optind < argc)
    return cli_bad_usage("version", "\"strata version\" accepts no arguments.\n"
                                    "Usage:  strata version [OPTIONS]");
  json_t *client = client_json();
  json_t *server = server_json();
  int code = 0;
  if (format && *format) {
    if (strcmp(format, "json") == 0)
      format = "{{json .}}";
    json_t *dot = json_pack("{s:o, s:o}", "Client", field_view(client),
                            "Server", field_view(server));
    json_object_set_new(
        dot, ST_TPL_JSON_FORM,
        json_pack("{s:O, s:O}", "Client", client, "Server", server));
    code = cli_print_one(dot, format);
    json_decref(dot);
  } else {
    print_client(client);
    print_server(server);
  }
  json_decref(client);
  json_decref(server);
  return code;
}
