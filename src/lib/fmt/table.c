/* Go's text/tabwriter (Docker's copy of it), restricted to the settings the
 * Docker CLI uses: pad with spaces, left-aligned, no flags. Text is split
 * into cells while it is scanned; a line with a single cell (no tab) or a
 * '\f' flushes what has been collected, because no later line can change
 * the columns above it. Flushing formats the collected lines column by
 * column with Go's recursive "column block" rule.
 */
#include "fmt/table.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/utf8.h"
#include "util/buf.h"

#define ESCAPE ((char)0xff)

struct st_table {
  int minwidth;
  int padding;
  st_buf in; /* everything written, rendered on demand */
};

st_table *st_table_new_opts(int minwidth, int padding) {
  if (minwidth < 0 || padding < 0)
    return NULL;
  st_table *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->minwidth = minwidth;
  t->padding = padding;
  return t;
}

st_table *st_table_new(void) {
  return st_table_new_opts(10, 3);
}

int st_table_write(st_table *t, const char *text, size_t len) {
  return st_buf_append(&t->in, text, len);
}

int st_table_add_line(st_table *t, const char *line_with_tabs) {
  size_t old = t->in.len;
  if (st_buf_puts(&t->in, line_with_tabs) < 0 || st_buf_putc(&t->in, '\n')) {
    t->in.len = old;
    if (t->in.data)
      t->in.data[old] = '\0';
    return -1;
  }
  return 0;
}

void st_table_free(st_table *t) {
  if (t == NULL)
    return;
  st_buf_free(&t->in);
  free(t);
}

/* ---- display width (go-runewidth, non East Asian mode) -------------- */

struct range {
  uint32_t lo, hi;
};

/* Combining marks, joiners, variation selectors and other zero-width
 * characters; in a grapheme cluster they extend the previous character. */
