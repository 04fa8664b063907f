/* EROFS images from layer tars (see erofs.h and docs/ARCHITECTURE.md).
 *
 * One pass over the tar: each regular file's whole blocks go to the image
 * as they arrive (block 1 upwards); its last partial block, symlink targets
 * and the tree are kept in memory. At the end of the tar the tree is laid
 * out: directory blocks follow the file data, then the metadata area (the
 * inodes, each followed by its inline xattrs and inline tail), then the
 * superblock is written at byte 1024. Nothing is read back. */
#include "layer/erofs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/compress.h"
#include "layer/erofs_fmt.h"
#include "layer/tar.h"
#include "util/buf.h"
#include "util/cleanup.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."
#define OVERLAY_XATTR "trusted.overlay."
#define NAME_MAX_EROFS 255

typedef struct exattr {
  uint8_t index; /* EROFS prefix index */
  char *suffix;  /* the name after the prefix */
  void *value;
  size_t len;
} exattr;

typedef struct enode enode;

/* A name in a directory; hard links are dentries sharing one enode. */
typedef struct edent {
  char *name;
  size_t len;
  enode *parent;
  enode *ino;
  struct edent *hnext; /* hash chain */
} edent;

/* A directory entry as laid out: "." and ".." included, sorted. */
typedef struct eent {
  const char *name;
  size_t len;
  enode *ino;
} eent;

struct enode {
  uint32_t mode;
  uint32_t uid, gid;
  int64_t mtime;
  uint32_t nsec;
  uint32_t rdev; /* encoded as the kernel's new_encode_dev */
  uint64_t size;
  uint64_t blk;        /* first data block of the whole blocks */
  uint64_t tar_off;    /* chunked: where the data starts in the tar */
  bool chunked;        /* data in the tar (tar-index mode), one chunk */
  uint64_t nblocks;    /* whole blocks in the data area */
  unsigned char *tail; /* inline data (tail_len bytes) */
  uint32_t tail_len;
  exattr *xa;
  size_t nxa;
  enode *parent; /* directories: for ".." */
  edent **kids;  /* directories */
  size_t nkids, capkids;
  eent *ents; /* directories, at layout */
  size_t nents;
  /* layout */
  bool seen, ext;
  uint32_t nlink, xsize, ino;
  uint64_t nid;
  enode *next; /* every node, for freeing */
};

typedef struct ew {
  int out;
  bool whiteouts;
  st_decomp *src;
  st_error *src_err;
  struct archive *ar;
  enode *root;
  enode *all;
  edent **htab;
  size_t hcap, hcount;
  uint64_t data_blk;  /* next free block of the data area */
  unsigned blkbits;   /* EROFS_BLKBITS, or EROFS_TAR_BLKBITS for an index */
  bool tar_index;     /* regular files' data stays in the tar (device 1) */
  uint64_t tar_bytes; /* bytes of the tar read so far */
  const char *device_tag;
  const st_erofs_opts *o;         /* tap, check, end (NULL: none) */
  char tag[ST_EROFS_TAG_MAX + 1]; /* the tag o->end gave */
  int64_t epoch; /* build time: compact inodes have this mtime */
  uint32_t epoch_nsec;
  st_erofs_stats stats;
  /* buffered sequential writer for the metadata area */
  unsigned char *wbuf;
  size_t wlen;
  uint64_t wpos; /* file offset of wbuf[0] */
} ew;

#define BLK(w) ((uint64_t)1 << (w)->blkbits)

/* ---- output ---------------------------------------------------------- */

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off,
                      st_error **err) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return st_error_errno(err, errno, "write image");
    p += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

#define WBUF_CAP (1u << 20)

static int wflush(ew *w, st_error **err) {
  if (w->wlen == 0)
    return 0;
  if (pwrite_all(w->out, w->wbuf, w->wlen, w->wpos, err) < 0)
    return -1;
  w->wpos += w->wlen;
  w->wlen = 0;
  return 0;
}

/* Appends len bytes (zeros when p is NULL) to the metadata stream. */
static int wput(ew *w, const void *p, size_t len, st_error **err) {
  while (len > 0) {
    if (w->wlen == WBUF_CAP && wflush(w, err) < 0)
      return -1;
    size_t n = WBUF_CAP - w->wlen;
    if (n > len)
      n = len;
    if (p) {
      memcpy(w->wbuf + w->wlen, p, n);
      p = (const char *)p + n;
    } else {
      memset(w->wbuf + w->wlen, 0, n);
    }
    w->wlen += n;
    len -= n;
  }
  return 0;
}

static uint64_t wtell(const ew *w) {
  return w->wpos + w->wlen;
}

/* ---- the in-memory tree ------------------------------------------------ */

static enode *node_new(ew *w, uint32_t mode, st_error **err) {
  enode *n = calloc(1, sizeof(*n));
  if (n == NULL) {
    st_error_errno(err, ENOMEM, "convert layer");
    return NULL;
  }
  n->mode = mode;
  n->next = w->all;
  w->all = n;
  return n;
}

static void node_free(enode *n) {
  for (size_t i = 0; i < n->nxa; i++) {
    free(n->xa[i].suffix);
    free(n->xa[i].value);
  }
  free(n->xa);
  free(n->kids);
  free(n->ents);
  free(n->tail);
  free(n);
}

static uint64_t hash_of(const enode *parent, const char *name, size_t len) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
  return h;
}

static edent *lookup(const ew *w, const enode *dir, const char *name,
                     size_t len) {
  if (w->hcap == 0)
    return NULL;
  edent *d = w->htab[hash_of(dir, name, len) & (w->hcap - 1)];
  for (; d; d = d->hnext)
    if (d->parent == dir && d->len == len && memcmp(d->name, name, len) == 0)
      return d;
  return NULL;
}

