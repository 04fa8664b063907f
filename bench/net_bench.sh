#!/usr/bin/env bash
# Issue 12's networking cost: `run --rm busybox true` with strata on the
# bridge network (a veth pair on strata0, an address from the store, the
# table ensured) against strata with `--network none`, `podman run --rm`
# on podman's default network, and crun on an equivalent bundle (no
# network), interleaved so that all see the same load. Targets: strata's
# bridge at most 2x its none, and at least 10x faster than podman.
#
# Usage: bench/net_bench.sh [STRATA_BINARY]   (root; default build/strata)
# Env:   ROUNDS (default 30), BENCH_KEEP=1 keeps the work dir.
# Only addresses of strata's and podman's own bridges are used; no packet
# leaves the machine (the containers only run `true`).
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
bench_deps
[ "$(id -u)" = 0 ] || bench_die "run as root (networks need netlink and nftables)"
rounds=${ROUNDS:-30}
W=$BENCH_WORK

hybrid_cgroups_for_crun
busybox_rootfs_tar "$W/busybox.tar"

export STRATA_ROOT=$W/strata
"$STRATA" import "$W/busybox.tar" busybox >/dev/null
s_none="$STRATA run --rm --pull never --network none busybox true"
s_bridge="$STRATA run --rm --pull never --network bridge busybox true"
$s_none || bench_die "strata run --network none failed"
$s_bridge || bench_die "strata run --network bridge failed"

crun_cmd=$(crun_bundle "$W/bundle" "$W/busybox.tar") || bench_die "crun bundle failed"
$crun_cmd || bench_die "crun run failed"

podman_for_containers "$W/podman"
trap 'umount -R "$W/podman/root/overlay" 2>/dev/null || true; [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W" || true' EXIT
"${PODMAN[@]}" import "$W/busybox.tar" localhost/busybox:latest >/dev/null
pod_cmd="${PODMAN[*]} run --rm localhost/busybox true"
cases=(strata-bridge "$s_bridge" strata-none "$s_none" crun "$crun_cmd")
if sh -c "$pod_cmd" >/dev/null 2>"$W/podman.err"; then
  cases+=(podman-default "$pod_cmd")
else
  echo "podman on its default network fails here ($(tail -1 "$W/podman.err")): left out" >&2
fi

bench_interleave "$rounds" "$W/medians" "${cases[@]}"
python3 - "$W/medians" <<'PY'
import sys
med = dict((l.split()[0], float(l.split()[1])) for l in open(sys.argv[1]))
ok = True
r = med["strata-bridge"] / med["strata-none"]
print("%s: strata bridge / strata none = %.2fx (target <= 2x)" % ("PASS" if r <= 2 else "FAIL", r))
ok &= r <= 2
print("  strata bridge / crun (no network) = %.2fx" % (med["strata-bridge"] / med["crun"]))
if "podman-default" in med:
    r = med["podman-default"] / med["strata-bridge"]
    print("%s: podman (default network) / strata bridge = %.1fx (target >= 10x)" % ("PASS" if r >= 10 else "FAIL", r))
    ok &= r >= 10
else:
    print("podman: not measured (its default network does not work here)")
sys.exit(0 if ok else 1)
PY