static const struct range zero_width[] = {
    {0x0300, 0x036F},   {0x0483, 0x0489},   {0x0591, 0x05BD},
    {0x05BF, 0x05BF},   {0x05C1, 0x05C2},   {0x05C4, 0x05C5},
    {0x05C7, 0x05C7},   {0x0610, 0x061A},   {0x061C, 0x061C},
    {0x064B, 0x065F},   {0x0670, 0x0670},   {0x06D6, 0x06DC},
    {0x06DF, 0x06E4},   {0x06E7, 0x06E8},   {0x06EA, 0x06ED},
    {0x0711, 0x0711},   {0x0730, 0x074A},   {0x07A6, 0x07B0},
    {0x07EB, 0x07F3},   {0x0816, 0x082D},   {0x0859, 0x085B},
    {0x0898, 0x089F},   {0x08CA, 0x0903},   {0x093A, 0x093C},
    {0x093E, 0x094F},   {0x0951, 0x0957},   {0x0962, 0x0963},
    {0x0981, 0x0983},   {0x09BC, 0x09BC},   {0x09BE, 0x09CD},
    {0x09D7, 0x09D7},   {0x09E2, 0x09E3},   {0x0A01, 0x0A03},
    {0x0A3C, 0x0A51},   {0x0A70, 0x0A71},   {0x0A75, 0x0A75},
    {0x0A81, 0x0A83},   {0x0ABC, 0x0ABC},   {0x0ABE, 0x0ACD},
    {0x0AE2, 0x0AE3},   {0x0B01, 0x0B03},   {0x0B3C, 0x0B3C},
    {0x0B3E, 0x0B57},   {0x0B62, 0x0B63},   {0x0B82, 0x0B82},
    {0x0BBE, 0x0BCD},   {0x0BD7, 0x0BD7},   {0x0C00, 0x0C04},
    {0x0C3C, 0x0C3C},   {0x0C3E, 0x0C56},   {0x0C62, 0x0C63},
    {0x0C81, 0x0C83},   {0x0CBC, 0x0CBC},   {0x0CBE, 0x0CD6},
    {0x0CE2, 0x0CE3},   {0x0D00, 0x0D03},   {0x0D3B, 0x0D3C},
    {0x0D3E, 0x0D4D},   {0x0D57, 0x0D57},   {0x0D62, 0x0D63},
    {0x0D81, 0x0D83},   {0x0DCA, 0x0DDF},   {0x0DF2, 0x0DF3},
    {0x0E31, 0x0E31},   {0x0E34, 0x0E3A},   {0x0E47, 0x0E4E},
    {0x0EB1, 0x0EB1},   {0x0EB4, 0x0EBC},   {0x0EC8, 0x0ECE},
    {0x0F18, 0x0F19},   {0x0F35, 0x0F35},   {0x0F37, 0x0F37},
    {0x0F39, 0x0F39},   {0x0F3E, 0x0F3F},   {0x0F71, 0x0F84},
    {0x0F86, 0x0F87},   {0x0F8D, 0x0FBC},   {0x0FC6, 0x0FC6},
    {0x102B, 0x103E},   {0x1056, 0x1059},   {0x105E, 0x1060},
    {0x1071, 0x1074},   {0x1082, 0x108D},   {0x108F, 0x108F},
    {0x109A, 0x109D},   {0x1160, 0x11FF},   {0x135D, 0x135F},
    {0x1712, 0x1715},   {0x1732, 0x1734},   {0x1752, 0x1753},
    {0x1772, 0x1773},   {0x17B4, 0x17D3},   {0x17DD, 0x17DD},
    {0x180B, 0x180F},   {0x1885, 0x1886},   {0x18A9, 0x18A9},
    {0x1920, 0x193B},   {0x1A17, 0x1A1B},   {0x1A55, 0x1A7F},
    {0x1AB0, 0x1ACE},   {0x1B00, 0x1B04},   {0x1B34, 0x1B44},
    {0x1B6B, 0x1B73},   {0x1B80, 0x1B82},   {0x1BA1, 0x1BAD},
    {0x1BE6, 0x1BF3},   {0x1C24, 0x1C37},   {0x1CD0, 0x1CD2},
    {0x1CD4, 0x1CE8},   {0x1CED, 0x1CED},   {0x1CF4, 0x1CF4},
    {0x1CF7, 0x1CF9},   {0x1DC0, 0x1DFF},   {0x200B, 0x200F},
    {0x2028, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},
    {0x20D0, 0x20F0},   {0x2CEF, 0x2CF1},   {0x2D7F, 0x2D7F},
    {0x2DE0, 0x2DFF},   {0x302A, 0x302F},   {0x3099, 0x309A},
    {0xA66F, 0xA672},   {0xA674, 0xA67D},   {0xA69E, 0xA69F},
    {0xA6F0, 0xA6F1},   {0xA802, 0xA802},   {0xA806, 0xA806},
    {0xA80B, 0xA80B},   {0xA823, 0xA827},   {0xA82C, 0xA82C},
    {0xA880, 0xA881},   {0xA8B4, 0xA8C5},   {0xA8E0, 0xA8F1},
    {0xA8FF, 0xA8FF},   {0xA926, 0xA92D},   {0xA947, 0xA953},
    {0xA980, 0xA983},   {0xA9B3, 0xA9C0},   {0xA9E5, 0xA9E5},
    {0xAA29, 0xAA36},   {0xAA43, 0xAA43},   {0xAA4C, 0xAA4D},
    {0xAA7B, 0xAA7D},   {0xAAB0, 0xAAB0},   {0xAAB2, 0xAAB4},
    {0xAAB7, 0xAAB8},   {0xAABE, 0xAABF},   {0xAAC1, 0xAAC1},
    {0xAAEB, 0xAAEF},   {0xAAF5, 0xAAF6},   {0xABE3, 0xABEA},
    {0xABEC, 0xABED},   {0xD7B0, 0xD7FF},   {0xFB1E, 0xFB1E},
    {0xFE00, 0xFE0F},   {0xFE20, 0xFE2F},   {0xFEFF, 0xFEFF},
    {0xFFF9, 0xFFFB},   {0x101FD, 0x101FD}, {0x102E0, 0x102E0},
    {0x10376, 0x1037A}, {0x10A01, 0x10A0F}, {0x10A38, 0x10A3F},
    {0x11000, 0x11002}, {0x11038, 0x11046}, {0x1107F, 0x11082},
    {0x110B0, 0x110BA}, {0x11100, 0x11102}, {0x11127, 0x11134},
    {0x1D165, 0x1D169}, {0x1D16D, 0x1D172}, {0x1D17B, 0x1D182},
    {0x1D185, 0x1D18B}, {0x1D1AA, 0x1D1AD}, {0x1D242, 0x1D244},
    {0x1E000, 0x1E02A}, {0x1E8D0, 0x1E8D6}, {0x1E944, 0x1E94A},
    {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xE0100, 0xE01EF},
};

