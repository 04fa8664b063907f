#!/usr/bin/env bats
# Registries that serve what they should not: a manifest and a config that
# disagree. The image is pushed by strata to a real registry (Debian's
# docker-registry on 127.0.0.1), then rewritten through the registry API by
# a small Python client.

load helpers
load ../registry/registry

# retag_with_diff_ids REPO FROM TO N: uploads a copy of FROM's config whose
# rootfs.diff_ids has N entries (the real ones, then made-up ones) and puts
# a manifest TO that names it, with FROM's layers.
retag_with_diff_ids() {
  python3 - "$REG" "$@" <<'EOF'
import hashlib, json, sys, urllib.request
reg, repo, src, dst, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
base = "http://%s/v2/%s" % (reg, repo)
accept = ("application/vnd.docker.distribution.manifest.v2+json, "
          "application/vnd.oci.image.manifest.v1+json")
noproxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def req(url, data=None, method=None, headers=None):
    r = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return noproxy.open(r)
r = req(base + "/manifests/" + src, headers={"Accept": accept})
mt = r.headers["Content-Type"]
man = json.load(r)
cfg = json.load(req(base + "/blobs/" + man["config"]["digest"]))
ids = cfg["rootfs"]["diff_ids"][:n]
while len(ids) < n:
    ids.append("sha256:" + hashlib.sha256(b"x%d" % len(ids)).hexdigest())
cfg["rootfs"]["diff_ids"] = ids
body = json.dumps(cfg).encode()
digest = "sha256:" + hashlib.sha256(body).hexdigest()
loc = req(base + "/blobs/uploads/", data=b"", method="POST").headers["Location"]
if loc.startswith("/"):
    loc = "http://" + reg + loc
sep = "&" if "?" in loc else "?"
req(loc + sep + "digest=" + digest, data=body, method="PUT",
    headers={"Content-Type": "application/octet-stream"})
man["config"] = {"mediaType": man["config"]["mediaType"], "size": len(body), "digest": digest}
req(base + "/manifests/" + dst, data=json.dumps(man).encode(), method="PUT",
    headers={"Content-Type": mt})
EOF
}

@test "hostile registry: a config with more diff IDs than the manifest has layers is refused with both counts" {
  import_busybox "$R:good" >/dev/null
  run --separate-stderr "$STRATA" push "$R:good"
  assert_status 0
  retag_with_diff_ids "${R#*/}" good bad 3
  run --separate-stderr "$STRATA" pull "$R:bad"
  assert_failure
  assert_contains "$stderr" "the manifest lists 1 layers but the config has 3 diff IDs"
  run --separate-stderr "$STRATA" image inspect "$R:bad"
  assert_failure
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "hostile registry: a config with no diff IDs is refused" {
  import_busybox "$R:good" >/dev/null
  run --separate-stderr "$STRATA" push "$R:good"
  assert_status 0
  retag_with_diff_ids "${R#*/}" good bad 0
  run --separate-stderr "$STRATA" pull "$R:bad"
  assert_failure
  assert_contains "$stderr" "the manifest lists 1 layers but the config has 0 diff IDs"
  run --separate-stderr "$STRATA" image inspect "$R:bad"
  assert_failure
}