static int grow_hash(ew *w) {
  size_t cap = w->hcap ? w->hcap * 2 : 1024;
  edent **t = calloc(cap, sizeof(*t));
  if (t == NULL)
    return -1;
  for (size_t i = 0; i < w->hcap; i++) {
    for (edent *d = w->htab[i], *nx; d; d = nx) {
      nx = d->hnext;
      size_t b = hash_of(d->parent, d->name, d->len) & (cap - 1);
      d->hnext = t[b];
      t[b] = d;
    }
  }
  free(w->htab);
  w->htab = t;
  w->hcap = cap;
  return 0;
}

/* Points dir/name at ino, replacing what the name held. */
static int set_child(ew *w, enode *dir, const char *name, size_t len,
                     enode *ino, st_error **err) {
  edent *d = lookup(w, dir, name, len);
  if (d) {
    d->ino = ino;
    return 0;
  }
  if ((w->hcount + 1) * 2 > w->hcap && grow_hash(w) < 0)
    return st_error_errno(err, ENOMEM, "convert layer");
  if (dir->nkids == dir->capkids) {
    size_t cap = dir->capkids ? dir->capkids * 2 : 8;
    edent **k = realloc(dir->kids, cap * sizeof(*k));
    if (k == NULL)
      return st_error_errno(err, ENOMEM, "convert layer");
    dir->kids = k;
    dir->capkids = cap;
  }
  d = calloc(1, sizeof(*d) + len + 1);
  if (d == NULL)
    return st_error_errno(err, ENOMEM, "convert layer");
  d->name = (char *)(d + 1);
  memcpy(d->name, name, len);
  d->len = len;
  d->parent = dir;
  d->ino = ino;
  size_t b = hash_of(dir, name, len) & (w->hcap - 1);
  d->hnext = w->htab[b];
  w->htab[b] = d;
  w->hcount++;
  dir->kids[dir->nkids++] = d;
  return 0;
}

/* Walks to the directory holding the last component of path, making the
 * missing directories (root-owned, 0755) on the way; empty and "."
 * components are skipped. Sets *base to the last component. */
static enode *walk_parent(ew *w, char *path, const char **base, bool create,
                          st_error **err) {
  enode *dir = w->root;
  char *p = path;
  for (char *slash; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
    size_t len = (size_t)(slash - p);
    if (len == 0 || (len == 1 && p[0] == '.'))
      continue;
    edent *d = lookup(w, dir, p, len);
    if (d && S_ISDIR(d->ino->mode)) {
      dir = d->ino;
      continue;
    }
    if (d && S_ISLNK(d->ino->mode)) {
      st_error_set(err, ENOTSUP, "a parent directory is a symlink");
      return NULL;
    }
    if (d || !create) {
      st_error_set(err, d ? ENOTDIR : ENOENT,
                   d ? "a parent is not a directory" : "no such entry");
      return NULL;
    }
    enode *n = node_new(w, S_IFDIR | 0755, err);
    if (n == NULL || set_child(w, dir, p, len, n, err) < 0)
      return NULL;
    n->parent = dir;
    dir = n;
  }
  *base = p;
  return dir;
}

static int xattr_set(enode *n, uint8_t index, const char *suffix,
                     const void *value, size_t len, st_error **err) {
  for (size_t i = 0; i < n->nxa; i++) {
    exattr *x = &n->xa[i];
    if (x->index != index || strcmp(x->suffix, suffix) != 0)
      continue;
    void *v = malloc(len ? len : 1);
    if (v == NULL)
      return st_error_errno(err, ENOMEM, "convert layer");
    memcpy(v, value, len);
    free(x->value);
    x->value = v;
    x->len = len;
    return 0;
  }
  exattr *xa = realloc(n->xa, (n->nxa + 1) * sizeof(*xa));
  if (xa == NULL)
    return st_error_errno(err, ENOMEM, "convert layer");
  n->xa = xa;
  exattr *x = &xa[n->nxa];
  x->index = index;
  x->suffix = strdup(suffix);
  x->value = malloc(len ? len : 1);
  x->len = len;
  if (x->suffix == NULL || x->value == NULL) {
    free(x->suffix);
    free(x->value);
    return st_error_errno(err, ENOMEM, "convert layer");
  }
  memcpy(x->value, value, len);
  n->nxa++;
  return 0;
}

/* The EROFS prefix index of an xattr name and its suffix; 0 for a
 * namespace EROFS cannot store (the directory unpack skips those too: the
 * kernel answers ENOTSUP). */
static uint8_t xattr_index(const char *name, const char **suffix) {
  static const struct {
    const char *prefix;
    uint8_t index;
  } map[] = {
      {"user.", XATTR_INDEX_USER},
      {"system.posix_acl_access", XATTR_INDEX_ACL_ACCESS},
      {"system.posix_acl_default", XATTR_INDEX_ACL_DEFAULT},
      {"trusted.", XATTR_INDEX_TRUSTED},
      {"security.", XATTR_INDEX_SECURITY},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    size_t l = strlen(map[i].prefix);
    if (strncmp(name, map[i].prefix, l) == 0) {
      *suffix = name + l;
      return map[i].index;
    }
  }
  return 0;
}

static int xattr_error(st_error **err, const char *name, const char *why) {
  cleanup_buf st_buf q = ST_BUF_INIT;
  st_buf_quote(&q, name);
  return st_error_set(err, EINVAL, "xattr %s %s", q.data ? q.data : "", why);
}