/* East Asian Wide and Fullwidth characters, emoji presentation included. */
static const struct range double_width[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},
    {0x23E9, 0x23EC},   {0x23F0, 0x23F0},   {0x23F3, 0x23F3},
    {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},
    {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},
    {0x26CE, 0x26CE},   {0x26D4, 0x26D4},   {0x26EA, 0x26EA},
    {0x26F2, 0x26F3},   {0x26F5, 0x26F5},   {0x26FA, 0x26FA},
    {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},
    {0x2753, 0x2755},   {0x2757, 0x2757},   {0x2795, 0x2797},
    {0x27B0, 0x27B0},   {0x27BF, 0x27BF},   {0x2B1B, 0x2B1C},
    {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x2E99},
    {0x2E9B, 0x2EF3},   {0x2F00, 0x2FD5},   {0x2FF0, 0x2FFF},
    {0x3000, 0x303E},   {0x3041, 0x3096},   {0x3099, 0x30FF},
    {0x3105, 0x312F},   {0x3131, 0x318E},   {0x3190, 0x31E3},
    {0x31F0, 0x321E},   {0x3220, 0x3247},   {0x3250, 0x4DBF},
    {0x4E00, 0xA48C},   {0xA490, 0xA4C6},   {0xA960, 0xA97C},
    {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
    {0xFE30, 0xFE52},   {0xFE54, 0xFE66},   {0xFE68, 0xFE6B},
    {0xFF01, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4},
    {0x16FF0, 0x16FF1}, {0x17000, 0x187F7}, {0x18800, 0x18CD5},
    {0x18D00, 0x18D08}, {0x1AFF0, 0x1AFFE}, {0x1B000, 0x1B122},
    {0x1B150, 0x1B152}, {0x1B164, 0x1B167}, {0x1B170, 0x1B2FB},
    {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E},
    {0x1F191, 0x1F19A}, {0x1F200, 0x1F202}, {0x1F210, 0x1F23B},
    {0x1F240, 0x1F248}, {0x1F250, 0x1F251}, {0x1F260, 0x1F265},
    {0x1F300, 0x1F320}, {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C},
    {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3},
    {0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E},
    {0x1F440, 0x1F440}, {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D},
    {0x1F54B, 0x1F54E}, {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A},
    {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F},
    {0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2},
    {0x1F6D5, 0x1F6D7}, {0x1F6DC, 0x1F6DF}, {0x1F6EB, 0x1F6EC},
    {0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB}, {0x1F7F0, 0x1F7F0},
    {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1F9FF},
    {0x1FA70, 0x1FA7C}, {0x1FA80, 0x1FA88}, {0x1FA90, 0x1FABD},
    {0x1FABF, 0x1FAC5}, {0x1FACE, 0x1FADB}, {0x1FAE0, 0x1FAE8},
    {0x1FAF0, 0x1FAF8}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

static bool in_ranges(uint32_t r, const struct range *t, size_t n) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r < t[mid].lo)
      hi = mid;
    else if (r > t[mid].hi)
      lo = mid + 1;
    else
      return true;
  }
  return false;
}

#define IN_TABLE(r, t) in_ranges(r, t, sizeof(t) / sizeof(t[0]))

/* go-runewidth RuneWidth with EastAsianWidth off: controls 0, combining 0,
 * wide 2, everything else (ambiguous included) 1. */
static int rune_width(uint32_t r) {
  if (r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0xAD)
    return 0;
  if (r < 0x300)
    return 1;
  if (IN_TABLE(r, zero_width))
    return 0;
  return IN_TABLE(r, double_width) ? 2 : 1;
}

static bool is_emoji_modifier(uint32_t r) {
  return r >= 0x1F3FB && r <= 0x1F3FF;
}

/* Whether r continues the grapheme cluster whose last rune is prev: the
 * common cases of Unicode's rules (extending marks, emoji modifiers, the
 * rune after a zero-width joiner). */
static bool extends_cluster(uint32_t prev, uint32_t r) {
  if (prev == 0x200D && r >= 0x2000)
    return true;
  if (is_emoji_modifier(r))
    return true;
  return r >= 0x300 && rune_width(r) == 0 && !(r >= 0x2028 && r <= 0x202E);
}

