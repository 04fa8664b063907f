/* Registry settings from strata's config file, Docker's daemon.json keys:
 *
 *   {"insecure-registries": ["myreg:5000", "10.0.0.0/8"],
 *    "registry-mirrors": ["https://mirror.example:5000"],
 *    "max-concurrent-uploads": 3, "max-concurrent-downloads": 3}
 *
 * The file is $STRATA_CONFIG when set (empty: no file), else
 * /etc/strata/daemon.json; a missing file means no settings. Other keys
 * are ignored, as strata has no daemon to configure.
 *
 * insecure-registries: a "host[:port]" or an IPv4 CIDR; such a registry is
 * tried over HTTPS without certificate checks, then plain HTTP
 * (`--tls-verify=false` for that registry only).
 * registry-mirrors: pulls from docker.io go to the mirrors in turn (their
 * scheme is kept: an http:// mirror is spoken to in plain HTTP), then to
 * docker.io itself when every mirror failed, as Docker does; pushes still
 * go to docker.io.
 * max-concurrent-uploads / -downloads: parallel blob transfers of push /
 * pull when the command line does not say (default 3, as Docker's). */
#ifndef STRATA_REGISTRY_CONFIG_H
#define STRATA_REGISTRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct st_reg_config {
  char **insecure;      /* NULL-terminated */
  char **mirrors;       /* NULL-terminated */
  int max_uploads;      /* 0: not set */
  int max_downloads;    /* 0: not set */
  char *storage_driver; /* "storage-driver" (layer/backend.h); NULL: unset */
} st_reg_config;

/* The settings, read once per process. Returns 0 with *out pointing at
 * them (never freed), or < 0 when the file exists but cannot be read or
 * is not valid JSON of the right shape (EINVAL naming the file). */
int st_reg_config_get(const st_reg_config **out, st_error **err);

/* Whether domain ("host[:port]") is listed in insecure-registries. */
bool st_reg_config_insecure(const st_reg_config *c, const char *domain);

/* Mirror i's "host[:port]" for docker.io and whether it is plain HTTP;
 * false when there is no mirror i. */
bool st_reg_config_mirror(const st_reg_config *c, size_t i, const char **host,
                          bool *http);
/* How many mirrors there are. */
size_t st_reg_config_n_mirrors(const st_reg_config *c);

#endif
