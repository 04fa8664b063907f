/* Decompressing reader: gzip through ISA-L (or zlib), everything else through
 * libarchive's filters with the "raw" format (see compress.h for why). */
#include "layer/compress.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util/cleanup.h"

/* Input is read in 1 MiB blocks and gzip output made in 256 KiB blocks:
 * large enough that per-block costs (syscalls, callbacks) vanish next to
 * the cost of the bytes themselves. */
#define IN_BLOCK (1u << 20)
#define OUT_BLOCK (256u << 10)
/* Bytes needed to recognise every supported format's magic number. */
#define MAGIC_LEN 6

enum kind { KIND_EMPTY, KIND_GZIP, KIND_ARCHIVE };

struct st_decomp {
  int fd;
  enum kind kind;
  unsigned char *in; /* IN_BLOCK bytes */
  size_t head;       /* bytes read for detection, not yet handed on */
  bool in_eof;
  bool done;
  int read_errno;    /* a failed read(2) seen inside a libarchive callback */
  st_error *pending; /* an error to report after the block before it */
  /* gzip: input not yet decoded, and one of the two decoders */
  unsigned char *next_in;
  size_t avail_in;
  struct inflate_state *isal;
  z_stream z;
  bool z_ready;
  bool member_end;    /* a member's trailer was checked; what follows? */
  bool zero_tail;     /* only zero padding may follow */
  unsigned char *out; /* OUT_BLOCK bytes */
  size_t out_len;     /* bytes of out decoded by the last block */
  /* xz, bzip2, zstd, plain */
  struct archive *ar;
  const char *format;
};

/* read(2) retrying on EINTR. Returns bytes read, 0 at EOF, -1 with errno. */
static ssize_t read_some(int fd, void *buf, size_t n) {
  for (;;) {
    ssize_t r = read(fd, buf, n);
    if (r >= 0 || errno != EINTR)
      return r;
  }
}

/* Reads until MAGIC_LEN bytes are buffered or the input ends (a pipe may
 * return fewer bytes per read). Returns 0, or < 0 with *err set. */
static int read_head(st_decomp *d, st_error **err) {
  while (d->head < MAGIC_LEN && !d->in_eof) {
    ssize_t n = read_some(d->fd, d->in + d->head, IN_BLOCK - d->head);
    if (n < 0)
      return st_error_errno(err, errno, "read");
    if (n == 0)
      d->in_eof = true;
    d->head += (size_t)n;
  }
  return 0;
}

/* Moves the saved error into *err; nothing more will be read. Returns -1. */
static int pass_pending(st_decomp *d, st_error **err) {
  d->done = true;
  if (err && *err == NULL)
    *err = steal_pointer(&d->pending);
  return -1;
}

/* ---- gzip ------------------------------------------------------------- */

/* Two decoders behind one loop: ISA-L's igzip (about 4x faster than zlib
 * on layer tars; it checks each member's CRC-32 and length itself) and
 * zlib, kept for STRATA_GZIP=zlib (comparisons, and the unit tests run
 * every gzip case through both). Both read d->next_in/d->avail_in and write
 * into d->out. */

static bool want_zlib(void) {
  const char *v = getenv("STRATA_GZIP");
  return v != NULL && strcmp(v, "zlib") == 0;
}

static int gz_start(st_decomp *d, st_error **err) {
  d->out = malloc(OUT_BLOCK);
  if (d->out == NULL)
    return st_error_errno(err, ENOMEM, "gzip");
  if (want_zlib()) {
    /* 16 + 15: gzip wrapper only, 32 KiB window; zlib then checks each
     * member's CRC-32 and length. */
    if (inflateInit2(&d->z, 16 + 15) != Z_OK)
      return st_error_errno(err, ENOMEM, "gzip: start decoder");
    d->z_ready = true;
  } else {
    d->isal = malloc(sizeof(*d->isal));
    if (d->isal == NULL)
      return st_error_errno(err, ENOMEM, "gzip: start decoder");
    isal_inflate_init(d->isal);
    d->isal->crc_flag = ISAL_GZIP; /* parse the header, check the trailer */
  }
  d->next_in = d->in;
  d->avail_in = d->head;
  d->head = 0;
  d->kind = KIND_GZIP;
  d->format = "gzip";
  return 0;
}