/* go-runewidth StringWidth: per grapheme cluster, the width of its first
 * rune that has a width. */
static int display_width(const char *text, size_t n) {
  const unsigned char *s = (const unsigned char *)text;
  int width = 0, cluster = 0;
  uint32_t prev = 0;
  bool first = true;
  for (size_t i = 0; i < n;) {
    uint32_t r;
    i += st_utf8_decode(s + i, n - i, &r);
    if (first || !extends_cluster(prev, r)) {
      width += cluster;
      cluster = 0;
    }
    if (cluster == 0)
      cluster = rune_width(r);
    prev = r;
    first = false;
  }
  return width + cluster;
}

/* ---- the tabwriter -------------------------------------------------- */

struct cell {
  size_t size; /* bytes of text */
  int width;   /* display width */
  bool htab;   /* terminated by '\t' rather than '\v' */
};

struct line {
  struct cell *cells;
  size_t n, cap;
};

struct tw {
  int minwidth, padding;
  st_buf text;      /* cell texts, tabs and line breaks removed */
  size_t pos;       /* text before pos is counted in cell.width */
  struct cell cell; /* the incomplete cell */
  bool in_escape;
  struct line *lines;
  size_t nlines, cap_lines;
  int *widths; /* widths of the columns left of the one being formatted */
  size_t nwidths, cap_widths;
  st_buf *out;
  bool failed; /* out of memory somewhere */
};

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return true;
  size_t cap2 = *cap ? *cap * 2 : 8;
  while (cap2 < need)
    cap2 *= 2;
  void *q = realloc(*p, cap2 * elem);
  if (q == NULL)
    return false;
  memset((char *)q + *cap * elem, 0, (cap2 - *cap) * elem);
  *p = q;
  *cap = cap2;
  return true;
}

static void tw_emit(struct tw *w, const char *p, size_t n) {
  if (n > 0 && st_buf_append(w->out, p, n) < 0)
    w->failed = true;
}

static void tw_pad(struct tw *w, int n) {
  static const char spaces[] = "                ";
  while (n > 0) {
    int k = n < 16 ? n : 16;
    tw_emit(w, spaces, (size_t)k);
    n -= k;
  }
}

static void tw_append(struct tw *w, const char *p, size_t n) {
  if (n == 0)
    return;
  if (st_buf_append(&w->text, p, n) < 0)
    w->failed = true;
  else
    w->cell.size += n;
}

static void tw_update_width(struct tw *w) {
  if (w->text.len > w->pos)
    w->cell.width += display_width(w->text.data + w->pos, w->text.len - w->pos);
  w->pos = w->text.len;
}

static void tw_add_line(struct tw *w) {
  if (!grow((void **)&w->lines, &w->cap_lines, w->nlines + 1,
            sizeof(*w->lines))) {
    w->failed = true;
    return;
  }
  w->lines[w->nlines++].n = 0;
}

/* Returns the number of cells in the current line. */
static size_t tw_terminate_cell(struct tw *w, bool htab) {
  w->cell.htab = htab;
  if (w->nlines == 0) { /* adding the line ran out of memory */
    w->failed = true;
    w->cell = (struct cell){0};
    return 0;
  }
  struct line *l = &w->lines[w->nlines - 1];
  if (!grow((void **)&l->cells, &l->cap, l->n + 1, sizeof(*l->cells)))
    w->failed = true;
  else
    l->cells[l->n++] = w->cell;
  w->cell = (struct cell){0};
  return l->n;
}

static void tw_end_escape(struct tw *w) {
  tw_update_width(w);
  w->cell.width -= 2; /* the two 0xff bytes are output but not counted */
  w->pos = w->text.len;
  w->in_escape = false;
}

static void tw_reset(struct tw *w) {
  w->text.len = 0;
  w->pos = 0;
  w->cell = (struct cell){0};
  w->in_escape = false;
  w->nlines = 0;
  w->nwidths = 0;
  tw_add_line(w);
}

/* Writes lines [line0, line1) whose cells start at text offset pos, padding
 * every cell that has a known column width; returns the offset after
 * them. */
