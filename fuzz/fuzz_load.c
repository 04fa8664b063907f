/* Fuzz target: `load`'s archive parsing. The input is the text of
 * manifest.json, index.json and repositories, separated by lines "=====";
 * a part that is empty is left out of the archive; "@C@" and "@L@" stand
 * for the digests (hex) of the fixed config and layer. The harness writes a
 * tar with those files, an oci-layout, and one valid image's blobs (a
 * config and a one-file layer, whose digests the seeds name), and loads it
 * into a store made once per process under /dev/shm (else /tmp). Any outcome is
 * fine but a crash, a leak or a sanitizer report. */
#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "digest/digest.h"
#include "image/archive.h"
#include "store/store.h"
#include "util/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed image: a layer tar holding "hello" and its config. */
static char layer[2048];
static size_t layer_len;
static char config[512];
static char layer_digest[ST_DIGEST_LEN], config_digest[ST_DIGEST_LEN];

static void add(struct archive *a, const char *name, const void *buf,
                size_t len) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)len);
  archive_write_header(a, e);
  if (len)
    archive_write_data(a, buf, len);
  archive_entry_free(e);
}

static void make_image(void) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open_memory(a, layer, sizeof(layer), &layer_len);
  add(a, "hello", "hello\n", 6);
  archive_write_close(a);
  archive_write_free(a);
  st_digest_of(layer, layer_len, layer_digest);
  snprintf(config, sizeof(config),
           "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
           "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
           layer_digest);
  st_digest_of(config, strlen(config), config_digest);
}

static st_store *the_store;
/* On tmpfs when there is one: every load fsyncs its blobs and the
 * database, which on a disk makes a run a few inputs a second. */
static char store_dir[] = "/dev/shm/fuzz-load-XXXXXX";

static void remove_store(void) {
  st_error *err = NULL;
  st_store_close(the_store);
  st_rm_rf(store_dir, &err);
  st_error_free(err);
}

static st_store *store(void) {
  if (the_store)
    return the_store;
  st_error *err = NULL;
  if (access("/dev/shm", W_OK) < 0)
    memcpy(store_dir, "/tmp/////", 9); /* same length: "/tmp" */
  if (mkdtemp(store_dir) == NULL ||
      st_store_open(store_dir, &the_store, &err) < 0)
    abort();
  atexit(remove_store);
  make_image();
  return the_store;
}

static void blob(struct archive *a, const char *digest, const void *buf,
                 size_t len) {
  char name[ST_DIGEST_LEN + 16];
  snprintf(name, sizeof(name), "blobs/sha256/%s", st_digest_hex(digest));
  add(a, name, buf, len);
}

/* buf with "@C@", "@L@" and (when m is set) "@M@" replaced by the hex
 * digests of the config, the layer and the manifest part. */
static char *expand(const char *buf, size_t size, const char *m, size_t *len) {
  /* "@C@" (3 bytes) becomes 64: at most 22 times longer */
  char *out = malloc(size * 22 + 1), *o = out;
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < size; i++) {
    const char *d = NULL;
    if (i + 3 <= size && buf[i] == '@' && buf[i + 2] == '@')
      d = buf[i + 1] == 'C'        ? config_digest
          : buf[i + 1] == 'L'      ? layer_digest
          : buf[i + 1] == 'M' && m ? m
                                   : NULL;
    if (d) {
      memcpy(o, st_digest_hex(d), 64);
      o += 64;
      i += 2;
    } else {
      *o++ = buf[i];
    }
  }
  *len = (size_t)(o - out);
  return out;
}

/* The n-th part of data (parts separated by "\n=====\n"). */
static size_t part(const uint8_t *data, size_t size, int n, const char **p) {
  const char *s = (const char *)data, *end = s + size;
  for (int i = 0;; i++) {
    const char *sep = memmem(s, (size_t)(end - s), "\n=====\n", 7);
    const char *stop = sep ? sep : end;
    if (i == n) {
      *p = s;
      return (size_t)(stop - s);
    }
    if (sep == NULL) {
      *p = end;
      return 0;
    }
    s = sep + 7;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  st_store *s = store();
  static const char *const names[] = {"manifest.json", "index.json",
                                      "repositories"};
  /* Part 4: an OCI manifest blob, stored under its digest (@M@). */
  const char *mp;
  size_t mlen = part(data, size, 3, &mp), mxlen = 0;
  char *manifest = expand(mp, mlen, NULL, &mxlen);
  char mdigest[ST_DIGEST_LEN];
  if (manifest == NULL)
    return 0;
  st_digest_of(manifest, mxlen, mdigest);
  int fd = memfd_create("fuzz-load", MFD_CLOEXEC);
  if (fd < 0) {
    free(manifest);
    return 0;
  }
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_fd(a, fd);
  for (int i = 0; i < 3; i++) {
    const char *p;
    size_t len = part(data, size, i, &p), xlen = 0;
    char *text = len ? expand(p, len, mdigest, &xlen) : NULL;
    if (text)
      add(a, names[i], text, xlen);
    free(text);
  }
  add(a, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}", 31);
  blob(a, config_digest, config, strlen(config));
  blob(a, layer_digest, layer, layer_len);
  if (mxlen)
    blob(a, mdigest, manifest, mxlen);
  free(manifest);
  archive_write_close(a);
  archive_write_free(a);
  lseek(fd, 0, SEEK_SET);
  st_loaded_image *out = NULL;
  size_t n = 0;
  st_error *err = NULL;
  int r = st_archive_load(s, fd, "fuzz", &out, &n, &err);
  if (getenv("FUZZ_LOAD_DEBUG")) /* to check that the seeds load */
    fprintf(stderr, "load: %s\n", r == 0 ? "ok" : err ? err->msg : "?");
  if (r == 0)
    st_loaded_images_free(out, n);
  st_error_free(err);
  close(fd);
  return 0;
}
