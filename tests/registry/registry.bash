# Starts and stops real registries (Debian's docker-registry, CNCF
# distribution v2) on free ports of 127.0.0.1 for the tests. Sourced by
# tests/cli/registry*.bats (`load ../registry/registry`) and bench/.
#
#   reg_start MODE DIR   MODE: http | https | basic | https-basic | token
#                        (https-basic: htpasswd Basic auth over HTTPS)
#                        sets REG (127.0.0.1:PORT), REG_PID, REG_DIR and, by
#                        mode: REG_CA (https: the CA file), REG_CERTS_D (a
#                        certs.d root holding it), REG_USER / REG_PASS
#                        (basic, token), TOKEN_PID (token).
#   reg_stop             stops what reg_start started, by PID.
#   reg_kill             SIGKILLs the registry only (a crash mid-transfer).
#   reg_setup_file MODE  setup_file of a bats file with one registry.
#   reg_setup [RETRIES]  the common start of such a file's setup.
#
# It also gives the bats files that load it their hooks, which a file
# replaces where it needs more: setup_file starts one http registry for the
# file, teardown_file stops it, setup is `reg_setup`, and teardown stops the
# proxy a test may have started.
#
# The registry's log is $REG_DIR/registry.log.

REG_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

reg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# reg_wait_port PORT: waits (up to 10 s) until something listens on PORT.
reg_wait_port() {
  local i
  for ((i = 0; i < 200; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

_reg_ca() {
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=strata test CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
    -CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.crt" \
    2>/dev/null
}

reg_start() {
  local mode=$1 dir=$2 port
  REG_DIR=$dir
  mkdir -p "$dir/data" || return 1
  port=$(reg_free_port) || return 1
  REG=127.0.0.1:$port
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: error"
    echo "  accesslog:"
    echo "    disabled: true"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $dir/data"
    echo "  delete:"
    echo "    enabled: true"
    echo "  maintenance:"
    echo "    uploadpurging:"
    echo "      enabled: false"
    echo "http:"
    echo "  addr: $REG"
    echo "  secret: strata-test-secret"
  } >"$dir/config.yml"
  case $mode in
  http) ;;
  https | https-basic)
    _reg_ca "$dir" || return 1
    REG_CA=$dir/ca.crt
    REG_CERTS_D=$dir/certs.d
    mkdir -p "$REG_CERTS_D/$REG" && cp "$REG_CA" "$REG_CERTS_D/$REG/ca.crt"
    printf '  tls:\n    certificate: %s\n    key: %s\n' \
      "$dir/server.crt" "$dir/server.key" >>"$dir/config.yml"
    ;;&
  https) ;;
  basic | https-basic)
    REG_USER=alice REG_PASS=wonderland
    htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$dir/htpasswd" 2>/dev/null || return 1
    printf 'auth:\n  htpasswd:\n    realm: strata-test\n    path: %s\n' \
      "$dir/htpasswd" >>"$dir/config.yml"
    ;;
  token)
    REG_USER=bob REG_PASS=builder
    local tport
    tport=$(reg_free_port) || return 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
      -subj "/CN=strata token signer" -keyout "$dir/token.key" \
      -out "$dir/token.crt" 2>/dev/null || return 1
    TOKEN_LOG=$dir/token.log python3 "$REG_TOOLS_DIR/token_issuer.py" "$tport" \
      "$dir/token.key" "$dir/token.crt" strata-issuer "$REG_USER:$REG_PASS" \
      >"$dir/token.out" 2>&1 &
    TOKEN_PID=$!
    {
      echo "auth:"
      echo "  token:"
      echo "    realm: http://127.0.0.1:$tport/token"
      echo "    service: strata-registry"
      echo "    issuer: strata-issuer"
      echo "    rootcertbundle: $dir/token.crt"
    } >>"$dir/config.yml"
    reg_wait_port "$tport" || return 1
    ;;
  *)
    echo "reg_start: unknown mode $mode" >&2
    return 1
    ;;
  esac
  # The registry reads REGISTRY_* variables as configuration (a test's
  # REGISTRY_AUTH_FILE would become auth.file): start it without them.
  local unset=() v
  for v in $(compgen -e); do
    [[ $v == REGISTRY_* ]] && unset+=(-u "$v")
  done
  env "${unset[@]}" docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REG_PID=$!
  reg_wait_port "$port"
}

reg_kill() {
  if [ -n "${REG_PID:-}" ]; then
    kill -9 "$REG_PID" 2>/dev/null
    wait "$REG_PID" 2>/dev/null || true
    REG_PID=
  fi
  return 0
}

reg_stop() {
  if [ -n "${REG_PID:-}" ]; then
    kill "$REG_PID" 2>/dev/null
    wait "$REG_PID" 2>/dev/null || true
    REG_PID=
  fi
  if [ -n "${TOKEN_PID:-}" ]; then
    kill "$TOKEN_PID" 2>/dev/null
    wait "$TOKEN_PID" 2>/dev/null || true
    TOKEN_PID=
  fi
  return 0
}