const char *st_decomp_gzip_decoder(const st_decomp *d) {
  return d->isal ? "isa-l" : d->z_ready ? "zlib" : "none";
}

/* Refills the decoder's input once it has run dry. Returns 0, or < 0. */
static int gz_fill(st_decomp *d, st_error **err) {
  if (d->avail_in > 0 || d->in_eof)
    return 0;
  ssize_t n = read_some(d->fd, d->in, IN_BLOCK);
  if (n < 0)
    return st_error_errno(err, errno, "read");
  if (n == 0)
    d->in_eof = true;
  d->next_in = d->in;
  d->avail_in = (size_t)n;
  return 0;
}

static int gz_garbage(st_error **err) {
  return st_error_set(err, EIO,
                      "corrupt gzip data: garbage after the compressed "
                      "stream");
}

/* Starts decoding the next member. Returns 0, or < 0 with *err set. */
static int gz_restart(st_decomp *d, st_error **err) {
  if (d->isal) {
    isal_inflate_reset(d->isal);
    d->isal->crc_flag = ISAL_GZIP;
  } else if (inflateReset(&d->z) != Z_OK) {
    return st_error_set(err, EIO, "gzip: cannot restart the decoder");
  }
  d->member_end = false;
  return 0;
}

/* Decides what follows a complete member: another member (gzip(1) reads
 * concatenations), zero padding up to the end, or nothing. Returns 0, or
 * < 0 with *err set for anything else. */
static int gz_after_member(st_decomp *d, st_error **err) {
  for (;;) {
    if (gz_fill(d, err) < 0)
      return -1;
    if (d->avail_in == 0) {
      d->done = true;
      return 0;
    }
    if (!d->zero_tail && d->next_in[0] != 0) {
      if (d->next_in[0] != 0x1f)
        return gz_garbage(err);
      return gz_restart(d, err);
    }
    d->zero_tail = true;
    while (d->avail_in > 0 && d->next_in[0] == 0) {
      d->next_in++;
      d->avail_in--;
    }
    if (d->avail_in > 0)
      return gz_garbage(err);
  }
}

/* Turns a zlib inflate() failure into an error. Always returns -1. */
static int zlib_error(st_decomp *d, int r, st_error **err) {
  const char *why = d->z.msg ? d->z.msg : "invalid data";
  if (r == Z_MEM_ERROR)
    return st_error_errno(err, ENOMEM, "gzip");
  if (r == Z_DATA_ERROR && strcmp(why, "incorrect data check") == 0)
    return st_error_set(err, EIO,
                        "corrupt gzip data: CRC mismatch (the data was "
                        "damaged)");
  if (r == Z_DATA_ERROR && strcmp(why, "incorrect length check") == 0)
    return st_error_set(err, EIO, "corrupt gzip data: length mismatch");
  return st_error_set(err, EIO, "corrupt gzip data: %s", why);
}

/* Turns an isal_inflate() failure into an error. Always returns -1. */
static int isal_error(int r, st_error **err) {
  switch (r) {
  case ISAL_INCORRECT_CHECKSUM:
    /* ISA-L reports a bad CRC-32 and a bad length alike. */
    return st_error_set(err, EIO,
                        "corrupt gzip data: CRC mismatch or wrong length "
                        "(the data was damaged)");
  case ISAL_INVALID_WRAPPER:
    return st_error_set(err, EIO, "corrupt gzip data: incorrect header");
  case ISAL_UNSUPPORTED_METHOD:
    return st_error_set(err, EIO,
                        "corrupt gzip data: unknown compression method");
  case ISAL_NEED_DICT:
    return st_error_set(err, EIO, "corrupt gzip data: needs a dictionary");
  default:
    return st_error_set(err, EIO,
                        "corrupt gzip data: invalid deflate data "
                        "(igzip error %d)",
                        r);
  }
}

