#!/usr/bin/env bats
# strata network create/ls/inspect/rm/prune and containers on bridge
# networks (run --network bridge|NAME, --ip, --network-alias, --dns*,
# --add-host), through the real binary. Needs root (namespaces, netlink).
# Every address used is one of a bridge the test makes, or 127.0.0.0/8:
# no packet leaves the machine.

load helpers

NET_APPLETS="sh ls cat echo true false sleep hostname nc httpd wget ip grep sed head tail mkdir seq sort wc timeout"

# A busybox image with the networking applets (Debian's busybox 1.35 wget
# crashes with -T: timeouts come from timeout(1)).
net_image() {
  local r=$BATS_TEST_TMPDIR/netfs a
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/www"
  cp "$BUSYBOX_BIN" "$r/bin/busybox"
  for a in $NET_APPLETS; do ln -s busybox "$r/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  echo 'root:x:0:' >"$r/etc/group"
  echo hello-from-web >"$r/www/index.html"
  tar -C "$r" -cf "$BATS_TEST_TMPDIR/net.tar" bin etc tmp www
  "$STRATA" import "$BATS_TEST_TMPDIR/net.tar" nbb >/dev/null
}

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "networks need root here"
  fi
  net_image
}

teardown() {
  local id n
  for id in $("$STRATA" ps -aq 2>/dev/null); do
    "$STRATA" rm -f "$id" >/dev/null 2>&1 || true
  done
  for n in $("$STRATA" network ls -q --filter type=custom 2>/dev/null); do
    "$STRATA" network rm "$n" >/dev/null 2>&1 || true
  done
}

# runs a container quietly, never pulling
srun() {
  "$STRATA" run --pull never "$@"
}

@test "network ls lists the predefined networks in Docker's layout" {
  run --separate-stderr "$STRATA" network ls
  assert_status 0
  local ids
  mapfile -t ids < <("$STRATA" network ls -q)
  [ "${#ids[@]}" -eq 3 ]
  expected=$(printf 'NETWORK ID\tNAME\tDRIVER\tSCOPE\n%s\tbridge\tbridge\tlocal\n%s\thost\thost\tlocal\n%s\tnone\tnull\tlocal\n' \
    "${ids[0]}" "${ids[1]}" "${ids[2]}" | tabwriter)
  assert_eq "$output" "$expected"
  assert_match "${ids[0]}" '^[0-9a-f]{12}$'
  run --separate-stderr "$STRATA" network inspect bridge -f '{{.Driver}} {{(index .IPAM.Config 0).Subnet}} {{index .Options "com.docker.network.bridge.name"}}'
  assert_status 0
  assert_match "$output" '^bridge 172\.(1[7-9]|2[0-9]|3[01])\.0\.0/16 strata0$'
}

@test "network create, inspect, ls filters and format, rm" {
  run --separate-stderr "$STRATA" network create --subnet 10.231.7.0/24 --gateway 10.231.7.254 --label team=db --internal dbnet
  assert_status 0
  assert_match "$output" '^[0-9a-f]{64}$'
  local id=$output
  run --separate-stderr "$STRATA" network inspect dbnet
  assert_status 0
  assert_json_valid "$output"
  printf '%s' "$output" | python3 -c '
import json, sys
n = json.load(sys.stdin)[0]
assert n["Name"] == "dbnet", n
assert n["Id"] == sys.argv[1], n
assert n["Driver"] == "bridge" and n["Scope"] == "local", n
assert n["Internal"] is True, n
assert n["IPAM"]["Config"] == [{"Subnet": "10.231.7.0/24", "Gateway": "10.231.7.254"}], n
assert n["Labels"] == {"team": "db"}, n
assert n["Containers"] == {}, n
assert n["Options"]["com.docker.network.bridge.name"] == "br-" + sys.argv[1][:12], n
' "$id"
  # by ID prefix too
  run --separate-stderr "$STRATA" network inspect -f '{{.Name}}' "${id:0:5}"
  assert_eq "$output" "dbnet"
  run --separate-stderr "$STRATA" network ls --filter label=team=db --format '{{.Name}} {{.Driver}} {{.Internal}}'
  assert_eq "$output" "dbnet bridge true"
  run --separate-stderr "$STRATA" network ls --filter type=custom -q --no-trunc
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" network rm dbnet
  assert_status 0
  assert_eq "$output" "dbnet"
  run --separate-stderr "$STRATA" network inspect dbnet
  assert_failure
  assert_error_line 'network dbnet not found'
}

