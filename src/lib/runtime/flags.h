/* Docker's rules for some `run`/`create` flags (--ulimit, --device,
 * --sysctl, --expose, --pid/--ipc/--uts, --platform), shared by the CLI,
 * which refuses a bad value as Docker's flag parser does, and the spec
 * generator. Messages are Docker's. */
#ifndef STRATA_RUNTIME_FLAGS_H
#define STRATA_RUNTIME_FLAGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"
#include "util/error.h"

/* --ulimit NAME=SOFT[:HARD]: HARD defaults to SOFT, -1 is unlimited. */
typedef struct st_ulimit {
  const char *name; /* static: "nofile" ... */
  int resource;     /* RLIMIT_* */
  int64_t soft, hard;
} st_ulimit;
int st_ulimit_parse(const char *v, st_ulimit *out, st_error **err);

/* --device HOST[:CONTAINER][:PERMS]: Docker's flag check (EINVAL, its
 * message), then the split (pointers into buf, which must hold
 * strlen(v) + 1 bytes). PERMS: some of r, w, m (default rwm). */
int st_device_check(const char *v, st_error **err);
typedef struct st_device_map {
  const char *host, *ctr, *perms;
} st_device_map;
int st_device_split(const char *v, char *buf, st_device_map *out,
                    st_error **err);

/* --sysctl K=V: Docker's flag check (only namespaced keys). */
int st_sysctl_check(const char *kv, st_error **err);

/* --expose PORT[-END][/PROTO]: adds "PORT/proto" keys to ports (an
 * object). EINVAL with Docker's message. */
int st_expose_add(const char *v, json_t *ports, st_error **err);

/* --pid (host, container:NAME), --ipc (private, shareable, none, host,
 * container:NAME), --uts (host): EINVAL with Docker's message when the
 * mode is none of them; which is "pid", "ipc" or "uts". */
int st_ns_mode_check(const char *which, const char *mode, st_error **err);

/* --platform os[/arch[/variant]] (or an architecture alone), as
 * containerd normalizes it (x86_64 is amd64, aarch64 arm64, ...); the
 * host's architecture when none is given. */
typedef struct st_platform {
  char os[32], arch[32], variant[16];
} st_platform;
int st_platform_parse(const char *v, st_platform *out, st_error **err);
/* "os/arch[/variant]" */
void st_platform_format(const st_platform *p, char *buf, size_t size);
/* Whether the store has an image ref whose platform is not platform
 * (Docker then pulls that platform's instead, --pull missing). */
bool st_image_platform_differs(st_store *s, const char *ref,
                               const char *platform);

/* A variant missing on either side matches any. */
bool st_platform_matches(const st_platform *want, const st_platform *have);

#endif
