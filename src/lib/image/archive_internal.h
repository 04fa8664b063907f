/* Private to src/lib/image/archive_*.c: the extracted archive and helpers
 * shared by save and load. */
#ifndef STRATA_IMAGE_ARCHIVE_INTERNAL_H
#define STRATA_IMAGE_ARCHIVE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "image/archive.h"
#include "util/buf.h"

#define ST_ARCHIVE_LAYOUT_FILE "oci-layout"
#define ST_ARCHIVE_INDEX_FILE "index.json"
#define ST_ARCHIVE_MANIFEST_FILE "manifest.json"
#define ST_ARCHIVE_REPOSITORIES_FILE "repositories"
/* Docker writes it with the space. */
#define ST_ARCHIVE_LAYOUT_CONTENT "{\"imageLayoutVersion\": \"1.0.0\"}"
/* The most a JSON document in an archive may take in memory. */
#define ST_ARCHIVE_JSON_MAX (64u << 20)

/* "blobs/sha256/<hex>" of a digest, malloc'd; NULL when out of memory. */
char *st_archive_blob_path(const char *digest);

/* Sets the ENOENT error "<where> names `<name>` which is not in the
 * archive". Returns -1. */
int st_archive_missing(const char *where, const char *name, st_error **err);

static inline void st_archive_sha256_freep(st_sha256 **h) {
  st_sha256_free(*h);
}
#define cleanup_sha256 __attribute__((cleanup(st_archive_sha256_freep)))

/* Appends s to b as `s`, with control characters escaped and cut at 200
 * bytes: names come from untrusted archives and end up on terminals. */
void st_archive_quote(st_buf *b, const char *s);

/* ---- an archive extracted into a private directory under tmp/ ------------ */

/* One entry that matters: a regular file (stored as a numbered file in the
 * directory, whatever its name) or a link to another entry. */
typedef struct st_xfile {
  char *name; /* cleaned archive path */
  char *link; /* link entries: the cleaned path they point to (NULL when
                 it leaves the archive); NULL for regular files */
  bool is_link;
  unsigned idx;               /* regular files: the file's number */
  char digest[ST_DIGEST_LEN]; /* regular files: sha256 of the content */
  uint64_t size;
  bool adopted; /* moved into the store's blobs */
  /* Layers, once load has looked at them: */
  char diff_id[ST_DIGEST_LEN]; /* sha256 of the decompressed content */
  char compression[8];         /* "none", "gzip", "zstd", "xz", "bzip2" */
  bool stored;                 /* in the store as stored_blob: */
  bool imported;               /* decompressed by st_layer_import */
  char stored_blob[ST_DIGEST_LEN];
  int64_t stored_size;  /* bytes of stored_blob */
  int64_t content_size; /* Docker's SIZE of the layer */
} st_xfile;

typedef struct st_xdir {
  char *path; /* <root>/tmp/load-XXXXXX */
  int dirfd;
  st_xfile *files;
  size_t n, cap;
} st_xdir;

/* Reads the tar (maybe compressed) on fd into a new directory under the
 * store's tmp/. Rejects an entry whose name is absolute or has "..", and
 * hard links whose target does. Returns 0 with *out, or < 0 with *err set
 * (EINVAL not a tar; EIO truncated or corrupt; file system errors). */
int st_xdir_extract(st_store *s, int fd, st_xdir **out, st_error **err);

/* The regular file an archive path (as a manifest names it, cleaned here)
 * leads to, following links; NULL when there is none. */
st_xfile *st_xdir_find(st_xdir *x, const char *name);

/* Opens a regular file of the extraction for reading. Returns an fd, or < 0
 * with *err set. */
int st_xdir_open(st_xdir *x, const st_xfile *f, st_error **err);

/* Reads a whole file of at most ST_ARCHIVE_JSON_MAX bytes (NUL-terminated).
 * Returns 0, or < 0 with *err set (EINVAL when it is larger). */
int st_xdir_read(st_xdir *x, const st_xfile *f, char **buf, size_t *len,
                 st_error **err);

/* Moves a file into the store as the blob of its digest, as st_blob_commit
 * does (fsync, rename, fsync the directory; a blob that is already there is
 * kept): no copy, the directory is on the store's file system. Returns 0,
 * or < 0 with *err set. */
int st_xdir_adopt(st_store *s, st_xdir *x, st_xfile *f, st_error **err);

/* Removes the directory and everything left in it. */
void st_xdir_free(st_xdir *x);
static inline void st_xdir_freep(st_xdir **x) {
  st_xdir_free(*x);
}
#define cleanup_xdir __attribute__((cleanup(st_xdir_freep)))

