/* Image references: Docker's reference grammar (distribution/reference
 * ParseNormalizedNamed), its normalization and its short ("familiar") form.
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path
 *   domain    := host [ ":" port ]      host: DNS-like name, IPv4, [IPv6]
 *   path      := component ( "/" component )*
 *   component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest    := "sha256:" 64 lowercase hex digits
 *
 * The first "/"-separated part of a name is a domain when it contains '.'
 * or ':', is "localhost", or contains an uppercase letter (path components
 * cannot); otherwise the domain is docker.io. On docker.io a one-component
 * path gets the "library/" namespace, and "index.docker.io" is docker.io.
 */
#ifndef STRATA_REF_H
#define STRATA_REF_H

#include <stdbool.h>

#include "util/error.h"

/* Longest full name (domain + "/" + path) Docker accepts. */
#define ST_REF_NAME_MAX 255
/* Longest tag Docker accepts. */
#define ST_REF_TAG_MAX 128

typedef struct st_ref {
  char *domain; /* "docker.io", "localhost:5000", "quay.io" */
  char *path;   /* "library/ubuntu", "team/app" */
  char *tag;    /* "latest" when neither tag nor digest was given; NULL when
                   only a digest was given */
  char *digest; /* "sha256:<64hex>" or NULL */
} st_ref;

/* Parses and normalizes s into *out, which the caller releases with
 * st_ref_clear(). Examples:
 *   "ubuntu"                -> docker.io/library/ubuntu:latest
 *   "team/app"              -> docker.io/team/app:latest
 *   "docker.io/ubuntu"      -> docker.io/library/ubuntu:latest
 *   "localhost:5000/x:v1"   -> localhost:5000/x:v1
 *   "name@sha256:..."       -> tag NULL, digest set
 *   "name:tag@sha256:..."   -> both set
 * Returns 0, or -1 with *out zeroed and *err set: code EINVAL with a message
 * starting "invalid reference format" that names the offending part, or
 * ENOMEM. */
int st_ref_parse(const char *s, st_ref *out, st_error **err);

/* Frees the fields of r and zeroes it; r may already be cleared. */
void st_ref_clear(st_ref *r);

/* "docker.io/library/ubuntu". Returns a malloc'd string, NULL when out of
 * memory. */
char *st_ref_repo(const st_ref *r);

/* "repo:tag", "repo:tag@digest" or "repo@digest". Returns a malloc'd string,
 * NULL when out of memory. */
char *st_ref_full(const st_ref *r);

/* Docker's familiar form of a normalized name, with or without ":tag" or
 * "@digest": "docker.io/library/ubuntu:latest" -> "ubuntu:latest",
 * "docker.io/team/app" -> "team/app"; other domains are unchanged. Returns a
 * malloc'd string, NULL when out of memory. */
char *st_ref_familiar(const char *normalized);

/* Splits a normalized "repo[:tag]" into a malloc'd *repo and *tag; the repo
 * may hold a port ("localhost:5000/x:v1" -> "localhost:5000/x", "v1"). *tag
 * is NULL when there is no tag. An "@digest" suffix is not part of either
 * and is dropped. Returns 0, or -1 with errno ENOMEM (both outputs NULL). */
int st_ref_split_tag(const char *name_tag, char **repo, char **tag);

/* `docker images --filter reference=PATTERN`: matches PATTERN with Go's
 * path.Match ('*' and '?' do not match '/', "[...]" classes with '^'
 * negation and ranges, '\\' escapes) against the familiar repository, the
 * familiar "repo:tag", the normalized repository and the normalized
 * "repo:tag". tag may be NULL (an untagged image). A malformed pattern
 * matches nothing. Returns true on a match. */
bool st_ref_filter_match(const char *pattern, const char *normalized_repo,
                         const char *tag);

/* True when s can only be an image ID or ID prefix: "sha256:" followed by 1
 * to 64 lowercase hex digits, or 1 to 64 lowercase hex digits alone. Note
 * that a short hex string ("abc") is also a valid image name; Docker looks
 * names up first and falls back to an ID prefix. */
bool st_ref_looks_like_id(const char *s);

#endif