@test "network create refuses bad input with Docker's messages" {
  "$STRATA" network create --subnet 10.231.8.0/24 one >/dev/null
  run --separate-stderr "$STRATA" network create one
  assert_failure
  assert_error_line 'network with name one already exists'
  run --separate-stderr "$STRATA" network create --subnet 10.231.0.0/16 two
  assert_failure
  assert_error_line 'Pool overlaps with other one on this address space'
  run --separate-stderr "$STRATA" network create --subnet 10.231.300.0/24 three
  assert_failure
  assert_error_line 'invalid subnet 10.231.300.0/24'
  run --separate-stderr "$STRATA" network create --subnet 10.231.9.0/24 --gateway 10.231.10.1 four
  assert_failure
  assert_error_line 'no matching subnet for gateway 10.231.10.1'
  run --separate-stderr "$STRATA" network create -d overlay five
  assert_failure
  assert_error_line 'plugin "overlay" not found'
  run --separate-stderr "$STRATA" network create bridge
  assert_failure
  run --separate-stderr "$STRATA" network rm host
  assert_failure
  assert_error_line 'host is a pre-defined network and cannot be removed'
  run --separate-stderr "$STRATA" network rm nosuch
  assert_failure
  assert_error_line 'network nosuch not found'
  run --separate-stderr "$STRATA" network rm -f nosuch
  assert_status 0
  run --separate-stderr "$STRATA" network ls -q --filter type=custom
  assert_eq "$(echo "$output" | wc -l)" 1
}

@test "network prune removes unused custom networks only" {
  "$STRATA" network create --subnet 10.231.11.0/24 used >/dev/null
  "$STRATA" network create --subnet 10.231.12.0/24 unused >/dev/null
  "$STRATA" create --pull never --network used --name holder nbb true >/dev/null
  run --separate-stderr "$STRATA" network rm used
  assert_failure
  assert_error_line 'has active endpoints'
  run --separate-stderr "$STRATA" network prune -f
  assert_status 0
  assert_eq "$output" "Deleted Networks:
unused"
  run --separate-stderr "$STRATA" network ls --format '{{.Name}}'
  assert_eq "$output" "bridge
host
none
used"
  # the container's address is freed with it; then the network can go
  "$STRATA" rm holder >/dev/null
  run --separate-stderr "$STRATA" network rm used
  assert_status 0
}

@test "run --network bridge: eth0 with an address, default route, Docker's /etc files" {
  run --separate-stderr srun --rm --network bridge --hostname web1 nbb sh -c \
    'ip -4 -o addr show eth0; ip route; cat /etc/hostname; tail -n 1 /etc/hosts'
  assert_status 0
  local gw
  gw=$("$STRATA" network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}')
  local prefix=${gw%.1}
  assert_match "$output" "eth0 +inet ${prefix//./\\.}\.[0-9]+/16 "
  assert_contains "$output" "default via $gw dev eth0"
  assert_contains "$output" $'\nweb1\n'
  assert_match "$output" "${prefix//./\\.}\.[0-9]+"$'\t'"web1$"
  # the host reaches a server in the container through the bridge
  srun -d --name web --network bridge nbb httpd -f -p 80 -h /www >/dev/null
  local ip
  ip=$("$STRATA" inspect web -f '{{.NetworkSettings.IPAddress}}')
  assert_match "$ip" "^${prefix//./\\.}\."
  run timeout 10 "$BUSYBOX_BIN" wget -qO- "http://$ip/"
  assert_status 0
  assert_eq "$output" "hello-from-web"
  run --separate-stderr "$STRATA" inspect web -f '{{.HostConfig.NetworkMode}} {{.NetworkSettings.Networks.bridge.IPAddress}} {{.NetworkSettings.Networks.bridge.Gateway}}'
  assert_eq "$output" "bridge $ip $gw"
}

@test "--network none keeps loopback only; host shares the host's interfaces" {
  run --separate-stderr srun --rm nbb sh -c 'ls /sys/class/net'
  assert_status 0
  assert_eq "$output" "lo"
  run --separate-stderr srun --rm --network none nbb sh -c 'ip -o link | wc -l'
  assert_eq "$output" "1"
  run --separate-stderr "$STRATA" create --pull never nbb true
  assert_status 0
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.NetworkMode}}' "$output"
  assert_eq "$output" "none"
}

@test "--dns, --dns-search, --dns-option and --add-host write Docker's files" {
  run --separate-stderr srun --rm --network bridge --dns 192.0.2.53 --dns 192.0.2.54 \
    --dns-search example.test --dns-option ndots:2 --add-host db.local:10.9.8.7 \
    --add-host gw.local:host-gateway nbb sh -c 'cat /etc/resolv.conf; echo ---; cat /etc/hosts'
  assert_status 0
  local gw
  gw=$("$STRATA" network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}')
  local resolv=${output%%---*}
  assert_contains "$resolv" $'nameserver 192.0.2.53\nnameserver 192.0.2.54\n'
  assert_contains "$resolv" $'search example.test\n'
  assert_contains "$resolv" $'options ndots:2\n'
  [ "$(grep -c '^nameserver' <<<"$resolv")" -eq 2 ]
  assert_contains "$output" $'10.9.8.7\tdb.local\n'
  assert_contains "$output" $'\n'"$gw"$'\tgw.local\n'
  run --separate-stderr srun --rm --add-host bad nbb true
  assert_failure
  assert_error_line 'invalid argument "bad" for "--add-host" flag'
  run --separate-stderr srun --rm --dns notanip nbb true
  assert_failure
  assert_error_line 'notanip is not an ip address'
}

