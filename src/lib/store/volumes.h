/* Volume records: one row of the volumes table per volume (its files are
 * in <root>/volumes/<name>/_data), and which containers use which volume
 * (container_volumes, removed with the container's row). */
#ifndef STRATA_STORE_VOLUMES_H
#define STRATA_STORE_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct st_volume {
  char *name;
  char *driver;    /* "local" */
  int64_t created; /* unix ns */
  char *labels;    /* JSON object text */
  char *options;   /* JSON object text (-o type=,device=,o=) */
} st_volume;

void st_volume_clear(st_volume *v);
void st_volumes_free(st_volume *v, size_t n);

/* Docker's rule for a local volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]+. */
bool st_volume_name_valid(const char *name);

/* "<root>/volumes/<name>" (malloc), NULL when out of memory. */
char *st_volume_dir(const st_store *s, const char *name);

/* Records a volume; EEXIST when the name is taken. */
int st_volume_insert(st_store *s, const st_volume *v, st_error **err);
/* ENOENT: "get NAME: no such volume". */
int st_volume_get(st_store *s, const char *name, st_volume *out,
                  st_error **err);
/* Every volume, by name. */
int st_volume_list(st_store *s, st_volume **out, size_t *n, st_error **err);
/* Deletes the row (the caller removes the files); EBUSY when a container
 * uses it. */
int st_volume_delete(st_store *s, const char *name, st_error **err);

/* IDs of the containers that use the volume (malloc'd array of strings). */
int st_volume_users(st_store *s, const char *name, char ***ids, size_t *n,
                    st_error **err);
/* Records that container uses volume at dest. */
int st_volume_attach(st_store *s, const char *container, const char *volume,
                     const char *dest, st_error **err);
/* How many volume mounts container has (Docker's LOCAL VOLUMES). */
int64_t st_container_volume_count(st_store *s, const char *container);
/* Names of the anonymous volumes container uses. */
int st_volume_anonymous_of(st_store *s, const char *container, char ***names,
                           size_t *n, st_error **err);

struct st_fsck_report;
/* `system check`: a directory of volumes/ without a record, or a record
 * whose volumes/<name>/_data is missing, as ST_FSCK_VOLUME problems. */
int st_volumes_check(st_store *s, struct st_fsck_report *r, st_error **err);
/* `system check --repair` of such a problem: a directory without a record
 * is removed (what a killed `volume create` left); a record without its
 * directory gets an empty one (its containers can start again). */
int st_volume_repair(st_store *s, const char *name, st_error **err);

/* Label that marks an anonymous volume (Docker 23+). */
#define ST_VOLUME_ANON_LABEL "com.docker.volume.anonymous"

#endif