# reg_setup_file MODE: the setup_file of a tests/cli/registry*.bats file
# that uses one registry: skips the file when docker-registry (or, for the
# Basic modes, htpasswd) is not installed, starts a MODE registry in
# $BATS_FILE_TMPDIR/registry and exports what reg_start set for the tests.
reg_setup_file() {
  command -v docker-registry >/dev/null || skip "docker-registry is not installed"
  case $1 in
  basic | https-basic)
    command -v htpasswd >/dev/null || skip "htpasswd (apache2-utils) is not installed"
    ;;
  esac
  reg_start "$1" "$BATS_FILE_TMPDIR/registry" || return 1
  export REG REG_PID REG_DIR REG_CA REG_CERTS_D REG_USER REG_PASS TOKEN_PID
}

# reg_setup [RETRIES]: the common start of those files' setup: a store of
# the test's own (strata_setup), Docker and registry auth files of the
# test's own, STRATA_REGISTRY_RETRIES=RETRIES when given, and R, a
# repository of the test's own on the registry.
reg_setup() {
  strata_setup
  export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
  if [ -n "${1:-}" ]; then
    export STRATA_REGISTRY_RETRIES=$1
  fi
  R=$REG/t$BATS_TEST_NUMBER
}

setup_file() {
  reg_setup_file http
}

teardown_file() {
  reg_stop
}

setup() {
  reg_setup
}

teardown() {
  proxy_stop
}

# proxy_start TARGET_PORT [tcpproxy.py options...]: a misbehaving TCP proxy
# in front of a registry; sets PROXY (127.0.0.1:PORT), PROXY_PID,
# PROXY_LOG.
proxy_start() {
  local target=$1 port
  shift
  port=$(reg_free_port) || return 1
  PROXY=127.0.0.1:$port
  PROXY_LOG=${REG_DIR:-${BATS_TEST_TMPDIR:-/tmp}}/proxy-$port.log
  python3 "$REG_TOOLS_DIR/tcpproxy.py" "$port" "$target" --log "$PROXY_LOG" "$@" \
    >/dev/null 2>&1 &
  PROXY_PID=$!
  reg_wait_port "$port"
}

proxy_stop() {
  if [ -n "${PROXY_PID:-}" ]; then
    kill "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=
  fi
  return 0
}

# make_multiarch_oci DIR LAYER_TAR [OS/ARCH[/VARIANT]...]: an OCI layout in
# DIR whose index "latest" lists an image per platform (default linux/amd64
# and linux/arm64; same gzip layer, configs differing by platform). Prints
# the config digests, in the order of the platforms.
make_multiarch_oci() {
  python3 - "$@" <<'PY'
import gzip, hashlib, json, os, sys
out, tar = sys.argv[1], sys.argv[2]
plats = sys.argv[3:] or ["linux/amd64", "linux/arm64"]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d, len(data)
raw = open(tar, "rb").read()
layer, lsize = put(gzip.compress(raw, mtime=0))
diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
manifests, configs = [], []
for plat in plats:
    osname, arch, *variant = plat.split("/")
    p = {"architecture": arch, "os": osname}
    if variant:
        p["variant"] = variant[0]
    cfg = json.dumps(dict(p, **{
                      "config": {"Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                      "created": "2024-01-01T00:00:00Z"}),
                     separators=(",", ":")).encode()
    cdig, csize = put(cfg)
    configs.append(cdig)
    m = json.dumps({"schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": cdig, "size": csize},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": layer, "size": lsize}]},
                   separators=(",", ":")).encode()
    mdig, msize = put(m)
    manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "digest": mdig, "size": msize,
                      "platform": p})
idx = json.dumps({"schemaVersion": 2,
                  "mediaType": "application/vnd.oci.image.index.v1+json",
                  "manifests": manifests}, separators=(",", ":")).encode()
idig, isize = put(idx)
json.dump({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": idig,
     "size": isize, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
    open(os.path.join(out, "index.json"), "w"))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
print(*configs)
PY
}

# reg_blob_file DIGEST: the file the registry stores a blob in.
reg_blob_file() {
  local hex=${1#sha256:}
  echo "$REG_DIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# make_layered_archive OUT TAG SIZE_KB...: a `docker save` archive in OUT
# holding TAG, an image with one layer per SIZE_KB (bottom first), each a
# file /layerN of that many KiB of (seeded, so repeatable) random bytes.
# Load it with `strata load -i OUT`.
make_layered_archive() {
  python3 - "$@" <<'PY'
import hashlib, io, json, random, sys, tarfile
out, tag, sizes = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
def tar_bytes(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
layers = []
for i, kb in enumerate(sizes):
    rnd = random.Random("%s/%d" % (tag, i))
    layers.append(tar_bytes([("layer%d" % i, rnd.randbytes(kb * 1024))]))
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Cmd": ["sh"]},
                     "created": "2024-01-01T00:00:00Z",
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}},
                    separators=(",", ":")).encode()
chex = hashlib.sha256(config).hexdigest()
files = [(chex + ".json", config)]
names = []
for d, l in zip(diff_ids, layers):
    names.append(d[7:] + "/layer.tar")
    files.append((names[-1], l))
files.append(("manifest.json", json.dumps(
    [{"Config": chex + ".json", "RepoTags": [tag], "Layers": names}]).encode()))
open(out, "wb").write(tar_bytes(files))
PY
}