/* ---- what load will record ----------------------------------------------- */

typedef struct ld_layer {
  st_xfile *file;              /* the layer in the extraction */
  char diff_id[ST_DIGEST_LEN]; /* what the config says */
  char *media_type;            /* from the OCI manifest; NULL: by content */
} ld_layer;

typedef struct ld_image {
  char id[ST_DIGEST_LEN]; /* sha256 of config */
  char *label;            /* names the image in messages */
  char *config;
  size_t config_len;
  int64_t created;
  ld_layer *layers;
  size_t n_layers;
  char **tags; /* normalized "repo:tag" */
  size_t n_tags;
  st_xfile *manifest; /* the manifest to keep as is, or NULL: build one */
  char *manifest_type;
  char *parent; /* parent image ID when it is loaded too, else NULL */
  bool existed; /* the store had it already: only tags are recorded */
} ld_image;

typedef struct ld_plan {
  ld_image *v;
  size_t n;
} ld_plan;

/* Parses a config: its diff IDs (checked digests) and created time. Returns
 * the parsed JSON (the caller decrefs) or NULL with *err set; label names
 * the config in messages. */
json_t *st_ld_config(const char *config, size_t len, const char *label,
                     const json_t **diff_ids, int64_t *created, st_error **err);

/* The plan's image for a config (merged by ID: a second appearance only
 * adds its tags). Takes config (malloc'd) over; sets *is_new. */
ld_image *st_ld_image(ld_plan *p, const char *id, char *config, size_t len,
                      bool *is_new, st_error **err);
/* Adds a normalized tag to m unless it has it. */
int st_ld_add_tag(ld_image *m, const char *tag, st_error **err);

/* Plans the images of an OCI archive (index.json). */
int st_ld_plan_oci(st_xdir *x, ld_plan *p, st_error **err);

/* For a docker-archive that also has an index.json (Docker 25+): the OCI
 * manifest in it for config id that lists exactly these layer files, to
 * keep instead of building one. NULL when there is none; a broken index is
 * ignored, as `docker load` ignores index.json. */
st_xfile *st_ld_find_manifest(st_xdir *x, const char *id,
                              const ld_layer *layers, size_t n,
                              char **media_type);

/* ---- what save will write ----------------------------------------------- */

/* Where the bytes of one blobs/sha256/<hex> entry come from. */
typedef enum {
  SRC_MEM,    /* data (config, manifest) */
  SRC_BLOB,   /* a stored blob, copied as is */
  SRC_DECOMP, /* a stored compressed layer, decompressed */
} src_kind;

typedef struct sv_blob {
  char digest[ST_DIGEST_LEN]; /* its name in the archive */
  src_kind kind;
  char *data;               /* SRC_MEM */
  char blob[ST_DIGEST_LEN]; /* SRC_BLOB, SRC_DECOMP */
  uint64_t size;
} sv_blob;

typedef struct sv_image {
  char id[ST_DIGEST_LEN];
  char *parent;
  char **tags; /* normalized "repo:tag", in the order named */
  size_t n_tags;
  st_layer_rec *layers;
  size_t n_layers;
  uint64_t *tar_sizes; /* per layer: bytes of the uncompressed tar */
  char manifest[ST_DIGEST_LEN];
  char *manifest_type;
  uint64_t manifest_size;
} sv_image;

typedef struct sv_plan {
  sv_image *imgs;
  size_t n_imgs;
  sv_blob *blobs;
  size_t n_blobs;
} sv_plan;

/* The JSON files of a save, made before anything is written. */
typedef struct sv_docs {
  char *index, *manifest, *repositories; /* repositories: NULL for none */
} sv_docs;

/* Makes the JSON files for a settled plan. Returns 0, -1 when out of
 * memory. */
int st_sv_docs(const sv_plan *p, sv_docs *out);
void st_sv_docs_clear(sv_docs *d);

/* Writes the tar: directories, the blobs in sorted order (streamed from the
 * store), then the JSON files. Sorts p->blobs. Returns 0, or < 0 with *err
 * set. */
int st_sv_write_tar(st_store *s, sv_plan *p, const sv_docs *docs, int fd,
                    st_error **err);

/* ---- JSON shapes of a save ----------------------------------------------- */

/* Serializes j compactly (as Go's encoding/json does) into a malloc'd
 * string; with newline, "\n" is appended (Go's json.Encoder). NULL when out
 * of memory. */
char *st_archive_json_dump(const json_t *j, bool sort_keys, bool newline);

#endif
