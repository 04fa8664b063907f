/* What `strata version` and `strata info` both report about this build
 * and host: the compiler, the build time, and the OCI runtimes found. */
#ifndef STRATA_CMD_SYSINFO_H
#define STRATA_CMD_SYSINFO_H

#include <jansson.h>

/* The name strata's own executor goes by in `info` and `version` (the
 * runtime a container gets without --runtime). */
#define SYSINFO_BUILTIN_RUNTIME "strata"

/* "gcc 12.2.0", "clang 14.0.6": what Docker calls the Go version. */
const char *sysinfo_compiler(void);

/* The build time in Go's layout ("Sat Dec 5 12:40:52 2026"), from the
 * compiler's __DATE__ and __TIME__. Static storage. */
const char *sysinfo_built(void);

/* Docker's GOARCH for this machine ("amd64", "arm64"), from uname. */
const char *sysinfo_goarch(void);

/* The OCI runtimes that --runtime can name and that are on $PATH (crun,
 * runc), each {"Name", "Path", "Version", "GitCommit"} from its
 * `--version` (empty strings when it printed nothing usable). A new
 * array, possibly empty. */
json_t *sysinfo_oci_runtimes(void);

#endif
