/* Listing a repository's tags (GET /v2/<repo>/tags/list), page by page. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "ref/ref.h"
#include "registry/internal.h"
#include "util/cleanup.h"

#define TAGS_BODY_LIMIT (8u << 20)
/* A registry that keeps sending "next" pages is not followed forever. */
#define MAX_PAGES 10000

void st_tags_free(char **tags, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(tags[i]);
  free(tags);
}

static void ref_clearp(st_ref *r) {
  st_ref_clear(r);
}

/* The target of the Link whose rel is "next" ("<url>; rel=\"next\""),
 * malloc'd, or NULL. */
static char *next_link(const char *link) {
  for (const char *p = link; p && *p;) {
    const char *lt = strchr(p, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (gt == NULL)
      return NULL;
    const char *end = strchr(gt, ',');
    size_t params = end ? (size_t)(end - gt) : strlen(gt);
    cleanup_free char *rel = strndup(gt, params);
    if (rel && strstr(rel, "rel=\"next\""))
      return strndup(lt + 1, (size_t)(gt - lt - 1));
    p = end ? end + 1 : NULL;
  }
  return NULL;
}

typedef struct tag_list {
  char **v;
  size_t n, cap;
} tag_list;

static int add_tags(tag_list *l, const st_http_resp *resp, const char *repo,
                    st_error **err) {
  json_error_t jerr;
  cleanup_json json_t *j = json_loadb(resp->body.data ? resp->body.data : "",
                                      resp->body.len, 0, &jerr);
  const json_t *tags = json_object_get(j, "tags");
  if (!json_is_object(j) || !(json_is_array(tags) || json_is_null(tags)))
    return st_error_set(err, EPROTO, "tags of %s: not a tag list", repo);
  for (size_t i = 0; i < json_array_size(tags); i++) {
    const char *t = json_string_value(json_array_get(tags, i));
    if (t == NULL)
      continue;
    if (l->n + 1 >= l->cap) {
      size_t cap = l->cap ? l->cap * 2 : 16;
      char **nv = realloc(l->v, cap * sizeof(*nv));
      if (nv == NULL)
        return st_error_errno(err, ENOMEM, "tags");
      l->v = nv;
      l->cap = cap;
    }
    if ((l->v[l->n] = strdup(t)) == NULL)
      return st_error_errno(err, ENOMEM, "tags");
    l->n++;
  }
  return 0;
}

static int first_page(const st_reg_client *c, char **path) {
  const char *page = getenv("STRATA_REGISTRY_PAGE");
  if (page && atoi(page) > 0)
    return asprintf(path, "/v2/%s/tags/list?n=%d", c->repo, atoi(page));
  return asprintf(path, "/v2/%s/tags/list", c->repo);
}

static int list_pages(st_reg_client *c, const char *repo, tag_list *l,
                      st_error **err) {
  cleanup_free char *path = NULL;
  if (first_page(c, &path) < 0)
    return st_error_errno(err, ENOMEM, "tags");
  for (int page = 0; path && page < MAX_PAGES; page++) {
    st_http_resp resp;
    st_http_resp_init(&resp, TAGS_BODY_LIMIT);
    int r = st_reg_request(c, "GET", path, NULL, NULL, &resp, err);
    if (r == 0 && resp.status != 200)
      r = st_reg_status_error(c, &resp, err, "list the tags of %s", repo);
    if (r == 0)
      r = add_tags(l, &resp, repo, err);
    free(path);
    path = r == 0 && resp.link ? next_link(resp.link) : NULL;
    st_http_resp_clear(&resp);
    if (r < 0)
      return -1;
  }
  return 0;
}

int st_registry_list_tags(const char *repo_ref, const st_reg_opts *o,
                          char ***tags, size_t *n, st_error **err) {
  *tags = NULL;
  *n = 0;
  __attribute__((cleanup(ref_clearp))) st_ref r = {0};
  if (st_ref_parse(repo_ref, &r, err) < 0)
    return -1;
  const char *last = strrchr(repo_ref, '/');
  if (r.digest || strchr(last ? last : repo_ref, ':'))
    return st_error_set(err, EINVAL, "tag can't be used with --all-tags/-a");
  cleanup_free char *repo = st_ref_repo(&r);
  if (repo == NULL)
    return st_error_errno(err, ENOMEM, "tags");
  cleanup_client st_reg_client *c = NULL;
  if (st_reg_client_new(r.domain, r.path, "pull", o, &c, err) < 0)
    return st_error_wrap(err, "list the tags of %s", repo);
  tag_list l = {0};
  if (list_pages(c, repo, &l, err) < 0) {
    st_tags_free(l.v, l.n);
    return -1;
  }
  if (l.n == 0) {
    st_tags_free(l.v, l.n);
    return st_error_set(err, ENOENT, "%s: the repository has no tags", repo);
  }
  l.v[l.n] = NULL;
  *tags = l.v;
  *n = l.n;
  return 0;
}