static int take_xattrs(enode *n, struct archive_entry *e, st_error **err) {
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (strncmp(name, OVERLAY_XATTR, strlen(OVERLAY_XATTR)) == 0)
      return xattr_error(err, name, "is reserved for overlayfs");
    const char *suffix = NULL;
    uint8_t index = xattr_index(name, &suffix);
    if (index == 0)
      continue;
    if (strlen(suffix) > NAME_MAX_EROFS || size > 65535)
      return xattr_error(err, name, "is too long");
    if (xattr_set(n, index, suffix, value, size, err) < 0)
      return -1;
  }
  return 0;
}

static uint32_t xattr_size(const enode *n) {
  if (n->nxa == 0)
    return 0;
  uint64_t s = XATTR_IBODY_HEADER;
  for (size_t i = 0; i < n->nxa; i++)
    s += (XATTR_ENTRY_HEADER + strlen(n->xa[i].suffix) + n->xa[i].len + 3) &
         ~(uint64_t)3;
  return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static void take_meta(enode *n, struct archive_entry *e) {
  n->mode = (n->mode & S_IFMT) | ((uint32_t)archive_entry_perm(e) & 07777);
  n->uid = (uint32_t)archive_entry_uid(e);
  n->gid = (uint32_t)archive_entry_gid(e);
  n->mtime = archive_entry_mtime(e);
  long ns = archive_entry_mtime_nsec(e);
  n->nsec = ns > 0 && ns < 1000000000 ? (uint32_t)ns : 0;
}

/* ---- file data ----------------------------------------------------------- */

static int archive_fail(ew *w, st_error **err) {
  if (w->src_err)
    return st_error_set(err, w->src_err->code, "%s", w->src_err->msg);
  return st_error_set(err, EIO, "%s", archive_error_string(w->ar));
}

/* Decides where a file of n->size bytes goes: whole blocks from the next
 * free block; the last partial block inline after the inode when it fits
 * in the inode's block (at most a 64-byte inode plus its xattrs). */
static int place_data(ew *w, enode *n, st_error **err) {
  uint64_t tail = n->size % BLK(w);
  bool inl = tail > 0 && EROFS_EXTENDED_SIZE + xattr_size(n) + tail <= BLK(w);
  n->tail_len = inl ? (uint32_t)tail : 0;
  n->nblocks = (n->size - n->tail_len + BLK(w) - 1) / BLK(w);
  n->blk = w->data_blk;
  if (n->nblocks > UINT32_MAX - w->data_blk)
    return st_error_set(err, EFBIG, "the layer is too large for one image");
  w->data_blk += n->nblocks;
  if (inl && (n->tail = calloc(1, n->tail_len)) == NULL)
    return st_error_errno(err, ENOMEM, "convert layer");
  return 0;
}

/* Stores bytes [off, off+len) of the node's data. */
static int put_data(ew *w, enode *n, const char *p, size_t len, uint64_t off,
                    st_error **err) {
  if (off >= n->size)
    return 0;
  if (len > n->size - off)
    len = (size_t)(n->size - off);
  uint64_t split = n->size - n->tail_len;
  if (off < split) {
    size_t k = len < split - off ? len : (size_t)(split - off);
    if (pwrite_all(w->out, p, k, (n->blk << w->blkbits) + off, err) < 0)
      return -1;
    p += k;
    len -= k;
    off += k;
  }
  if (len > 0)
    memcpy(n->tail + (off - split), p, len);
  return 0;
}

static int read_file_data(ew *w, enode *n, st_error **err) {
  for (;;) {
    const void *buf = NULL;
    size_t len = 0;
    la_int64_t off = 0;
    int r = archive_read_data_block(w->ar, &buf, &len, &off);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN)
      return archive_fail(w, err);
    if (off >= 0 && put_data(w, n, buf, len, (uint64_t)off, err) < 0)
      return -1;
  }
}

/* ---- entries ------------------------------------------------------------- */

static uint32_t encode_dev(unsigned maj, unsigned min) {
  return (min & 0xffu) | (maj << 8) | ((min & ~0xffu) << 12);
}

static int whiteout_entry(ew *w, enode *dir, const char *base, st_error **err) {
  if (strcmp(base, WH_OPAQUE) == 0)
    return xattr_set(dir, XATTR_INDEX_TRUSTED, "overlay.opaque", "y", 1, err);
  if (strncmp(base, WH_META, strlen(WH_META)) == 0)
    return 0; /* other AUFS metadata: not part of the tree */
  const char *name = base + strlen(WH_PREFIX);
  if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return st_error_set(err, EINVAL, "bad whiteout");
  enode *n = node_new(w, S_IFCHR, err);
  if (n == NULL)
    return -1;
  return set_child(w, dir, name, strlen(name), n, err);
}

static int hardlink_entry(ew *w, enode *dir, const char *base,
                          struct archive_entry *e, st_error **err) {
  char target[PATH_MAX];
  if (st_tar_clean_name(archive_entry_hardlink(e), target, sizeof(target),
                        NULL) != 0)
    return st_error_set(err, EINVAL, "bad hard link target");
  const char *tbase = NULL;
  enode *tdir = walk_parent(w, target, &tbase, false, NULL);
  edent *d = tdir ? lookup(w, tdir, tbase, strlen(tbase)) : NULL;
  if (d == NULL || S_ISDIR(d->ino->mode)) {
    cleanup_buf st_buf q = ST_BUF_INIT;
    st_buf_quote(&q, archive_entry_hardlink(e));
    return st_error_set(err, EINVAL, "hard link to %s: %s",
                        q.data ? q.data : "",
                        d ? "is a directory" : "no such entry before it");
  }
  return set_child(w, dir, base, strlen(base), d->ino, err);
}

