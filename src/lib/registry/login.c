/* `login`: do the registry and its token service accept these
 * credentials? */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"
#include "util/cleanup.h"

int st_registry_login_check(const char *registry, const char *username,
                            const char *password, const st_reg_opts *o,
                            st_error **err) {
  cleanup_free char *key = st_registry_auth_key(registry);
  if (key == NULL)
    return st_error_errno(err, ENOMEM, "login");
  /* The host[:port] to talk to: the key without scheme and path. */
  const char *h = key;
  if (strncmp(h, "https://", 8) == 0)
    h += 8;
  cleanup_free char *domain = strndup(h, strcspn(h, "/"));
  if (domain == NULL)
    return st_error_errno(err, ENOMEM, "login");
  if (strcmp(domain, "index.docker.io") == 0) {
    free(domain);
    if ((domain = strdup("docker.io")) == NULL)
      return st_error_errno(err, ENOMEM, "login");
  }
  st_reg_opts opts = o ? *o : (st_reg_opts){0};
  opts.username = username;
  opts.password = password;
  cleanup_client st_reg_client *c = NULL;
  if (st_reg_client_new(domain, "", "pull", &opts, &c, err) < 0)
    return -1;
  /* A token for no particular repository, as Docker asks for at login. */
  free(c->scope);
  c->scope = NULL;
  if (st_reg_ping(c, err) < 0)
    return -1;
  st_http_resp resp;
  st_http_resp_init(&resp, 1u << 20);
  int r = st_reg_request(c, "GET", "/v2/", NULL, NULL, &resp, err);
  if (r == 0 && resp.status != 200)
    r = st_reg_status_error(c, &resp, err, "login to %s", domain);
  st_http_resp_clear(&resp);
  return r;
}
