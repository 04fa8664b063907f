/* The OCI distribution client: pull, push and login against registries
 * speaking the OCI distribution spec / Docker's registry v2 API.
 *
 * Transport is libcurl. A registry on localhost or 127.0.0.0/8 may answer
 * in plain HTTP (HTTPS is tried first, as Docker does); any other registry
 * needs HTTPS unless tls_verify is off. CA files come from the certs.d
 * directories (/etc/docker/certs.d/HOST[:PORT]/ca.crt and the containers
 * equivalent, or $STRATA_CERTS_D, a ':'-separated list of such roots).
 *
 * Credentials come from st_reg_opts, else from the auth files (see
 * registry/creds.h). Anonymous, Basic and Bearer token auth are handled
 * from the registry's WWW-Authenticate challenge; tokens are reused for the
 * scope they were issued for and fetched again when the registry refuses
 * them.
 *
 * Nothing here prints: progress goes through the st_reg_progress_fn the
 * caller gives, errors through the st_error contract.
 */
#ifndef STRATA_REGISTRY_H
#define STRATA_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

typedef enum st_reg_event_kind {
  ST_REG_PULLING_FROM,      /* text: tag or digest, repo: the repository */
  ST_REG_LAYER_EXISTS,      /* the store has this layer ("Already exists") */
  ST_REG_LAYER_WAITING,     /* queued behind other downloads */
  ST_REG_LAYER_DOWNLOADING, /* current / total bytes */
  ST_REG_LAYER_RETRYING,    /* text: why; current: the attempt number */
  ST_REG_LAYER_VERIFYING,
  ST_REG_LAYER_DOWNLOADED, /* "Download complete" */
  ST_REG_LAYER_PULL_COMPLETE,
  ST_REG_PUSH_REFERS,     /* repo: the repository pushed to */
  ST_REG_LAYER_PREPARING, /* compressing before push */
  ST_REG_LAYER_PUSHING,   /* current / total bytes */
  ST_REG_LAYER_PUSHED,
  ST_REG_LAYER_MOUNTED,        /* text: the repository it was mounted from */
  ST_REG_LAYER_ALREADY_PUSHED, /* "Layer already exists" */
  ST_REG_IMAGE_MISSING,        /* st_image_ensure is about to pull; text: the
                                  familiar reference ("busybox:latest") */
  ST_REG_LAYER_PUSH_WAITING,   /* queued behind other uploads ("Waiting") */
} st_reg_event_kind;

typedef struct st_reg_event {
  st_reg_event_kind kind;
  const char *digest; /* the layer's (blob) digest, or NULL */
  const char *text;
  const char *repo;
  uint64_t current, total;
} st_reg_event;

typedef void (*st_reg_progress_fn)(void *ctx, const st_reg_event *ev);

typedef struct st_reg_opts {
  bool tls_insecure;    /* --tls-verify=false: no certificate checks, and
                           plain HTTP allowed for every registry */
  const char *platform; /* "os/arch[/variant]"; NULL: linux/<host arch> */
  int max_concurrent;   /* parallel blob transfers; <= 0: 3 */
  const char *username; /* explicit credentials, or NULL for the auth files */
  const char *password;
  const char *compression; /* push: "gzip" (default) or "zstd" */
  st_reg_progress_fn progress;
  void *progress_ctx;
} st_reg_opts;

typedef struct st_pull_result {
  char id[ST_DIGEST_LEN];     /* image ID (config digest) */
  char digest[ST_DIGEST_LEN]; /* what the reference resolved to (an index's
                                 digest for a multi-platform image) */
  bool up_to_date;            /* the name already pointed at this image */
  char *name; /* normalized "repo:tag" or "repo@digest" pulled */
} st_pull_result;

/* `pull`: resolves ref in its registry (an index to the platform), fetches
 * the missing blobs in parallel, verifying each while it streams, and
 * records the image, its tag and its repo digest in one transaction. On
 * failure nothing is recorded (downloaded blobs are garbage for gc).
 * Errors: ENOENT (no such repository, tag or manifest), EACCES (refused
 * credentials), EIO (digest mismatch, corrupt data), EINVAL (a schema 1 or
 * unknown manifest), ECONNREFUSED and other transport failures. */
int st_registry_pull(st_store *s, const char *ref, const st_reg_opts *o,
                     st_pull_result *out, st_error **err);
void st_pull_result_clear(st_pull_result *r);

typedef struct st_push_result {
  char digest[ST_DIGEST_LEN]; /* manifest digest in the registry */
  int64_t size;               /* manifest bytes */
  char *tag;                  /* tag pushed */
  char *repo;                 /* normalized repository */
} st_push_result;

/* `push`: uploads what the registry lacks (layers compressed at push time
 * when stored uncompressed; the compressed blob is kept for the next push),
 * then the manifest, and records the repo digest. */
int st_registry_push(st_store *s, const char *ref, const st_reg_opts *o,
                     st_push_result *out, st_error **err);
void st_push_result_clear(st_push_result *r);

/* `pull -a`: the tags of the repository named by repo_ref ("host/repo",
 * a tag or digest in it is refused with EINVAL, as Docker does), in the
 * registry's order, following its Link pagination ($STRATA_REGISTRY_PAGE
 * asks for pages of that many tags). Free *tags with st_tags_free. */
int st_registry_list_tags(const char *repo_ref, const st_reg_opts *o,
                          char ***tags, size_t *n, st_error **err);
void st_tags_free(char **tags, size_t n);

/* When `run`, `create` (and later `build`) pull their image, as Docker's
 * --pull flag says. */
typedef enum st_pull_policy {
  ST_PULL_MISSING, /* pull when the store has no image of that name */
  ST_PULL_NEVER,   /* never pull */
  ST_PULL_ALWAYS,  /* pull every time (the registry's image wins) */
} st_pull_policy;

/* "missing", "never", "always" (Docker also accepts "" for missing).
 * Returns 0, or < 0 with EINVAL and Docker's message. */
int st_pull_policy_parse(const char *s, st_pull_policy *out, st_error **err);

/* Makes sure ref names an image in the store, pulling it as policy says.
 * Before pulling a missing image it emits ST_REG_IMAGE_MISSING (Docker's
 * "Unable to find image 'x:latest' locally"), then the pull's own events.
 * Returns 0 when the store's image is used without contacting a registry,
 * 1 after a pull (*out filled; st_pull_result_clear it), or < 0: ENOENT
 * "No such image: x" when the image is missing and policy is never, else
 * the errors of st_registry_pull. */
int st_image_ensure(st_store *s, const char *ref, st_pull_policy policy,
                    const st_reg_opts *o, st_pull_result *out, st_error **err);

/* `login`: checks username/password against the registry (Basic, or a
 * token from its Bearer realm). Returns 0 when the registry accepts them,
 * < 0 with EACCES when it refuses them. Does not store anything. */
int st_registry_login_check(const char *registry, const char *username,
                            const char *password, const st_reg_opts *o,
                            st_error **err);

/* Normalizes a registry argument of login/logout ("docker.io",
 * "https://host:5000/v2/") to the key Docker uses in config.json
 * ("https://index.docker.io/v1/", "host:5000"). NULL when out of memory. */
char *st_registry_auth_key(const char *registry);

#endif