static int dir_entry(ew *w, enode *dir, const char *base,
                     struct archive_entry *e, st_error **err) {
  edent *d = lookup(w, dir, base, strlen(base));
  enode *n = d && S_ISDIR(d->ino->mode) ? d->ino : NULL;
  if (n == NULL) {
    n = node_new(w, S_IFDIR, err);
    if (n == NULL || set_child(w, dir, base, strlen(base), n, err) < 0)
      return -1;
    n->parent = dir;
  }
  take_meta(n, e);
  return take_xattrs(n, e, err);
}

static int node_entry(ew *w, enode *dir, const char *base,
                      struct archive_entry *e, st_error **err) {
  mode_t type = archive_entry_filetype(e);
  switch (type) {
  case AE_IFREG:
  case AE_IFLNK:
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO:
    break;
  case AE_IFSOCK:
    return 0; /* sockets are not kept in layers */
  default:
    return st_error_set(err, EINVAL, "unknown file type 0%o", (unsigned)type);
  }
  enode *n = node_new(w, (uint32_t)type, err);
  if (n == NULL)
    return -1;
  take_meta(n, e);
  if (type != AE_IFLNK && take_xattrs(n, e, err) < 0)
    return -1;
  if (type == AE_IFCHR || type == AE_IFBLK)
    n->rdev = encode_dev((unsigned)archive_entry_rdevmajor(e),
                         (unsigned)archive_entry_rdevminor(e));
  if (type == AE_IFLNK) {
    const char *t = archive_entry_symlink(e);
    n->size = t ? strlen(t) : 0;
    if (n->size >= PATH_MAX)
      return st_error_set(err, EINVAL, "symlink target too long");
    if (place_data(w, n, err) < 0 || put_data(w, n, t, n->size, 0, err) < 0)
      return -1;
  }
  if (type == AE_IFREG) {
    la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    n->size = size > 0 ? (uint64_t)size : 0;
    /* Tar index: the data is the run of the tar right after the entry's
     * header blocks, which libarchive has consumed and no further */
    la_int64_t at =
        w->tar_index && n->size > 0 && archive_entry_sparse_count(e) == 0
            ? archive_filter_bytes(w->ar, 0)
            : -1;
    if (at >= 0 && at % 512 == 0 && (uint64_t)at >> w->blkbits <= UINT32_MAX) {
      n->chunked = true;
      n->tar_off = (uint64_t)at;
      if (archive_read_data_skip(w->ar) < ARCHIVE_WARN)
        return archive_fail(w, err);
    } else if (place_data(w, n, err) < 0 ||
               (n->size > 0 && read_file_data(w, n, err) < 0)) {
      return -1;
    }
  }
  return set_child(w, dir, base, strlen(base), n, err);
}

static int place_entry(ew *w, struct archive_entry *e, const char *path,
                       st_error **err) {
  char name[PATH_MAX];
  int clean = st_tar_clean_name(path, name, sizeof(name), err);
  if (clean != 0)
    return clean < 0 ? -1 : 0;
  const char *base = NULL;
  enode *dir = walk_parent(w, name, &base, true, err);
  if (dir == NULL)
    return -1;
  if (strcmp(base, ".") == 0)
    return 0;
  if (w->whiteouts && strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
    return whiteout_entry(w, dir, base, err);
  if (archive_entry_hardlink(e))
    return hardlink_entry(w, dir, base, e, err);
  if (archive_entry_filetype(e) == AE_IFDIR)
    return dir_entry(w, dir, base, e, err);
  return node_entry(w, dir, base, e, err);
}

static int read_entries(ew *w, st_error **err) {
  struct archive_entry *e;
  for (;;) {
    int r = archive_read_next_header(w->ar, &e);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN) {
      if (w->src_err)
        return st_error_set(err, w->src_err->code, "%s", w->src_err->msg);
      return st_error_set(err, EIO, "read tar: %s",
                          archive_error_string(w->ar));
    }
    w->stats.entries++;
    if (w->o && w->o->check && st_tar_check_entry(w->o->check, e, err) < 0)
      return -1;
    const char *path = archive_entry_pathname(e);
    if (path == NULL)
      return st_error_set(err, EINVAL, "entry without a name");
    if (place_entry(w, e, path, err) < 0) {
      cleanup_buf st_buf q = ST_BUF_INIT;
      st_buf_quote(&q, path);
      return st_error_wrap(err, "entry %s", q.data ? q.data : "");
    }
  }
}

/* ---- layout -------------------------------------------------------------- */

static int cmp_dent(const void *a, const void *b) {
  const edent *x = *(edent *const *)a, *y = *(edent *const *)b;
  return strcmp(x->name, y->name);
}

static int cmp_eent(const void *a, const void *b) {
  const eent *x = a, *y = b;
  return strcmp(x->name, y->name);
}

/* Every inode reachable from the root, breadth first (the root first, so
 * its nid is 0), with link counts. */
static int collect(ew *w, enode ***out, size_t *count, st_error **err) {
  size_t cap = 1024, n = 0;
  enode **order = malloc(cap * sizeof(*order));
  if (order == NULL)
    return st_error_errno(err, ENOMEM, "convert layer");
  w->root->seen = true;
  w->root->parent = w->root;
  order[n++] = w->root;
  for (size_t i = 0; i < n; i++) {
    enode *d = order[i];
    if (!S_ISDIR(d->mode))
      continue;
    d->nlink = 2;
    for (size_t k = 0; k < d->nkids; k++) {
      enode *c = d->kids[k]->ino;
      if (S_ISDIR(c->mode)) {
        d->nlink++;
        c->parent = d;
      } else {
        c->nlink++;
      }
      if (c->seen)
        continue;
      c->seen = true;
      if (n == cap) {
        enode **o = realloc(order, cap * 2 * sizeof(*o));
        if (o == NULL) {
          free(order);
          return st_error_errno(err, ENOMEM, "convert layer");
        }
        order = o;
        cap *= 2;
      }
      order[n++] = c;
    }
  }
  *out = order;
  *count = n;
  return 0;
}

