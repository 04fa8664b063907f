/* Storing a layer tar and indexing it in one pass (see tar.h,
 * st_layer_import_indexed): the EROFS writer reads the decompressed
 * stream, hands every byte to a blob writer, and takes the blob's digest
 * as its device tag once the last byte is in. */
#include <errno.h>
#include <string.h>

#include "digest/digest.h"
#include "layer/erofs.h"
#include "layer/tar.h"
#include "util/cleanup.h"

typedef struct indexed {
  st_blob_writer *w;
  char digest[ST_DIGEST_LEN];
  int64_t blob_size;
} indexed;

static int tap(void *ctx, const void *buf, size_t n, st_error **err) {
  indexed *x = ctx;
  return st_blob_write(x->w, buf, n, err);
}

/* The last byte is in: the blob is committed under its digest, which tags
 * the index's device. */
static int end(void *ctx, char *tag, st_error **err) {
  indexed *x = ctx;
  x->blob_size = (int64_t)st_blob_size(x->w);
  if (st_blob_commit(steal_pointer(&x->w), NULL, x->digest, err) < 0)
    return -1;
  snprintf(tag, ST_EROFS_TAG_MAX + 1, "%s", st_digest_hex(x->digest));
  return 0;
}

int st_layer_import_indexed(st_store *s, int fd, const char *what,
                            const char *index_path, st_layer_rec *out,
                            st_error **err) {
  indexed x = {0};
  if (st_blob_begin(s, &x.w, err) < 0)
    return st_error_wrap(err, "%s", what ? what : "layer");
  st_blob_paced(x.w); /* decompression feeds it (store.h) */
  st_tar_check chk = {0};
  st_erofs_opts o = {.whiteouts = true,
                     .tar_index = true,
                     .tap = tap,
                     .end = end,
                     .ctx = &x,
                     .check = &chk};
  int r = st_erofs_from_tar(fd, index_path, &o, NULL, err);
  st_blob_abort(x.w); /* still open only on a failure before the end */
  if (r < 0)
    return st_error_wrap(err, "%s", what ? what : "layer");
  memcpy(out->blob, x.digest, ST_DIGEST_LEN);
  memcpy(out->diff_id, x.digest, ST_DIGEST_LEN);
  out->media_type = ST_LAYER_MEDIA_TYPE_TAR;
  out->blob_size = x.blob_size;
  out->size = chk.size;
  return 0;
}
