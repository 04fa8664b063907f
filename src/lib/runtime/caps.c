/* Capabilities by name, Docker's default set, and applying a set with the
 * raw capset(2) interface (no libcap needed). */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/internal.h"

static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS (sizeof(cap_names) / sizeof(cap_names[0]))

#define BIT(c) (UINT64_C(1) << (c))

uint64_t st_caps_default(void) {
  return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) |
         BIT(CAP_FOWNER) | BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) |
         BIT(CAP_SETUID) | BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) |
         BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) |
         BIT(CAP_AUDIT_WRITE);
}

/* Capabilities this kernel knows (its last one from /proc). */
static int last_cap(void) {
  static int last = -1;
  if (last >= 0)
    return last;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  if (f == NULL || fscanf(f, "%d", &last) != 1)
    last = (int)N_CAPS - 1;
  if (f)
    fclose(f);
  return last;
}

/* Every capability this kernel knows that strata itself may pass on (its
 * own bounding set: a host may withhold some, e.g. CAP_SYS_RESOURCE, and
 * asking for them fails). */
uint64_t st_caps_all(void) {
  int last = last_cap();
  uint64_t caps = 0;
  for (int c = 0; c <= last && c < 64; c++)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
      caps |= BIT(c);
  return caps;
}

int st_caps_from_json(json_t *names, uint64_t *out, st_error **err) {
  uint64_t caps = 0;
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *n = json_string_value(v);
    size_t c = 0;
    while (c < N_CAPS && (n == NULL || strcmp(n, cap_names[c]) != 0))
      c++;
    if (c == N_CAPS)
      return st_error_set(err, EINVAL, "unknown capability \"%s\"", n ? n : "");
    caps |= BIT(c);
  }
  *out = caps;
  return 0;
}

/* "net_admin", "CAP_NET_ADMIN", "Net_Admin" -> its number, or -1. */
static int cap_by_name(const char *name) {
  const char *n = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
  for (size_t c = 0; c < N_CAPS; c++)
    if (strcasecmp(n, cap_names[c] + 4) == 0)
      return (int)c;
  return -1;
}

static bool has_all(char *const *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(v[i], "ALL") == 0 || strcasecmp(v[i], "CAP_ALL") == 0)
      return true;
  return false;
}

static int names_to_set(char *const *v, size_t n, uint64_t *out,
                        st_error **err) {
  *out = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcasecmp(v[i], "ALL") == 0 || strcasecmp(v[i], "CAP_ALL") == 0)
      continue;
    int c = cap_by_name(v[i]);
    if (c < 0)
      return st_error_set(err, EINVAL, "unknown capability: \"%s\"", v[i]);
    *out |= BIT(c);
  }
  return 0;
}

/* Docker's rules (TweakCapabilities): "ALL" in add: every capability but
 * the dropped ones; "ALL" in drop: only the added ones; otherwise the
 * base set minus the dropped plus the added. */
int st_caps_tweak(uint64_t base, char *const *add, size_t n_add,
                  char *const *drop, size_t n_drop, uint64_t *out,
                  st_error **err) {
  uint64_t a, d;
  if (names_to_set(add, n_add, &a, err) < 0 ||
      names_to_set(drop, n_drop, &d, err) < 0)
    return -1;
  if (has_all(add, n_add))
    *out = st_caps_all() & ~d;
  else if (has_all(drop, n_drop))
    *out = a & st_caps_all();
  else
    *out = ((base & ~d) | a) & st_caps_all();
  return 0;
}

json_t *st_caps_to_json(uint64_t caps) {
  json_t *a = json_array();
  for (size_t c = 0; c < N_CAPS; c++)
    if (caps & BIT(c))
      json_array_append_new(a, json_string(cap_names[c]));
  return a;
}

int st_caps_drop_bounding(uint64_t caps, st_error **err) {
  int last = last_cap();
  for (int c = 0; c <= last; c++) {
    if (caps & BIT(c))
      continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return st_error_errno(err, errno, "drop capability %d", c);
  }
  return 0;
}

int st_caps_set(uint64_t caps, st_error **err) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof(d));
  d[0].effective = d[0].permitted = (uint32_t)caps;
  d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
  if (syscall(SYS_capset, &h, d) < 0)
    return st_error_errno(err, errno, "set capabilities");
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return 0;
}