typedef struct mt {
  int64_t s;
  uint32_t ns;
} mt;

static int cmp_mt(const void *a, const void *b) {
  const mt *x = a, *y = b;
  if (x->s != y->s)
    return x->s < y->s ? -1 : 1;
  return x->ns < y->ns ? -1 : x->ns > y->ns;
}

/* The most common mtime becomes the build time, so that the most inodes
 * can be compact ones (whose mtime is the build time). */
static int pick_epoch(ew *w, enode **order, size_t n, st_error **err) {
  mt *v = malloc(n * sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "convert layer");
  for (size_t i = 0; i < n; i++)
    v[i] = (mt){order[i]->mtime, order[i]->nsec};
  qsort(v, n, sizeof(*v), cmp_mt);
  size_t best = 0, run = 0;
  for (size_t i = 0; i < n; i++) {
    run = i > 0 && cmp_mt(&v[i], &v[i - 1]) == 0 ? run + 1 : 1;
    if (run > best) {
      best = run;
      w->epoch = v[i].s;
      w->epoch_nsec = v[i].ns;
    }
  }
  free(v);
  return 0;
}

static uint32_t inode_size(const enode *n) {
  return n->ext ? EROFS_EXTENDED_SIZE : EROFS_COMPACT_SIZE;
}

/* A directory's sorted entries, "." and ".." among them, and its size:
 * blocks of dirents (12 bytes each) followed by their names. */
static int dir_entries(enode *d, uint64_t bsz, st_error **err) {
  if (d->nkids > 1) /* (kids is NULL for an empty directory) */
    qsort(d->kids, d->nkids, sizeof(*d->kids), cmp_dent);
  d->ents = malloc((d->nkids + 2) * sizeof(*d->ents));
  if (d->ents == NULL)
    return st_error_errno(err, ENOMEM, "convert layer");
  d->ents[0] = (eent){".", 1, d};
  d->ents[1] = (eent){"..", 2, d->parent};
  for (size_t k = 0; k < d->nkids; k++)
    d->ents[k + 2] = (eent){d->kids[k]->name, d->kids[k]->len, d->kids[k]->ino};
  d->nents = d->nkids + 2;
  qsort(d->ents, d->nents, sizeof(*d->ents), cmp_eent);
  uint64_t blocks = 0, used = 0;
  for (size_t i = 0; i < d->nents; i++) {
    size_t need = DIRENT_SIZE + d->ents[i].len;
    if (used == 0 || used + need > bsz) {
      blocks++;
      used = 0;
    }
    used += need;
  }
  d->size = (blocks - 1) * bsz + used;
  return 0;
}

/* Fills one directory block starting at entry *i; returns its used bytes. */
static size_t dir_block(const enode *d, size_t *i, unsigned char *blk,
                        uint64_t bsz) {
  size_t first = *i, names = 0, end = *i;
  for (; end < d->nents; end++) {
    size_t need = DIRENT_SIZE * (end - first + 1) + names + d->ents[end].len;
    if (end > first && need > bsz)
      break;
    names += d->ents[end].len;
  }
  size_t off = DIRENT_SIZE * (end - first);
  memset(blk, 0, bsz);
  for (size_t k = first; k < end; k++) {
    const eent *e = &d->ents[k];
    unsigned char *de = blk + DIRENT_SIZE * (k - first);
    put64(de, e->ino->nid);
    put16(de + 8, (uint16_t)off);
    uint32_t m = e->ino->mode & S_IFMT;
    de[10] = m == S_IFREG    ? EROFS_FT_REG
             : m == S_IFDIR  ? EROFS_FT_DIR
             : m == S_IFCHR  ? EROFS_FT_CHR
             : m == S_IFBLK  ? EROFS_FT_BLK
             : m == S_IFIFO  ? EROFS_FT_FIFO
             : m == S_IFSOCK ? EROFS_FT_SOCK
             : m == S_IFLNK  ? EROFS_FT_LNK
                             : EROFS_FT_UNKNOWN;
    memcpy(blk + off, e->name, e->len);
    off += e->len;
  }
  *i = end;
  return off;
}

/* Chooses each inode's form (compact when its fields allow) and, for
 * directories, where their blocks go (FLAT_INLINE when the last block fits
 * after the inode). */
static int shape_inodes(ew *w, enode **order, size_t n, st_error **err) {
  for (size_t i = 0; i < n; i++) {
    enode *x = order[i];
    x->ino = (uint32_t)(i + 1);
    x->xsize = xattr_size(x);
    if (S_ISDIR(x->mode) && dir_entries(x, BLK(w), err) < 0)
      return -1;
    x->ext = x->nlink > 0xffff || x->uid > 0xffff || x->gid > 0xffff ||
             x->size > UINT32_MAX || x->mtime != w->epoch ||
             x->nsec != w->epoch_nsec;
    if (!S_ISDIR(x->mode))
      continue;
    uint64_t last = x->size % BLK(w);
    bool inl = last > 0 && inode_size(x) + x->xsize + last <= BLK(w);
    x->tail_len = inl ? (uint32_t)last : 0;
    x->nblocks = (x->size - x->tail_len + BLK(w) - 1) / BLK(w);
    x->blk = w->data_blk;
    if (x->nblocks > UINT32_MAX - w->data_blk)
      return st_error_set(err, EFBIG, "the layer is too large for one image");
    w->data_blk += x->nblocks;
  }
  return 0;
}

