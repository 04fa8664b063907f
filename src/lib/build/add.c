/* What ADD does beyond COPY: a local tar archive (plain, gzip, bzip2, xz
 * or zstd, told by its content) is unpacked at the destination, and a URL
 * is downloaded (not unpacked) with mode 0600 and its Last-Modified time,
 * checked against --checksum when given.
 *
 * An archive's entries are re-written into the step's layer under the
 * destination: names cleaned, "..", absolute links out of the layer and
 * whiteout names (".wh.*", which a layer would read as deletions) are
 * refused with the entry named. */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/add.h"
#include "digest/digest.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/http.h"

static void read_freep(struct archive **a) {
  if (*a)
    archive_read_free(*a);
}
#define cleanup_aread __attribute__((cleanup(read_freep)))

static struct archive *reader_new(void) {
  struct archive *a = archive_read_new();
  if (a == NULL)
    return NULL;
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  return a;
}

int st_badd_is_archive(int fd) {
  cleanup_aread struct archive *a = reader_new();
  struct archive_entry *e;
  if (a == NULL || archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
    return 0;
  int r = archive_read_next_header(a, &e);
  lseek(fd, 0, SEEK_SET);
  return r == ARCHIVE_OK || r == ARCHIVE_WARN ||
         (r == ARCHIVE_EOF && archive_format(a) != 0);
}

/* ---- unpacking into the layer ------------------------------------------ */

/* "./a//b/" -> "a/b"; NULL (errno EINVAL) with a ".." component. */
static char *clean_name(const char *name) {
  st_buf b = ST_BUF_INIT;
  for (const char *p = name; *p;) {
    size_t len = strcspn(p, "/");
    if (len == 2 && strncmp(p, "..", 2) == 0) {
      st_buf_free(&b);
      errno = EINVAL;
      return NULL;
    }
    if (len && !(len == 1 && *p == '.'))
      st_buf_printf(&b, "%s%.*s", b.len ? "/" : "", (int)len, p);
    p += len;
    while (*p == '/')
      p++;
  }
  return b.data ? st_buf_steal(&b) : strdup("");
}

static bool whiteout(const char *clean) {
  const char *base = strrchr(clean, '/');
  return strncmp(base ? base + 1 : clean, ".wh.", 4) == 0;
}

static int write_fail(struct archive *w, const char *what, st_error **err) {
  const char *m = archive_error_string(w);
  return st_error_set(err, archive_errno(w) > 0 ? archive_errno(w) : EIO,
                      "ADD: write \"%s\": %s", what, m ? m : "error");
}

/* Directory entries for dest and its parents ("app", "app/x"). */
static int write_parents(struct archive *w, const char *dest,
                         const st_badd_spec *s, st_error **err) {
  cleanup_free char *d = clean_name(dest);
  if (d == NULL)
    return st_error_set(err, EINVAL, "ADD: bad destination %s", dest);
  for (char *p = d; *p;) {
    p += strcspn(p, "/");
    char saved = *p;
    *p = '\0';
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, d);
    archive_entry_set_filetype(e, AE_IFDIR);
    archive_entry_set_perm(e, 0755);
    archive_entry_set_mtime(e, s->mtime >= 0 ? s->mtime : time(NULL), 0);
    int r = archive_write_header(w, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
      return write_fail(w, d, err);
    *p = saved;
    if (*p)
      p++;
  }
  return 0;
}

/* Re-names entry e under prefix; refuses what a layer cannot hold. */
static int rename_entry(struct archive_entry *e, const char *prefix,
                        const char *archive, const st_badd_spec *s,
                        st_error **err) {
  const char *name = archive_entry_pathname(e);
  cleanup_free char *clean = clean_name(name ? name : "");
  if (clean == NULL)
    return st_error_set(err, EINVAL,
                        "ADD %s: entry \"%.200s\": path leaves "
                        "the destination (\"..\")",
                        archive, name);
  if (whiteout(clean))
    return st_error_set(err, EINVAL,
                        "ADD %s: entry \"%.200s\": a whiteout "
                        "name cannot be stored in a layer",
                        archive, name);
  cleanup_free char *full = NULL;
  if (asprintf(&full, "%s%s%s", prefix, *prefix && *clean ? "/" : "", clean) <
      0)
    return st_error_errno(err, ENOMEM, "ADD");
  archive_entry_set_pathname(e, *full ? full : ".");
  const char *hl = archive_entry_hardlink(e);
  if (hl) {
    cleanup_free char *hc = clean_name(hl), *hfull = NULL;
    if (hc == NULL)
      return st_error_set(err, EINVAL,
                          "ADD %s: hard link \"%.200s\" leaves "
                          "the archive",
                          archive, hl);
    if (asprintf(&hfull, "%s%s%s", prefix, *prefix ? "/" : "", hc) < 0)
      return st_error_errno(err, ENOMEM, "ADD");
    archive_entry_set_hardlink(e, hfull);
  }
  if (s->chown) {
    archive_entry_set_uid(e, s->uid);
    archive_entry_set_gid(e, s->gid);
    archive_entry_set_uname(e, NULL);
    archive_entry_set_gname(e, NULL);
  }
  if (s->mtime >= 0)
    archive_entry_set_mtime(e, s->mtime, 0);
  return 0;
}

static int copy_one(struct archive *r, struct archive *w, const char *archive,
                    const char *prefix, const st_badd_spec *s, st_error **err) {
  struct archive_entry *e;
  int rc;
  while ((rc = archive_read_next_header(r, &e)) == ARCHIVE_OK ||
         rc == ARCHIVE_WARN) {
    if (rename_entry(e, prefix, archive, s, err) < 0)
      return -1;
    if (archive_write_header(w, e) != ARCHIVE_OK)
      return write_fail(w, archive_entry_pathname(e), err);
    const void *buf;
    size_t len;
    la_int64_t off;
    while ((rc = archive_read_data_block(r, &buf, &len, &off)) == ARCHIVE_OK)
      if (archive_write_data(w, buf, len) < 0)
        return write_fail(w, archive_entry_pathname(e), err);
    if (rc != ARCHIVE_EOF)
      break;
  }
  if (rc != ARCHIVE_EOF) {
    const char *m = archive_error_string(r);
    return st_error_set(err, EIO, "ADD %s: %s", archive,
                        m ? m : "corrupt archive");
  }
  return 0;
}

int st_badd_write(const st_badd_spec *s, int out, st_error **err) {
  struct archive *w = archive_write_new();
  if (w == NULL)
    return st_error_errno(err, ENOMEM, "ADD");
  int r = 0;
  if (archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
      archive_write_add_filter_none(w) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK ||
      archive_write_open_fd(w, out) != ARCHIVE_OK)
    r = write_fail(w, "-", err);
  cleanup_free char *prefix = clean_name(s->dest);
  if (r == 0 && prefix == NULL)
    r = st_error_set(err, EINVAL, "ADD: bad destination %s", s->dest);
  if (r == 0)
    r = write_parents(w, s->dest, s, err);
  for (size_t i = 0; r == 0 && i < s->n; i++) {
    cleanup_aread struct archive *rd = reader_new();
    if (rd == NULL || archive_read_open_fd(rd, s->fds[i], 65536) != ARCHIVE_OK)
      r = st_error_set(err, EIO, "ADD %s: not a readable archive", s->names[i]);
    else
      r = copy_one(rd, w, s->names[i], prefix, s, err);
  }
  if (r == 0 && archive_write_close(w) != ARCHIVE_OK)
    r = write_fail(w, "-", err);
  archive_write_free(w);
  return r;
}

/* ---- URLs --------------------------------------------------------------- */

static size_t sink(char *p, size_t size, size_t n, void *ctx) {
  int fd = *(int *)ctx;
  size_t len = size * n;
  for (size_t done = 0; done < len;) {
    ssize_t k = write(fd, p + done, len - done);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return 0;
    done += (size_t)k;
  }
  return len;
}

/* The file name a URL gives: its path's last component, "download" when
 * it has none. */
static char *url_name(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? strchr(p + 3, '/') : NULL;
  if (p == NULL)
    return strdup("download");
  size_t len = strcspn(p, "?#");
  const char *end = p + len;
  while (end > p && end[-1] == '/')
    end--;
  const char *start = end;
  while (start > p && start[-1] != '/')
    start--;
  if (start == end)
    return strdup("download");
  return strndup(start, (size_t)(end - start));
}

static int verify(const char *path, const char *want, st_error **err) {
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "open %s", path);
  st_sha256 *h = st_sha256_new();
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "checksum");
  char buf[65536], got[ST_DIGEST_LEN];
  ssize_t k;
  while ((k = read(fd, buf, sizeof(buf))) > 0)
    st_sha256_update(h, buf, (size_t)k);
  st_sha256_final(h, got);
  if (strcmp(got, want) != 0)
    return st_error_set(err, EIO, "digest mismatch %s: %s", got, want);
  return 0;
}

