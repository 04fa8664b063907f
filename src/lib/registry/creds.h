/* Registry credentials, where Docker and the containers tools keep them.
 *
 * Lookup order for a registry (key as st_registry_auth_key gives it):
 *   1. $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json;
 *   2. $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
 * In each file: credHelpers[key] names a docker-credential-<name> helper,
 * else credsStore names the helper for every registry, else auths[key]
 * holds "auth": base64("user:password"). auths keys written as URLs
 * ("https://host/v1/") match their host.
 *
 * login/logout write the Docker file (2.), through its helper when it has
 * one, keeping every other key of the file as it was.
 */
#ifndef STRATA_REGISTRY_CREDS_H
#define STRATA_REGISTRY_CREDS_H

#include "util/error.h"

/* Finds credentials for key. Returns 1 with *user and *password
 * (malloc'd), 0 when there are none, < 0 on error (an unreadable or invalid
 * file, a failing helper). */
int st_creds_lookup(const char *key, char **user, char **password,
                    st_error **err);

/* Stores credentials for key; *where (malloc'd, may be NULL) receives the
 * file or helper used. */
int st_creds_store(const char *key, const char *user, const char *password,
                   char **where, st_error **err);

/* Removes credentials for key from the Docker file (or its helper) and the
 * containers auth file. Returns 1 when some were removed, 0 when there were
 * none, < 0 on error. */
int st_creds_erase(const char *key, st_error **err);

/* Path of the Docker config file (malloc'd), or NULL when out of memory. */
char *st_creds_docker_config_path(void);

#endif