/* One decoder call from d->next_in into *out (*avail bytes free). Sets
 * d->member_end at the end of a member. Returns 0, or < 0 with *err set. */
static int gz_step(st_decomp *d, unsigned char **out, size_t *avail,
                   st_error **err) {
  if (d->isal) {
    struct inflate_state *st = d->isal;
    st->next_in = d->next_in;
    st->avail_in = (uint32_t)d->avail_in;
    st->next_out = *out;
    st->avail_out = (uint32_t)*avail;
    int r = isal_inflate(st);
    d->next_in = st->next_in;
    d->avail_in = st->avail_in;
    *out = st->next_out;
    *avail = st->avail_out;
    if (r != ISAL_DECOMP_OK)
      return isal_error(r, err);
    if (st->block_state == ISAL_BLOCK_FINISH)
      d->member_end = true;
    return 0;
  }
  z_stream *z = &d->z;
  z->next_in = d->next_in;
  z->avail_in = (uInt)d->avail_in;
  z->next_out = *out;
  z->avail_out = (uInt)*avail;
  int r = inflate(z, Z_NO_FLUSH);
  d->next_in = z->next_in;
  d->avail_in = z->avail_in;
  *out = z->next_out;
  *avail = z->avail_out;
  if (r == Z_STREAM_END)
    d->member_end = true;
  else if (r != Z_OK && r != Z_BUF_ERROR)
    return zlib_error(d, r, err);
  return 0;
}

/* Decodes into d->out until it is full or the data ends. Returns 0, or < 0
 * with *err set (a truncated stream is EIO); either way d->out_len tells how
 * much was decoded. */
static int gz_fill_block(st_decomp *d, st_error **err) {
  unsigned char *out = d->out;
  size_t avail = OUT_BLOCK;
  int r = 0;
  while (avail > 0 && !d->done) {
    if (d->member_end) {
      if ((r = gz_after_member(d, err)) < 0)
        break;
      continue;
    }
    if ((r = gz_fill(d, err)) < 0 || (r = gz_step(d, &out, &avail, err)) < 0)
      break;
    /* All input read and used, room left, no member end: no more to come. */
    if (!d->member_end && avail > 0 && d->avail_in == 0 && d->in_eof) {
      r = st_error_set(err, EIO,
                       "truncated gzip data: unexpected end of "
                       "input");
      break;
    }
  }
  d->out_len = OUT_BLOCK - avail;
  return r;
}

/* Returns 1 with a block, 0 at the end, < 0 on error. The bytes decoded
 * before an error are handed on first, so that the tar reader sees every
 * good byte and the error is reported where the damage is. */
static int gz_read(st_decomp *d, const void **buf, size_t *len,
                   st_error **err) {
  int r = gz_fill_block(d, &d->pending);
  *buf = d->out;
  *len = d->out_len;
  if (r < 0 && *len == 0)
    return pass_pending(d, err);
  return *len > 0;
}

/* ---- libarchive: xz, bzip2, zstd, plain ------------------------------- */

/* libarchive's read callback: first the bytes read for detection, then the
 * fd in IN_BLOCK blocks (each valid until the next call, as libarchive
 * requires). */
static la_ssize_t ar_pull(struct archive *a, void *data, const void **buf) {
  st_decomp *d = data;
  *buf = d->in;
  if (d->head > 0) {
    size_t n = d->head;
    d->head = 0;
    return (la_ssize_t)n;
  }
  if (d->in_eof)
    return 0;
  ssize_t n = read_some(d->fd, d->in, IN_BLOCK);
  if (n < 0) {
    d->read_errno = errno;
    archive_set_error(a, errno, "read: %s", strerror(errno));
    return -1;
  }
  if (n == 0)
    d->in_eof = true;
  return n;
}