int st_badd_fetch(const char *url, const char *checksum, const char *dir,
                  char **name, st_error **err) {
  if (checksum && !st_digest_valid(checksum))
    return st_error_set(err, EINVAL,
                        "invalid checksum %s: expected "
                        "sha256:<64 hex digits>",
                        checksum);
  cleanup_free char *n = url_name(url), *path = NULL;
  if (n == NULL || asprintf(&path, "%s/%s", dir, n) < 0)
    return st_error_errno(err, ENOMEM, "ADD %s", url);
  cleanup_close int fd =
      open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return st_error_errno(err, errno, "ADD %s: create %s", url, path);
  CURL *c = curl_easy_init();
  if (c == NULL)
    return st_error_errno(err, ENOMEM, "ADD %s", url);
  char msg[CURL_ERROR_SIZE] = "";
  st_http_set_url(c, url);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, msg);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &fd);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(c);
  long filetime = -1;
  curl_easy_getinfo(c, CURLINFO_FILETIME, &filetime);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    return st_error_set(err, EIO, "ADD %s: %s", url,
                        *msg ? msg : curl_easy_strerror(rc));
  if (filetime >= 0) {
    struct timespec ts[2] = {{.tv_sec = filetime}, {.tv_sec = filetime}};
    futimens(fd, ts);
  }
  if (checksum && verify(path, checksum, err) < 0)
    return st_error_wrap(err, "ADD %s", url);
  *name = steal_pointer(&n);
  return 0;
}