/* Gives each inode its place in the metadata area: 32-byte aligned, and
 * never across a block boundary when it fits in one (inline data must
 * not cross one). Returns the area's size in bytes. */
/* The bytes after a chunked inode and its xattrs: padding to 8, then its
 * one chunk index. */
static uint32_t chunk_extra(const enode *x) {
  if (!x->chunked)
    return 0;
  uint32_t end = inode_size(x) + x->xsize;
  return ((end + CHUNK_INDEX_SIZE - 1) & ~(uint32_t)(CHUNK_INDEX_SIZE - 1)) -
         end + CHUNK_INDEX_SIZE;
}

static uint64_t assign_nids(enode **order, size_t n, uint64_t bsz) {
  uint64_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    enode *x = order[i];
    uint64_t total =
        inode_size(x) + (uint64_t)x->xsize + x->tail_len + chunk_extra(x);
    pos = (pos + EROFS_SLOT - 1) & ~(uint64_t)(EROFS_SLOT - 1);
    if (pos % bsz + total > bsz && total <= bsz)
      pos = (pos + bsz - 1) & ~(bsz - 1);
    x->nid = pos / EROFS_SLOT;
    pos += total;
  }
  return pos;
}

static int write_dirs(ew *w, enode **order, size_t n, st_error **err) {
  unsigned char blk[EROFS_BLK]; /* the largest block size */
  for (size_t i = 0; i < n; i++) {
    enode *d = order[i];
    if (!S_ISDIR(d->mode))
      continue;
    size_t e = 0;
    for (uint64_t b = 0; b < d->nblocks; b++) {
      dir_block(d, &e, blk, BLK(w));
      if (pwrite_all(w->out, blk, BLK(w), (d->blk + b) << w->blkbits, err) < 0)
        return -1;
    }
    if (d->tail_len == 0)
      continue;
    size_t used = dir_block(d, &e, blk, BLK(w));
    if ((d->tail = malloc(used)) == NULL)
      return st_error_errno(err, ENOMEM, "convert layer");
    memcpy(d->tail, blk, used);
  }
  return 0;
}

static int write_xattrs(ew *w, const enode *x, st_error **err) {
  if (x->xsize == 0)
    return 0;
  unsigned char hdr[XATTR_IBODY_HEADER] = {0};
  if (wput(w, hdr, sizeof(hdr), err) < 0)
    return -1;
  for (size_t i = 0; i < x->nxa; i++) {
    const exattr *a = &x->xa[i];
    size_t nl = strlen(a->suffix);
    unsigned char eh[XATTR_ENTRY_HEADER];
    eh[0] = (unsigned char)nl;
    eh[1] = a->index;
    put16(eh + 2, (uint16_t)a->len);
    size_t len = XATTR_ENTRY_HEADER + nl + a->len;
    if (wput(w, eh, sizeof(eh), err) < 0 || wput(w, a->suffix, nl, err) < 0 ||
        wput(w, a->value, a->len, err) < 0 ||
        wput(w, NULL, ((len + 3) & ~(size_t)3) - len, err) < 0)
      return -1;
  }
  return 0;
}

static int write_inode(ew *w, const enode *x, st_error **err) {
  unsigned char b[EROFS_EXTENDED_SIZE] = {0};
  uint16_t layout = x->chunked    ? EROFS_CHUNK_BASED
                    : x->tail_len ? EROFS_FLAT_INLINE
                                  : EROFS_FLAT_PLAIN;
  uint16_t icount =
      x->xsize ? (uint16_t)((x->xsize - XATTR_IBODY_HEADER) / 4 + 1) : 0;
  uint32_t u =
      S_ISCHR(x->mode) || S_ISBLK(x->mode) ? x->rdev : (uint32_t)x->blk;
  if (S_ISFIFO(x->mode) || S_ISSOCK(x->mode) || x->nblocks == 0)
    u = S_ISCHR(x->mode) || S_ISBLK(x->mode) ? x->rdev : 0;
  if (x->chunked) { /* one chunk: the smallest power of two holding it */
    unsigned bits = w->blkbits;
    while (bits < 63 && ((uint64_t)1 << bits) < x->size)
      bits++;
    u = EROFS_CHUNK_FORMAT_INDEXES | (bits - w->blkbits);
  }
  if (x->ext) {
    put16(b + IE_FORMAT, (uint16_t)(layout << 1 | EROFS_INODE_EXTENDED));
    put16(b + IE_XATTR_ICOUNT, icount);
    put16(b + IE_MODE, (uint16_t)x->mode);
    put64(b + IE_SIZE, x->size);
    put32(b + IE_U, u);
    put32(b + IE_INO, x->ino);
    put32(b + IE_UID, x->uid);
    put32(b + IE_GID, x->gid);
    put64(b + IE_MTIME, (uint64_t)x->mtime);
    put32(b + IE_MTIME_NSEC, x->nsec);
    put32(b + IE_NLINK, x->nlink);
  } else {
    put16(b + IC_FORMAT, (uint16_t)(layout << 1 | EROFS_INODE_COMPACT));
    put16(b + IC_XATTR_ICOUNT, icount);
    put16(b + IC_MODE, (uint16_t)x->mode);
    put16(b + IC_NLINK, (uint16_t)x->nlink);
    put32(b + IC_SIZE, (uint32_t)x->size);
    put32(b + IC_U, u);
    put32(b + IC_INO, x->ino);
    put16(b + IC_UID, (uint16_t)x->uid);
    put16(b + IC_GID, (uint16_t)x->gid);
  }
  if (wput(w, b, inode_size(x), err) < 0 || write_xattrs(w, x, err) < 0)
    return -1;
  if (x->chunked) {
    unsigned char idx[CHUNK_INDEX_SIZE] = {0};
    put16(idx + 2, 1); /* the tar: the first extra device */
    put32(idx + 4, (uint32_t)(x->tar_off >> w->blkbits));
    return wput(w, NULL, chunk_extra(x) - CHUNK_INDEX_SIZE, err) < 0
               ? -1
               : wput(w, idx, sizeof(idx), err);
  }
  return wput(w, x->tail, x->tail_len, err);
}