/* Sets *err from the reader's last failure. Always returns -1. */
static int ar_error(st_decomp *d, st_error **err) {
  if (d->read_errno)
    return st_error_errno(err, d->read_errno, "read");
  const char *why = archive_error_string(d->ar);
  return st_error_set(err, EIO, "corrupt %s data: %s",
                      d->format ? d->format : "compressed",
                      why ? why : "unknown error");
}

static int ar_start(st_decomp *d, st_error **err) {
  d->kind = KIND_ARCHIVE;
  d->ar = archive_read_new();
  if (d->ar == NULL)
    return st_error_errno(err, ENOMEM, "libarchive");
  /* Exactly the formats Docker accepts: no filters that run external
   * programs (lrzip, lzop...) on untrusted input. WARN means a program
   * fallback; these are linked into Debian's libarchive. */
  if (archive_read_support_filter_bzip2(d->ar) < ARCHIVE_WARN ||
      archive_read_support_filter_xz(d->ar) < ARCHIVE_WARN ||
      archive_read_support_filter_zstd(d->ar) < ARCHIVE_WARN ||
      archive_read_support_format_raw(d->ar) != ARCHIVE_OK)
    return st_error_set(err, ENOTSUP, "libarchive: %s",
                        archive_error_string(d->ar));
  struct archive_entry *entry = NULL;
  if (archive_read_open2(d->ar, d, NULL, ar_pull, NULL, NULL) != ARCHIVE_OK ||
      archive_read_next_header(d->ar, &entry) < ARCHIVE_WARN)
    return ar_error(d, err);
  d->format = archive_filter_name(d->ar, 0);
  return 0;
}

static int ar_read(st_decomp *d, const void **buf, size_t *len,
                   st_error **err) {
  for (;;) {
    la_int64_t off = 0;
    int r = archive_read_data_block(d->ar, buf, len, &off);
    if (r == ARCHIVE_EOF) {
      d->done = true;
      return 0;
    }
    if (r < ARCHIVE_WARN)
      return ar_error(d, err);
    if (*len > 0)
      return 1;
  }
}

/* ---- public ----------------------------------------------------------- */

int st_decomp_open(int fd, st_decomp **out, st_error **err) {
  st_decomp *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return st_error_errno(err, ENOMEM, "decompress");
  cleanup_decomp st_decomp *owned = d;
  d->fd = fd;
  d->format = "none";
  d->in = malloc(IN_BLOCK);
  if (d->in == NULL)
    return st_error_errno(err, ENOMEM, "decompress");
  if (read_head(d, err) < 0)
    return -1;
  if (d->head == 0) {
    d->kind = KIND_EMPTY;
    d->done = true;
  } else if (d->head >= 2 && d->in[0] == 0x1f && d->in[1] == 0x8b) {
    if (gz_start(d, err) < 0)
      return -1;
  } else if (ar_start(d, err) < 0) {
    return -1;
  }
  *out = steal_pointer(&owned);
  return 0;
}

int st_decomp_read(st_decomp *d, const void **buf, size_t *len,
                   st_error **err) {
  *len = 0;
  if (d->pending)
    return pass_pending(d, err);
  if (d->done)
    return 0;
  switch (d->kind) {
  case KIND_GZIP:
    return gz_read(d, buf, len, err);
  case KIND_ARCHIVE:
    return ar_read(d, buf, len, err);
  case KIND_EMPTY:
  default:
    return 0;
  }
}

const char *st_decomp_format(const st_decomp *d) {
  return d->format ? d->format : "none";
}

void st_decomp_free(st_decomp *d) {
  if (d == NULL)
    return;
  if (d->z_ready)
    inflateEnd(&d->z);
  free(d->isal);
  if (d->ar)
    archive_read_free(d->ar);
  st_error_free(d->pending);
  free(d->out);
  free(d->in);
  free(d);
}