@test "the host's loopback resolvers are left out on a bridge network, kept on host" {
  run --separate-stderr srun --rm --network bridge nbb cat /etc/resolv.conf
  assert_status 0
  ! grep -q '^nameserver 127\.' <<<"$output"
  grep -q '^nameserver ' <<<"$output"
  run --separate-stderr srun --rm --network host nbb cat /etc/resolv.conf
  assert_eq "$output" "$(cat /etc/resolv.conf)"
}

@test "--ip and --network-alias only on user-defined networks; --ip is honoured" {
  run --separate-stderr srun --rm --network bridge --ip 172.17.0.50 nbb true
  assert_failure
  assert_error_line 'user specified IP address is supported on user defined networks only'
  run --separate-stderr srun --rm --network-alias x nbb true
  assert_failure
  assert_error_line 'network-scoped alias is supported only for containers in user defined networks'
  run --separate-stderr srun --rm --network nosuch nbb true
  assert_failure
  assert_error_line 'network nosuch not found'
  "$STRATA" network create --subnet 10.231.13.0/24 fixed >/dev/null
  run --separate-stderr srun --rm --network fixed --ip 10.231.13.77 nbb ip -4 -o addr show eth0
  assert_status 0
  assert_contains "$output" "inet 10.231.13.77/24"
  run --separate-stderr srun --rm --network fixed --ip 10.231.14.5 nbb true
  assert_failure
  assert_error_line 'no configured subnet or ip-range contain the IP address 10.231.14.5'
  srun -d --name holder --network fixed --ip 10.231.13.9 nbb sleep 30 >/dev/null
  run --separate-stderr srun --rm --network fixed --ip 10.231.13.9 nbb true
  assert_failure
  assert_error_line 'Address already in use: 10.231.13.9'
}

@test "a user-defined network: names, ID prefixes and aliases resolve, also for peers created later and after a restart" {
  "$STRATA" network create --subnet 10.231.15.0/24 app >/dev/null
  srun -d --name web --network app --network-alias www nbb httpd -f -p 80 -h /www >/dev/null
  local id
  id=$("$STRATA" inspect -f '{{.Id}}' web)
  run --separate-stderr srun --rm --network app nbb sh -c \
    "wget -qO- http://web/ && wget -qO- http://www/ && wget -qO- http://${id:0:12}/"
  assert_status 0
  assert_eq "$output" "hello-from-web
hello-from-web
hello-from-web"
  # a peer created after web is known to web
  srun -d --name late --network app nbb sleep 60 >/dev/null
  run --separate-stderr "$STRATA" exec web cat /etc/hosts
  assert_match "$output" $'10\\.231\\.15\\.[0-9]+\tlate [0-9a-f]{12}'
  # web restarts: same address, still reachable by name
  "$STRATA" stop -t 1 web >/dev/null
  "$STRATA" start web >/dev/null
  run --separate-stderr "$STRATA" exec late wget -qO- http://web/
  assert_status 0
  assert_eq "$output" "hello-from-web"
  # a removed peer is forgotten
  "$STRATA" rm -f late >/dev/null
  run --separate-stderr "$STRATA" exec web cat /etc/hosts
  [[ $output != *late* ]]
  # the default bridge has no names (Docker's too)
  run --separate-stderr srun --rm --network bridge nbb grep -c web /etc/hosts
  assert_eq "$output" "0"
}

@test "--internal: no default route out of the network" {
  "$STRATA" network create --internal --subnet 10.231.16.0/24 inside >/dev/null
  run --separate-stderr srun --rm --network inside nbb ip route
  assert_status 0
  assert_eq "$output" "10.231.16.0/24 dev eth0 scope link  src 10.231.16.2 "
}

@test "50 containers created in parallel on one network get distinct addresses, freed on rm" {
  "$STRATA" network create --subnet 10.231.17.0/24 many >/dev/null
  local i
  for i in $(seq 1 50); do
    "$STRATA" create --pull never --network many --name "c$i" nbb true >/dev/null 2>"$BATS_TEST_TMPDIR/err$i" &
  done
  wait
  cat "$BATS_TEST_TMPDIR"/err* >&2 || true
  run --separate-stderr "$STRATA" network inspect many -f '{{range .Containers}}{{.IPv4Address}} {{end}}'
  assert_status 0
  output=$(tr ' ' '\n' <<<"$output")
  local n uniq
  n=$(grep -c '^10\.231\.17\.' <<<"$output")
  uniq=$(sort -u <<<"$output" | grep -c '^10\.231\.17\.')
  [ "$n" -eq 50 ]
  [ "$uniq" -eq 50 ]
  # started in parallel too: each has its own address on eth0
  for i in $(seq 1 10); do
    "$STRATA" start "c$i" >/dev/null &
  done
  wait
  "$STRATA" rm $(seq -f 'c%g' 1 50) >/dev/null
  run --separate-stderr "$STRATA" network inspect many -f '{{len .Containers}}'
  assert_eq "$output" "0"
}
