/* `-u USER[:GROUP]` against the image's /etc/passwd and /etc/group, read
 * from the topmost layer that has them (a whiteout hides lower ones). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "runtime/internal.h"
#include "util/cleanup.h"

/* Opens etc/<name> of the image, or NULL when it has none. */
static FILE *open_image_file(char **lower, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *p = NULL;
    if (asprintf(&p, "%s/etc/%s", lower[i], name) < 0)
      return NULL;
    struct stat st;
    if (lstat(p, &st) < 0)
      continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
      return NULL; /* whiteout */
    if (!S_ISREG(st.st_mode))
      return NULL;
    return fopen(p, "re");
  }
  return NULL;
}

static bool parse_id(const char *s, unsigned long *out) {
  char *end;
  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  *out = strtoul(s, &end, 10);
  return errno == 0 && *end == '\0' && *out <= 0xffffffffUL;
}

/* Splits a colon-separated line into at most max fields (in place). */
static size_t fields(char *line, char **f, size_t max) {
  size_t n = 0;
  line[strcspn(line, "\n")] = '\0';
  for (char *p = line; p && n < max; n++) {
    f[n] = p;
    p = strchr(p, ':');
    if (p)
      *p++ = '\0';
  }
  return n;
}

/* Finds a passwd entry by name or uid. */
static int find_passwd(FILE *f, const char *user, st_user *out, char **name) {
  char line[4096], *fl[7];
  unsigned long id;
  bool numeric = parse_id(user, &id);
  while (f && fgets(line, sizeof(line), f)) {
    if (fields(line, fl, 7) < 7)
      continue;
    unsigned long uid, gid;
    if (!parse_id(fl[2], &uid) || !parse_id(fl[3], &gid))
      continue;
    if (numeric ? uid != id : strcmp(fl[0], user) != 0)
      continue;
    out->uid = (uid_t)uid;
    out->gid = (gid_t)gid;
    out->home = strdup(fl[5]);
    *name = strdup(fl[0]);
    return 0;
  }
  return -1;
}

static bool member_of(char *members, const char *name) {
  for (char *m = members, *c; m && *m; m = c) {
    c = strchr(m, ',');
    if (c)
      *c++ = '\0';
    if (strcmp(m, name) == 0)
      return true;
  }
  return false;
}

/* Resolves group (name or gid) into *gid and collects the supplementary
 * groups of user (when named). */
static int scan_groups(FILE *f, const char *group, const char *user,
                       st_user *out) {
  char line[4096], *fl[4];
  unsigned long want = 0;
  bool numeric = group && parse_id(group, &want), found = group == NULL;
  while (f && fgets(line, sizeof(line), f)) {
    unsigned long gid;
    if (fields(line, fl, 4) < 3 || !parse_id(fl[2], &gid))
      continue;
    if (group && (numeric ? gid == want : strcmp(fl[0], group) == 0)) {
      out->gid = (gid_t)gid;
      found = true;
    }
    if (user && fl[3] && member_of(fl[3], user)) {
      gid_t *g = realloc(out->groups, (out->n_groups + 1) * sizeof(gid_t));
      if (g == NULL)
        return -1;
      out->groups = g;
      g[out->n_groups++] = (gid_t)gid;
    }
  }
  if (!found && numeric) {
    out->gid = (gid_t)want;
    found = true;
  }
  return found ? 0 : -1;
}

/* Docker's supplementary groups hold the primary group first (`id` shows
 * groups=1000(app) for -u 1000:1000), then the /etc/group entries that
 * list a named user. */
static int add_primary_group(st_user *u) {
  for (size_t i = 0; i < u->n_groups; i++)
    if (u->groups[i] == u->gid)
      return 0;
  gid_t *g = realloc(u->groups, (u->n_groups + 1) * sizeof(gid_t));
  if (g == NULL)
    return -1;
  memmove(g + 1, g, u->n_groups * sizeof(gid_t));
  g[0] = u->gid;
  u->groups = g;
  u->n_groups++;
  return 0;
}

int st_user_resolve(char **lower, size_t n, const char *spec, st_user *out,
                    st_error **err) {
  memset(out, 0, sizeof(*out));
  cleanup_free char *dup = strdup(spec && *spec ? spec : "0");
  if (dup == NULL)
    return st_error_errno(err, ENOMEM, "resolve user");
  char *group = strchr(dup, ':');
  if (group)
    *group++ = '\0';
  cleanup_free char *name = NULL;
  cleanup_file FILE *pw = open_image_file(lower, n, "passwd");
  unsigned long id;
  if (find_passwd(pw, dup, out, &name) < 0) {
    if (!parse_id(dup, &id))
      return st_error_set(err, EINVAL,
                          "unable to find user %s: no matching entries in "
                          "passwd file",
                          dup);
    out->uid = (uid_t)id;
    out->gid = 0;
  }
  cleanup_file FILE *gr = open_image_file(lower, n, "group");
  if (scan_groups(gr, group, group ? NULL : name, out) < 0) {
    st_user_clear(out);
    return st_error_set(err, EINVAL,
                        "unable to find group %s: no matching entries in "
                        "group file",
                        group);
  }
  if (add_primary_group(out) < 0) {
    st_user_clear(out);
    return st_error_errno(err, ENOMEM, "resolve user");
  }
  if (out->home == NULL)
    out->home = strdup("/");
  return 0;
}

/* One --group-add: a name of the image's /etc/group, else a number. */
static int group_gid(char **lower, size_t n, const char *name, gid_t *out) {
  cleanup_file FILE *gr = open_image_file(lower, n, "group");
  char line[4096], *fl[4];
  unsigned long gid;
  while (gr && fgets(line, sizeof(line), gr))
    if (fields(line, fl, 4) >= 3 && strcmp(fl[0], name) == 0 &&
        parse_id(fl[2], &gid)) {
      *out = (gid_t)gid;
      return 0;
    }
  if (!parse_id(name, &gid))
    return -1;
  *out = (gid_t)gid;
  return 0;
}

int st_user_add_groups(char **lower, size_t n, char *const *names,
                       size_t n_names, st_user *u, st_error **err) {
  for (size_t i = 0; i < n_names; i++) {
    gid_t gid;
    if (group_gid(lower, n, names[i], &gid) < 0)
      return st_error_set(err, EINVAL,
                          "Unable to find group %s: no matching entries in "
                          "group file",
                          names[i]);
    bool have = false;
    for (size_t j = 0; j < u->n_groups; j++)
      have = have || u->groups[j] == gid;
    if (have)
      continue;
    gid_t *g = realloc(u->groups, (u->n_groups + 1) * sizeof(gid_t));
    if (g == NULL)
      return st_error_errno(err, ENOMEM, "--group-add");
    u->groups = g;
    g[u->n_groups++] = gid;
  }
  return 0;
}

void st_user_clear(st_user *u) {
  free(u->groups);
  free(u->home);
  memset(u, 0, sizeof(*u));
}
