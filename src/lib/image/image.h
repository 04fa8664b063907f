/* Images as OCI/Docker documents: configs, manifests, and the operations
 * that make or remove whole images on top of the store. */
#ifndef STRATA_IMAGE_H
#define STRATA_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

/* jansson's own json_decrefp releases a json_t* at scope exit. */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

#define ST_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define ST_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define ST_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define ST_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define ST_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define ST_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define ST_MT_DOCKER_MANIFEST                                                  \
  "application/vnd.docker.distribution.manifest.v2+json"
#define ST_MT_DOCKER_LIST                                                      \
  "application/vnd.docker.distribution.manifest.list.v2+json"
#define ST_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define ST_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define ST_MT_DOCKER_LAYER_GZIP                                                \
  "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The GOARCH name of this machine ("amd64", "arm64", ...). */
const char *st_host_arch(void);

/* Reads and parses an image's config blob (digest == image ID). */
int st_config_load(st_store *s, const char *id, json_t **config,
                   st_error **err);

/* Builds an OCI manifest for a config and its layers, serialized compactly
 * (its bytes are what gets stored and digested). */
int st_manifest_build(const char *config_digest, size_t config_size,
                      const st_layer_rec *layers, size_t n, char **out,
                      size_t *out_len, st_error **err);

/* Stores config bytes and a manifest built for them and records the image
 * with its tags, in one transaction. id_out receives the image ID. */
int st_image_store(st_store *s, const char *config, size_t config_len,
                   const st_layer_rec *layers, size_t n_layers,
                   const char *parent, const char *const *tags, size_t n_tags,
                   char id_out[ST_DIGEST_LEN], st_error **err);

/* Applies one Dockerfile-style change ("CMD [\"sh\"]", "ENV A=b",
 * "LABEL k=v", "EXPOSE 80", "WORKDIR /x", "USER u", "ENTRYPOINT ...",
 * "VOLUME /v", "STOPSIGNAL SIGTERM", "ONBUILD ...") to the "config" object
 * of an image config. EINVAL names the bad instruction. */
int st_config_apply_change(json_t *container_config, const char *change,
                           st_error **err);

typedef struct st_import_opts {
  const char *const *changes; /* --change instructions */
  size_t n_changes;
  const char *message;  /* --message, or NULL */
  const char *source;   /* recorded as "Imported from <source>" */
  const char *platform; /* "os/arch[/variant]" or NULL for the host */
} st_import_opts;

/* `strata import`: one layer from a tarball on fd, a new config, tags. */
int st_image_import(st_store *s, int fd, const st_import_opts *o,
                    const char *const *tags, size_t n_tags,
                    char id_out[ST_DIGEST_LEN], st_error **err);

#endif

/* ---- rmi ---------------------------------------------------------------- */

typedef struct st_rmi_result {
  char **untagged; /* normalized names removed, in order */
  size_t n_untagged;
  char deleted[ST_DIGEST_LEN]; /* image ID deleted, or "" */
  /* chain IDs of the layers the deletion freed, top first */
  char (*layers)[ST_DIGEST_LEN];
  size_t n_layers;
} st_rmi_result;

/* `rmi`: by tag, untags and deletes the image when no tag is left; by ID,
 * deletes the image and its tags — refusing (EBUSY, Docker's "conflict:"
 * message) when it has several tags unless force, and always when another
 * image is its child. Forced past stopped containers that use it, the
 * image is deleted for the user (st_image_hide) while the containers keep
 * its layers; forced by name past a running one, it is only untagged.
 * One transaction; blobs are collected afterwards. */
int st_image_remove(st_store *s, const char *ref, bool force,
                    st_rmi_result *out, st_error **err);
void st_rmi_result_clear(st_rmi_result *r);

/* ---- inspect / history -------------------------------------------------- */

/* Docker's `image inspect` object for an image. */
int st_image_inspect(st_store *s, const char *id, json_t **out, st_error **err);

typedef struct st_history_row {
  char *id;        /* image ID for the top row, else NULL (<missing>) */
  int64_t created; /* unix seconds, 0 when unknown */
  char *created_by;
  int64_t size; /* bytes of the layer this step made, 0 when none */
  char *comment;
  char **tags; /* tags of the top row (normalized), NULL-terminated */
} st_history_row;

/* History of an image, newest first, as `docker history` lists it. */
int st_image_history(st_store *s, const char *id, st_history_row **rows,
                     size_t *n, st_error **err);
void st_history_free(st_history_row *rows, size_t n);