static size_t tw_write_lines(struct tw *w, size_t pos, size_t line0,
                             size_t line1) {
  for (size_t i = line0; i < line1; i++) {
    const struct line *l = &w->lines[i];
    for (size_t j = 0; j < l->n; j++) {
      const struct cell *c = &l->cells[j];
      if (c->size > 0)
        tw_emit(w, w->text.data + pos, c->size);
      pos += c->size;
      if (j < w->nwidths)
        tw_pad(w, w->widths[j] - c->width);
    }
    if (i + 1 == w->nlines) {
      /* the last line has no newline yet: output the incomplete cell */
      if (w->cell.size > 0)
        tw_emit(w, w->text.data + pos, w->cell.size);
      pos += w->cell.size;
    } else {
      tw_emit(w, "\n", 1);
    }
  }
  return pos;
}

static bool has_column(const struct tw *w, size_t line, size_t column) {
  return column + 1 < w->lines[line].n;
}

/* Width of the column block starting at line *this: consecutive lines that
 * have a cell in this column. Advances *this past the block. */
static int tw_block_width(struct tw *w, size_t *this, size_t line1,
                          size_t column) {
  int width = w->minwidth;
  for (; *this < line1 && has_column(w, *this, column); (*this)++) {
    int cw = w->lines[*this].cells[column].width + w->padding;
    if (cw > width)
      width = cw;
  }
  return width;
}

/* Go's tabwriter format(): for column number len(widths), find each block
 * of lines having that column, push its width and format the columns to
 * its right recursively; lines without the column are written as they
 * are. Returns the text offset after line1. */
static size_t tw_format(struct tw *w, size_t pos, size_t line0, size_t line1) {
  size_t column = w->nwidths;
  for (size_t this = line0; this < line1; this ++) {
    if (!has_column(w, this, column))
      continue;
    pos = tw_write_lines(w, pos, line0, this);
    line0 = this;
    int width = tw_block_width(w, &this, line1, column);
    if (!grow((void **)&w->widths, &w->cap_widths, w->nwidths + 1,
              sizeof(*w->widths))) {
      w->failed = true;
      return pos;
    }
    w->widths[w->nwidths++] = width;
    pos = tw_format(w, pos, line0, this);
    w->nwidths--;
    line0 = this;
    /* like Go, the loop's this++ skips the line that ended the block: it
     * has no cell in this column */
  }
  return tw_write_lines(w, pos, line0, line1);
}

static void tw_flush(struct tw *w) {
  if (w->cell.size > 0) {
    if (w->in_escape)
      tw_end_escape(w);
    tw_terminate_cell(w, false);
  }
  if (!w->failed)
    tw_format(w, 0, 0, w->nlines);
  tw_reset(w);
}

/* A cell ends at '\t', '\v', '\n' or '\f'; a line ends at '\n' or '\f'. */
static void tw_end_cell(struct tw *w, char ch) {
  tw_update_width(w);
  size_t ncells = tw_terminate_cell(w, ch == '\t');
  if (ch == '\n' || ch == '\f') {
    tw_add_line(w);
    if (ch == '\f' || ncells == 1)
      tw_flush(w);
  }
}

/* tabwriter.Write over the whole input. */
static void tw_write(struct tw *w, const char *buf, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len && !w->failed; i++) {
    char ch = buf[i];
    if (w->in_escape) {
      if (ch == ESCAPE) {
        tw_append(w, buf + n, i + 1 - n);
        n = i + 1;
        tw_end_escape(w);
      }
    } else if (ch == '\t' || ch == '\v' || ch == '\n' || ch == '\f') {
      tw_append(w, buf + n, i - n);
      n = i + 1;
      tw_end_cell(w, ch);
    } else if (ch == ESCAPE) {
      tw_append(w, buf + n, i - n);
      tw_update_width(w);
      n = i;
      w->in_escape = true;
    }
  }
  tw_append(w, buf + n, len - n);
}

static void tw_free(struct tw *w) {
  for (size_t i = 0; i < w->cap_lines; i++)
    free(w->lines[i].cells);
  free(w->lines);
  free(w->widths);
  st_buf_free(&w->text);
}

char *st_table_render(const st_table *t) {
  st_buf out = ST_BUF_INIT;
  struct tw w = {.minwidth = t->minwidth, .padding = t->padding, .out = &out};
  tw_reset(&w);
  if (t->in.len)
    tw_write(&w, t->in.data, t->in.len);
  tw_flush(&w);
  bool failed = w.failed;
  tw_free(&w);
  if (failed) {
    st_buf_free(&out);
    return NULL;
  }
  return st_buf_steal(&out);
}
