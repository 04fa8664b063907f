/* Column alignment exactly as the Docker CLI does it: Docker's copy of Go's
 * text/tabwriter, created as tabwriter.NewWriter(out, 10, 1, 3, ' ', 0) —
 * minimum cell width 10, padding 3, spaces, no flags.
 *
 * The input is text whose cells are terminated by '\t' (or '\v'); lines end
 * with '\n' (or '\f', which also ends every column). The text after a
 * line's last tab belongs to no column and is never padded. A column is a
 * block of consecutive lines that all have a cell at that position; its
 * width is the widest cell in the block + 3, at least 10. A line with no
 * tab at all ends every open column. Widths are terminal columns, as
 * Docker measures them (go-runewidth): most characters count 1, East Asian
 * wide ones 2, combining marks 0. Text between two 0xff bytes is copied
 * through without its tabs or newlines being interpreted.
 */
#ifndef STRATA_FMT_TABLE_H
#define STRATA_FMT_TABLE_H

#include <stddef.h>

typedef struct st_table st_table;

/* A table with Docker's settings (minwidth 10, padding 3). NULL when out of
 * memory. */
st_table *st_table_new(void);

/* A table with another minimum width and padding (tabwriter's minwidth and
 * padding; tab width 1, pad char ' ', no flags). NULL when out of memory or
 * when either is negative. */
st_table *st_table_new_opts(int minwidth, int padding);

/* Appends raw text, as tabwriter.Write does: it may hold several lines or
 * end in the middle of one. Returns 0, or -1 when out of memory. */
int st_table_write(st_table *t, const char *text, size_t len);

/* Appends one line: line_with_tabs followed by '\n'. Returns 0, or -1 when
 * out of memory. */
int st_table_add_line(st_table *t, const char *line_with_tabs);

/* The aligned text of everything written so far (what tabwriter.Flush
 * writes); the table is left unchanged. Heap-allocated, the caller frees
 * it; NULL when out of memory. */
char *st_table_render(const st_table *t);

void st_table_free(st_table *t);

#endif
