/* Registry settings from strata's config file, Docker's daemon.json keys:
 *
 *   {"insecure-registries": ["myreg:5000", "10.0.0.0/8"],
 *    "registry-mirrors": ["https://mirror.example:5000"]}
 *
 * The file is $STRATA_CONFIG when set (empty: no file), else
 * /etc/strata/daemon.json; a missing file means no settings. Other keys
 * are ignored, as strata has no daemon to configure.
 *
 * insecure-registries: a "host[:port]" or an IPv4 CIDR; such a registry is
 * tried over HTTPS without certificate checks, then plain HTTP
 * (`--tls-verify=false` for that registry only).
 * registry-mirrors: pulls from docker.io go to the first mirror instead
 * (its scheme is kept: an http:// mirror is spoken to in plain HTTP);
 * pushes still go to docker.io. */
#ifndef STRATA_REGISTRY_CONFIG_H
#define STRATA_REGISTRY_CONFIG_H

#include <stdbool.h>

#include "util/error.h"

typedef struct st_reg_config {
  char **insecure; /* NULL-terminated */
  char **mirrors;  /* NULL-terminated */
} st_reg_config;

/* The settings, read once per process. Returns 0 with *out pointing at
 * them (never freed), or < 0 when the file exists but cannot be read or
 * is not valid JSON of the right shape (EINVAL naming the file). */
int st_reg_config_get(const st_reg_config **out, st_error **err);

/* Whether domain ("host[:port]") is listed in insecure-registries. */
bool st_reg_config_insecure(const st_reg_config *c, const char *domain);

/* The first mirror's "host[:port]" for docker.io and whether it is plain
 * HTTP; false when there is none. */
bool st_reg_config_mirror(const st_reg_config *c, const char **host,
                          bool *http);

#endif