static int write_meta(ew *w, enode **order, size_t n, uint64_t meta_blk,
                      st_error **err) {
  if ((w->wbuf = malloc(WBUF_CAP)) == NULL)
    return st_error_errno(err, ENOMEM, "convert layer");
  w->wpos = meta_blk << w->blkbits;
  for (size_t i = 0; i < n; i++) {
    uint64_t at = (meta_blk << w->blkbits) + order[i]->nid * EROFS_SLOT;
    if (wput(w, NULL, at - wtell(w), err) < 0 ||
        write_inode(w, order[i], err) < 0)
      return -1;
  }
  uint64_t end = (wtell(w) + BLK(w) - 1) & ~(BLK(w) - 1);
  if (wput(w, NULL, end - wtell(w), err) < 0 || wflush(w, err) < 0)
    return -1;
  return 0;
}

static int write_super(ew *w, uint64_t inodes, uint64_t blocks,
                       uint64_t meta_blk, st_error **err) {
  unsigned char sb[SB_SIZE] = {0};
  put32(sb + SB_MAGIC, EROFS_MAGIC);
  sb[SB_BLKSZBITS] = (unsigned char)w->blkbits;
  put16(sb + SB_ROOT_NID, (uint16_t)w->root->nid);
  put64(sb + SB_INOS, inodes);
  put64(sb + SB_BUILD_TIME, (uint64_t)w->epoch);
  put32(sb + SB_BUILD_NSEC, w->epoch_nsec);
  put32(sb + SB_BLOCKS, (uint32_t)blocks);
  put32(sb + SB_META_BLKADDR, (uint32_t)meta_blk);
  memcpy(sb + SB_VOLUME, "strata-layer", 12);
  if (w->tar_index) { /* the tar as device 1, its slot after the sb */
    put32(sb + SB_FEATURE_INCOMPAT, EROFS_FEATURE_INCOMPAT_CHUNKED_FILE |
                                        EROFS_FEATURE_INCOMPAT_DEVICE_TABLE);
    put16(sb + SB_EXTRA_DEVICES, 1);
    put16(sb + SB_DEVT_SLOTOFF, (EROFS_SB_OFFSET + SB_SIZE) / DEVT_SLOT_SIZE);
    unsigned char slot[DEVT_SLOT_SIZE] = {0};
    if (w->device_tag)
      memcpy(slot + DEVT_TAG, w->device_tag,
             strnlen(w->device_tag, DEVT_TAG_LEN));
    uint64_t tar_blocks = (w->tar_bytes + BLK(w) - 1) >> w->blkbits;
    if (tar_blocks > UINT32_MAX)
      return st_error_set(err, EFBIG, "the layer is too large for one image");
    put32(slot + DEVT_BLOCKS, (uint32_t)tar_blocks);
    if (pwrite_all(w->out, slot, sizeof(slot), EROFS_SB_OFFSET + SB_SIZE, err) <
        0)
      return -1;
  }
  if (pwrite_all(w->out, sb, sizeof(sb), EROFS_SB_OFFSET, err) < 0)
    return -1;
  if (ftruncate(w->out, (off_t)(blocks << w->blkbits)) < 0)
    return st_error_errno(err, errno, "write image");
  return 0;
}

static int finish(ew *w, st_error **err) {
  enode **order = NULL;
  size_t n = 0;
  if (collect(w, &order, &n, err) < 0)
    return -1;
  int r = -1;
  if (pick_epoch(w, order, n, err) < 0 || shape_inodes(w, order, n, err) < 0)
    goto out;
  uint64_t meta_blk = w->data_blk;
  uint64_t meta_bytes = assign_nids(order, n, BLK(w));
  uint64_t blocks = meta_blk + ((meta_bytes + BLK(w) - 1) >> w->blkbits);
  if (blocks > UINT32_MAX || meta_blk > UINT32_MAX) {
    st_error_set(err, EFBIG, "the layer is too large for one image");
    goto out;
  }
  if (write_dirs(w, order, n, err) < 0 ||
      write_meta(w, order, n, meta_blk, err) < 0 ||
      write_super(w, n, blocks, meta_blk, err) < 0)
    goto out;
  w->stats.inodes = n;
  w->stats.blocks = blocks;
  r = 0;
out:
  free(order);
  return r;
}

/* ---- entry points -------------------------------------------------------- */

static la_ssize_t pull(struct archive *a, void *data, const void **buf) {
  ew *w = data;
  size_t len = 0;
  int r = st_decomp_read(w->src, buf, &len, &w->src_err);
  if (r < 0) {
    archive_set_error(a, EIO, "%s", w->src_err->msg);
    return -1;
  }
  w->tar_bytes += len;
  if (r > 0 && len > 0 && w->o && w->o->tap &&
      w->o->tap(w->o->ctx, *buf, len, &w->src_err) < 0) {
    archive_set_error(a, EIO, "%s", w->src_err->msg);
    return -1;
  }
  return r == 0 ? 0 : (la_ssize_t)len;
}

/* With a tap: the bytes after the tar's end (padding) go to the tap too,
 * then o->end gives the device tag. */
