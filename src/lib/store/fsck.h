/* `system check`: verifies that the store's files and records agree.
 *
 * A problem is something that makes an image unusable or the store
 * inconsistent: a blob whose bytes do not match its name, a missing or
 * unparsable config or manifest, a manifest or config that disagrees with
 * the recorded layers, a tag or digest pointing at no image, a stray file
 * among the blobs, images whose parent links form a cycle (no rmi or
 * prune could ever remove them), a database integrity error, a container
 * whose image is gone or whose layer trees are missing, an unpacked layer
 * tree that differs from its tar. Unreferenced blobs
 * are not problems: a crash between storing a blob and recording it leaves them
 * legitimately; they are reported as reclaimable garbage.
 *
 * The check reads one database snapshot and is busy (holds the store lock
 * shared), so
 * it runs safely next to other strata processes: whatever they record after
 * the snapshot was taken is not looked at, and no gc can remove a blob
 * meanwhile. */
#ifndef STRATA_STORE_FSCK_H
#define STRATA_STORE_FSCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef enum st_fsck_kind {
  ST_FSCK_DATABASE,  /* integrity_check / foreign_key_check; not repairable */
  ST_FSCK_BLOB,      /* corrupt or unreadable blob (`subject`: its digest) */
  ST_FSCK_STRAY,     /* a non-blob entry in blobs/sha256 (`subject`: name) */
  ST_FSCK_IMAGE,     /* a broken image (`subject`: its ID) */
  ST_FSCK_REFERENCE, /* tag or repo digest to a missing image (`subject`) */
  ST_FSCK_PARENT,    /* images that are their own ancestors (`subject`: the
                        image whose parent link repair cuts) */
  ST_FSCK_VOLUME,    /* a volume directory without a record or a record
                        without its directory (`subject`: the name) */
  ST_FSCK_CONTAINER, /* a container whose image is gone (`subject`: its
                        ID); not repairable: only removing it helps */
  ST_FSCK_TREE,      /* an unpacked layer tree that a container needs and
                        that is missing, or that differs from its tar
                        (`subject`: "<chain ID> <layer blob>"); repair
                        unpacks it again */
} st_fsck_kind;

typedef struct st_fsck_problem {
  st_fsck_kind kind;
  char *subject; /* what repair removes: a digest, image ID, name */
  char *msg;     /* one line, naming the object: "image sha256:...: layer 2
                    blob sha256:... is missing" */
} st_fsck_problem;

typedef struct st_fsck_report {
  st_fsck_problem *problems;
  size_t n_problems;
  size_t n_images;  /* images checked */
  size_t n_blobs;   /* blobs whose digest was verified */
  size_t n_garbage; /* blobs no record refers to */
  int64_t garbage_bytes;
  size_t n_garbage_layers; /* layer records no image uses */
} st_fsck_report;

/* Checks the store. Returns 0 with *r filled whether or not problems were
 * found (the caller frees it with st_fsck_report_clear), < 0 with *err
 * when the check itself could not run. */
int st_store_check(st_store *s, st_fsck_report *r, st_error **err);
/* The same; deep compares every unpacked layer tree with its tar (without
 * it, a random sample of ST_FSCK_TREE_SAMPLE trees is compared). */
#define ST_FSCK_TREE_SAMPLE 3
int st_store_check_deep(st_store *s, bool deep, st_fsck_report *r,
                        st_error **err);
void st_fsck_report_clear(st_fsck_report *r);

/* What st_store_repair removed. */
typedef struct st_fsck_repair {
  char **images; /* IDs of the broken images removed */
  size_t n_images;
  char **references; /* tags and digests removed with them, or dangling */
  size_t n_references;
  char **cut; /* IDs of the images whose parent link was cut (cycles) */
  size_t n_cut;
  char **trees; /* chain IDs of layer trees unpacked again */
  size_t n_trees;
  /* What repair could not fix, one sentence each, saying why and what to
   * do (a broken image a container uses, a tree a running container has
   * mounted, a container whose image is gone). */
  char **not_repaired;
  size_t n_not_repaired;
  size_t n_stray; /* stray entries removed from blobs/sha256 */
  int64_t freed;  /* bytes of blobs removed by the sweep */
} st_fsck_repair;

/* Repairs what `found` (a report of st_store_check) lists: removes the
 * broken images with their tags and the dangling references, and cuts each
 * parent cycle at one image (its parent link is cleared; one transaction),
 * unused layer records, stray files, then every unreferenced or corrupt blob
 * through st_store_gc. Database corruption is not repairable. Returns 0 with
 * *out filled (free it with st_fsck_repair_clear), or < 0 with *err. Run
 * st_store_check again to see what remains. */
int st_store_repair(st_store *s, const st_fsck_report *found,
                    st_fsck_repair *out, st_error **err);
void st_fsck_repair_clear(st_fsck_repair *r);

#endif
