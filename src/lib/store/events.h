/* The store's event log (`strata events`): one JSON line per event, in
 * Docker's event object ({"Type", "Action", "Actor": {"ID", "Attributes"},
 * "time", "timeNano", ...}), appended to <root>/events.log.
 *
 * Cheap and crash-safe: an event is one write(2) of one line to a file
 * opened O_APPEND, so concurrent writers never interleave and a crash
 * leaves at most a torn last line, which readers skip. The log is bounded:
 * once it passes ST_EVENTS_MAX bytes it is renamed to events.log.1
 * (replacing the previous one), so at most twice that is kept. Recording
 * is best effort: a failure never fails the command that caused the
 * event (it is reported at debug level). */
#ifndef STRATA_STORE_EVENTS_H
#define STRATA_STORE_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

#define ST_EVENTS_MAX (1 << 20)

/* Appends an event: type ("container", "image", "volume", "network"),
 * action ("start", "die", ...), the actor's id and attrs (string values,
 * stolen; NULL for none). */
void st_event_emit(st_store *s, const char *type, const char *action,
                   const char *id, json_t *attrs);

/* Appends a container event for the container ref names (an ID, a name
 * or a unique ID prefix), with its image and name and, when key is not
 * NULL, key=value as attributes. Nothing is recorded when ref names no
 * container. */
void st_event_container(st_store *s, const char *ref, const char *action,
                        const char *key, const char *value);

/* Appends an image event for image id (or a reference, for pull and push)
 * with name (a reference, or NULL) as its "name" attribute. */
void st_event_image(st_store *s, const char *action, const char *id,
                    const char *name);

/* "<root>/events.log" and the rotated "<root>/events.log.1" (malloc). */
char *st_events_path(const st_store *s, int rotated);

/* Parses one line of the log: the event object, or NULL for a line that is
 * not one (a torn write). */
json_t *st_event_parse(const char *line, size_t len);

/* The event's time in unix ns. */
int64_t st_event_time(const json_t *ev);

#endif