static int tap_finish(ew *w, st_error **err) {
  for (;;) {
    const void *buf = NULL;
    size_t len = 0;
    int r = st_decomp_read(w->src, &buf, &len, &w->src_err);
    if (r < 0)
      return st_error_set(err, w->src_err->code, "%s", w->src_err->msg);
    if (r == 0)
      break;
    w->tar_bytes += len;
    if (len > 0 && w->o->tap(w->o->ctx, buf, len, err) < 0)
      return -1;
  }
  if (w->o->end == NULL)
    return 0;
  if (w->o->end(w->o->ctx, w->tag, err) < 0)
    return -1;
  w->tag[ST_EROFS_TAG_MAX] = '\0';
  w->device_tag = w->tag;
  return 0;
}

static void ew_free(ew *w) {
  for (enode *n = w->all, *nx; n; n = nx) {
    nx = n->next;
    node_free(n);
  }
  for (size_t i = 0; i < w->hcap; i++)
    for (edent *d = w->htab[i], *nx; d; d = nx) {
      nx = d->hnext;
      free(d);
    }
  free(w->htab);
  free(w->wbuf);
  if (w->ar)
    archive_read_free(w->ar);
  st_decomp_free(w->src);
  st_error_free(w->src_err);
}

int st_erofs_write_fd(int fd_in, int fd_out, const st_erofs_opts *opts,
                      st_erofs_stats *stats, st_error **err) {
  bool index = opts && opts->tar_index;
  ew w = {.out = fd_out,
          .whiteouts = opts ? opts->whiteouts : true,
          .tar_index = index,
          .device_tag = index ? opts->device_tag : NULL,
          .o = opts,
          .blkbits = index ? EROFS_TAR_BLKBITS : EROFS_BLKBITS};
  /* the data area starts after the superblock (and the device table) */
  uint64_t head = EROFS_SB_OFFSET + SB_SIZE + (index ? DEVT_SLOT_SIZE : 0);
  w.data_blk = (head + BLK(&w) - 1) >> w.blkbits;
  int r = -1;
  if ((w.root = node_new(&w, S_IFDIR | 0755, err)) == NULL ||
      st_decomp_open(fd_in, &w.src, err) < 0)
    goto out;
  if ((w.ar = archive_read_new()) == NULL) {
    st_error_errno(err, ENOMEM, "convert layer");
    goto out;
  }
  archive_read_support_format_tar(w.ar);
  archive_read_support_format_gnutar(w.ar);
  if (archive_read_open2(w.ar, &w, NULL, pull, NULL, NULL) != ARCHIVE_OK) {
    st_error_set(err, EIO, "read tar: %s", archive_error_string(w.ar));
    goto out;
  }
  bool tap = opts && opts->tap;
  if (w.tar_index && !tap && strcmp(st_decomp_format(w.src), "none") != 0) {
    /* compressed: no tar to index, a full image */
    w.tar_index = false;
    w.device_tag = NULL;
    w.blkbits = EROFS_BLKBITS;
    w.data_blk = (EROFS_SB_OFFSET + SB_SIZE + BLK(&w) - 1) >> w.blkbits;
  }
  if (read_entries(&w, err) < 0 || (tap && tap_finish(&w, err) < 0) ||
      finish(&w, err) < 0)
    goto out;
  if (stats)
    *stats = w.stats;
  r = 0;
out:
  ew_free(&w);
  return r;
}

int st_erofs_from_tar(int fd_in, const char *path_out,
                      const st_erofs_opts *opts, st_erofs_stats *stats,
                      st_error **err) {
  cleanup_free char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp-XXXXXX", path_out) < 0)
    return st_error_errno(err, ENOMEM, "convert layer");
  cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "create `%s`", tmp);
  bool sync = !(opts && opts->no_sync);
  if (st_erofs_write_fd(fd_in, fd, opts, stats, err) < 0)
    goto fail;
  if (fchmod(fd, 0644) < 0 || (sync && fsync(fd) < 0)) {
    st_error_errno(err, errno, "sync `%s`", tmp);
    goto fail;
  }
  if (rename(tmp, path_out) < 0) {
    st_error_errno(err, errno, "rename `%s` to `%s`", tmp, path_out);
    goto fail;
  }
  if (sync) {
    cleanup_free char *dir = strdup(path_out);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
      *slash = '\0';
    cleanup_close int dfd = open(slash ? (*dir ? dir : "/") : ".",
                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
      return st_error_errno(err, errno, "sync the directory of `%s`", path_out);
  }
  return 0;
fail:
  unlink(tmp);
  return st_error_wrap(err, "write EROFS image `%s`", path_out);
}

int st_erofs_index_tag(const char *path, char tag[65], st_error **err) {
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "open `%s`", path);
  unsigned char sb[SB_SIZE], slot[DEVT_SLOT_SIZE];
  if (pread(fd, sb, sizeof(sb), EROFS_SB_OFFSET) != (ssize_t)sizeof(sb) ||
      get32(sb + SB_MAGIC) != EROFS_MAGIC)
    return st_error_set(err, EIO, "not an EROFS image (no superblock)");
  if (get16(sb + SB_EXTRA_DEVICES) == 0)
    return 0;
  off_t at = (off_t)get16(sb + SB_DEVT_SLOTOFF) * DEVT_SLOT_SIZE;
  if (pread(fd, slot, sizeof(slot), at) != (ssize_t)sizeof(slot))
    return st_error_set(err, EIO, "no device table");
  memcpy(tag, slot + DEVT_TAG, DEVT_TAG_LEN);
  tag[DEVT_TAG_LEN] = '\0';
  return 1;
}
