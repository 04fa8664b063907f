/* Image archives: `strata save` and `strata load`.
 *
 * save writes what `docker save` (Docker 25 and later) writes: one tar with
 *   blobs/sha256/<hex>   configs, uncompressed layer tars (named by diff
 *                        ID) and one OCI manifest per image
 *   index.json           an OCI index of those manifests, one entry per tag
 *   manifest.json        Docker's list: Config, RepoTags, Layers, ...
 *   oci-layout           {"imageLayoutVersion": "1.0.0"}
 *   repositories         the legacy {"repo": {"tag": "<top layer>"}} map
 * so that `docker load`, `podman load` and OCI tools all read it. Entries
 * are sorted, owned by 0:0 and dated 1970: the same images give the same
 * bytes.
 *
 * load reads docker-archive tars (manifest.json, any layout of the files it
 * names, symlinked layers as older Docker and podman write them) and OCI
 * archives (oci-layout + index.json, nested indexes, the linux/<host arch>
 * manifests). The archive may be plain or compressed; layers may be plain,
 * gzip or zstd (xz and bzip2 too). Everything is checked before the store
 * records anything: entry names, that every named file exists, that each
 * blobs/sha256/<hex> holds the bytes its name says, and that every layer's
 * diff ID is the one its config lists. Then all images and tags are
 * recorded in one transaction.
 */
#ifndef STRATA_IMAGE_ARCHIVE_H
#define STRATA_IMAGE_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "util/error.h"

/* ---- save ---------------------------------------------------------------- */

/* Writes the images named by names (references, IDs or ID prefixes, as
 * `docker save` takes them) as one tar to fd (not closed). Like Docker:
 *   - "repo:tag" saves that tag; "repo" alone saves every tag of repo;
 *   - an ID, an ID prefix or "repo@digest" saves the image without tags;
 *   - an image named twice is written once, with every tag it was named by.
 * Layers stored compressed are written decompressed, so that every layer
 * file's digest is its diff ID. Configs (and manifests that list plain
 * layers) are written exactly as stored.
 * Returns 0, or < 0 with *err set: ENOENT "No such image: x", EINVAL for a
 * name that does not parse, EIO for a corrupt blob, or the write's errno.
 * Nothing is written to fd before every name has resolved. */
int st_archive_save(st_store *s, const char *const *names, size_t n_names,
                    int fd, st_error **err);

/* ---- load ---------------------------------------------------------------- */

/* One image that load recorded, in archive order. */
typedef struct st_loaded_image {
  char id[ST_DIGEST_LEN];
  size_t n_tags;
  char **tags;     /* normalized "docker.io/library/busybox:latest" */
  char **replaced; /* per tag: the ID the tag pointed at before when that was
                      another image (now maybe dangling), else NULL */
} st_loaded_image;

/* Reads an archive from fd (a file or a pipe; not closed), checks it whole
 * and records its images and tags. `what` names the input in messages.
 * Returns 0 with *out (n entries; free with st_loaded_images_free), or < 0
 * with *err set and the store's records unchanged:
 *   EINVAL  not a tar, an entry name that leaves the archive ("/x", "../x"),
 *           neither manifest.json nor index.json, a manifest that does not
 *           parse or lists a different number of layers than its config;
 *   ENOENT  a file the manifest names is missing: "manifest.json names
 *           `blobs/sha256/ab..` which is not in the archive";
 *   EIO     truncated or corrupt data; a blob whose content does not match
 *           its name; "layer 2: diff ID mismatch: config says sha256:..,
 *           archive has sha256:..";
 *   ENOSPC  and other errnos of the file system.
 * Layer blobs already moved into the store when a later step fails are
 * garbage for st_store_gc(), never records. */
int st_archive_load(st_store *s, int fd, const char *what,
                    st_loaded_image **out, size_t *n, st_error **err);
void st_loaded_images_free(st_loaded_image *v, size_t n);

/* ---- building blocks (also used by the unit tests) ----------------------- */

/* Normalizes a tar entry name or a path a manifest names: drops "./"
 * prefixes, "." components and repeated or trailing slashes ("./" gives "",
 * the archive's root). Returns 0 with a malloc'd *out, or < 0 with *err set
 * (EINVAL) for an empty, absolute or ".."-containing name. */
int st_archive_clean_path(const char *name, char **out, st_error **err);

/* The archive path a link entry at `entry` (a cleaned path) points to:
 * a symlink target is relative to the entry's directory (absolute ones to
 * the archive root, as Docker resolves them); ".." is resolved lexically.
 * Returns a malloc'd cleaned path, or NULL when the target leaves the
 * archive or memory is short (errno EINVAL or ENOMEM). */
char *st_archive_link_target(const char *entry, const char *target);

/* One element of a docker-archive manifest.json. */
typedef struct st_docker_item {
  char *config;
  size_t n_repo_tags;
  char **repo_tags; /* as written: "busybox:latest" */
  size_t n_layers;
  char **layers;
  char *parent; /* or NULL */
} st_docker_item;

/* Parses manifest.json. Returns 0 with *items (n of them; [] gives 0), or
 * < 0 with *err set (EINVAL, the message says what is wrong: "manifest.json:
 * element 1: \"Layers\" is not an array of strings"). */
int st_docker_manifest_parse(const char *buf, size_t len,
                             st_docker_item **items, size_t *n, st_error **err);
void st_docker_items_free(st_docker_item *v, size_t n);

/* True when an OCI descriptor's "platform" (may be NULL: no platform
 * given) is os/arch. A variant is not compared. */
bool st_archive_platform_matches(const json_t *platform, const char *os,
                                 const char *arch);

/* The image name an OCI index entry's annotations give: the containerd
 * "io.containerd.image.name", else "org.opencontainers.image.ref.name" when
 * it is a whole reference (has a '/' or ':'; a bare "latest" is only a tag
 * and names nothing). Returns the normalized "repo:tag" (malloc'd), or NULL
 * when there is none, when it does not parse or names a digest (then *bad
 * is set to true when bad is not NULL) or when memory is short. */
char *st_archive_annotation_name(const json_t *annotations, bool *bad);

#endif
