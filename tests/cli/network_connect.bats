#!/usr/bin/env bats
# strata network connect/disconnect, through the real binary: a running
# container gets and loses interfaces at once, a stopped one at its next
# start; names resolve on every network a container shares with a peer;
# the default route moves when its network goes; Docker's refusals. Needs
# root (namespaces, netlink). Addresses are those of bridges the tests
# make: no packet leaves the machine.

load helpers

setup() {
  net_setup
}

teardown() {
  net_teardown
}

srun() {
  "$STRATA" run --pull never "$@"
}

# the IPv4 address of interface $2 in container $1
addr_of() {
  "$STRATA" exec "$1" ip -4 -o addr show dev "$2" | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p'
}

@test "network connect gives a running container an interface at once; disconnect takes it away" {
  "$STRATA" network create --subnet 10.231.60.0/24 back >/dev/null
  srun -d --name web nbb httpd -f -p 80 -h /www >/dev/null
  run --separate-stderr "$STRATA" network connect back web
  assert_status 0
  assert_eq "$output" ""
  run addr_of web eth1
  assert_eq "$output" "10.231.60.2"
  # the default route stays on the first network
  run --separate-stderr "$STRATA" exec web sh -c 'ip route | grep ^default'
  assert_match "$output" '^default via 172\.[0-9.]+ dev eth0'
  # a peer on the new network reaches it by name
  run --separate-stderr srun --rm --network back nbb wget -qO- http://web/
  assert_status 0
  assert_eq "$output" "hello-from-web"
  run --separate-stderr "$STRATA" inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}}/{{$v.IPPrefixLen}} {{end}}{{.HostConfig.NetworkMode}}' web
  assert_match "$output" '^back=10\.231\.60\.2/24 bridge=172\.[0-9.]+/16 bridge$'
  run --separate-stderr "$STRATA" network inspect back -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}'
  assert_eq "$output" "web 10.231.60.2/24"

  run --separate-stderr "$STRATA" network disconnect back web
  assert_status 0
  run --separate-stderr "$STRATA" exec web ip -o link
  [[ $output != *eth1* ]]
  run --separate-stderr srun --rm --network back nbb wget -qO- http://web/
  assert_status 1
  assert_match "$stderr" "bad address 'web'"
  run --separate-stderr "$STRATA" inspect -f '{{len .NetworkSettings.Networks}}' web
  assert_eq "$output" "1"
  # no host end is left behind, and the network can go
  local id
  id=$("$STRATA" inspect -f '{{.Id}}' web)
  ! ip link show "stv${id:0:11}1" >/dev/null 2>&1
  run --separate-stderr "$STRATA" network rm back
  assert_status 0
}

@test "a stopped container gets its networks at start, with --ip and --alias" {
  "$STRATA" network create --subnet 10.231.61.0/24 front >/dev/null
  "$STRATA" network create --subnet 10.231.62.0/24 back >/dev/null
  "$STRATA" create --pull never --name app --network front nbb httpd -f -p 80 -h /www >/dev/null
  run --separate-stderr "$STRATA" network connect --ip 10.231.62.77 --alias api --alias svc back app
  assert_status 0
  "$STRATA" start app >/dev/null
  run addr_of app eth0
  assert_eq "$output" "10.231.61.2"
  run addr_of app eth1
  assert_eq "$output" "10.231.62.77"
  run --separate-stderr srun --rm --network back nbb sh -c 'wget -qO- http://api/ && wget -qO- http://svc/ && wget -qO- http://app/'
  assert_status 0
  assert_eq "$output" "hello-from-web
hello-from-web
hello-from-web"
  run --separate-stderr "$STRATA" inspect -f '{{json (index .NetworkSettings.Networks "back").Aliases}}' app
  assert_eq "$output" '["api","svc"]'
  # a restart plumbs both again, with the same addresses
  "$STRATA" stop -t 1 app >/dev/null
  "$STRATA" start app >/dev/null
  run addr_of app eth1
  assert_eq "$output" "10.231.62.77"
  # the container's own hosts file lists its peers of both networks
  srun -d --name peer1 --network front nbb sleep 60 >/dev/null
  srun -d --name peer2 --network back nbb sleep 60 >/dev/null
  run --separate-stderr "$STRATA" exec app cat /etc/hosts
  assert_match "$output" $'10\\.231\\.61\\.[0-9]+\tpeer1 '
  assert_match "$output" $'10\\.231\\.62\\.[0-9]+\tpeer2 '
  # peers of a network it left are forgotten
  "$STRATA" network disconnect back app
  run --separate-stderr "$STRATA" exec app cat /etc/hosts
  [[ $output != *peer2* ]]
  assert_match "$output" "peer1"
}

@test "disconnecting the network of the default route moves it to another network" {
  "$STRATA" network create --subnet 10.231.63.0/24 other >/dev/null
  "$STRATA" network create --internal --subnet 10.231.64.0/24 closed >/dev/null
  srun -d --name cc nbb sleep 60 >/dev/null
  "$STRATA" network connect closed cc
  "$STRATA" network connect other cc
  run --separate-stderr "$STRATA" exec cc sh -c 'ip route | grep ^default'
  assert_match "$output" '^default via 172\.[0-9.]+ dev eth0'
  "$STRATA" network disconnect bridge cc
  # not through the --internal network: through the next one
  run --separate-stderr "$STRATA" exec cc sh -c 'ip route | grep ^default'
  assert_eq "$output" "default via 10.231.63.1 dev eth2 "
  # a freed interface index is used again
  "$STRATA" network connect bridge cc
  run --separate-stderr "$STRATA" exec cc ip -o link show eth0
  assert_status 0
}

@test "network connect and disconnect refuse with Docker's messages" {
  "$STRATA" network create --subnet 10.231.65.0/24 mine >/dev/null
  srun -d --name bb nbb sleep 60 >/dev/null
  srun -d --name lonely --network none nbb sleep 60 >/dev/null
  srun -d --name hosted --network host nbb sleep 60 >/dev/null

  run --separate-stderr "$STRATA" network connect bridge bb
  assert_status 1
  assert_eq "$stderr" "Error: endpoint with name bb already exists in network bridge"
  run --separate-stderr "$STRATA" network connect mine lonely
  assert_status 1
  assert_eq "$stderr" "Error: container cannot be connected to multiple networks with one of the networks in private (none) mode"
  run --separate-stderr "$STRATA" network connect mine hosted
  assert_status 1
  assert_eq "$stderr" "Error: container sharing network namespace with another container or host cannot be connected to any other network"
  run --separate-stderr "$STRATA" network connect host bb
  assert_status 1
  assert_eq "$stderr" "Error: container sharing network namespace with another container or host cannot be connected to any other network"
  run --separate-stderr "$STRATA" network connect none bb
  assert_status 1
  assert_match "$stderr" "private \\(none\\) mode"
  run --separate-stderr "$STRATA" network disconnect host hosted
  assert_status 1
  assert_eq "$stderr" "Error: container cannot be disconnected from host network or connected to host network"

  "$STRATA" network disconnect bridge bb
  run --separate-stderr "$STRATA" network connect --alias x bridge bb
  assert_status 1
  assert_eq "$stderr" "Error: network-scoped alias is supported only for containers in user defined networks"
  run --separate-stderr "$STRATA" network connect --ip 172.17.0.99 bridge bb
  assert_status 1
  assert_eq "$stderr" "Error: user specified IP address is supported on user defined networks only"
  run --separate-stderr "$STRATA" network connect --ip 10.231.99.5 mine bb
  assert_status 1
  assert_match "$stderr" "no configured subnet or ip-range contain the IP address 10.231.99.5"
  # a refused connect left nothing: the container is still on no network
  run --separate-stderr "$STRATA" inspect -f '{{len .NetworkSettings.Networks}}' bb
  assert_eq "$output" "0"

  local id
  id=$("$STRATA" inspect -f '{{.Id}}' bb)
  run --separate-stderr "$STRATA" network disconnect mine bb
  assert_status 1
  assert_eq "$stderr" "Error: container $id is not connected to network mine"
  run --separate-stderr "$STRATA" network connect nosuchnet bb
  assert_status 1
  assert_eq "$stderr" "Error: network nosuchnet not found"
  run --separate-stderr "$STRATA" network connect mine nosuchctr
  assert_status 1
  assert_eq "$stderr" "Error: No such container: nosuchctr"
  run --separate-stderr "$STRATA" network connect mine
  assert_status 1
  assert_match "$stderr" '"strata network connect" requires exactly 2 arguments'
  run --separate-stderr "$STRATA" network disconnect -f mine
  assert_status 1
  assert_match "$stderr" '"strata network disconnect" requires exactly 2 arguments'
}

@test "a container on a network it was connected to cannot lose the network under it, and events are recorded" {
  "$STRATA" network create --subnet 10.231.66.0/24 held >/dev/null
  "$STRATA" create --pull never --name idle nbb true >/dev/null
  "$STRATA" network connect held idle
  run --separate-stderr "$STRATA" network rm held
  assert_status 1
  assert_match "$stderr" "has active endpoints"
  run --separate-stderr "$STRATA" events --since 0 --until 0s --filter type=network --format '{{.Action}} {{.Actor.Attributes.name}}'
  assert_match "$output" "connect held"
  "$STRATA" network disconnect held idle
  run --separate-stderr "$STRATA" events --since 0 --until 0s --filter type=network --format '{{.Action}} {{.Actor.Attributes.name}}'
  assert_match "$output" "disconnect held"
  run --separate-stderr "$STRATA" network rm held
  assert_status 0
}

@test "a container made before connect existed (one \"endpoint\" in network.json) starts, inspects and connects" {
  "$STRATA" network create --subnet 10.231.67.0/24 old >/dev/null
  "$STRATA" network create --subnet 10.231.68.0/24 new >/dev/null
  "$STRATA" create --pull never --name legacy --network old nbb sleep 60 >/dev/null
  local id dir
  id=$("$STRATA" inspect -f '{{.Id}}' legacy)
  dir=$STRATA_ROOT/containers/$id
  # the layout before: one endpoint object, no index, no network_mode
  python3 - "$dir/network.json" <<'PY'
import json, sys
p = sys.argv[1]
cfg = json.load(open(p))
ep = cfg.pop("endpoints")[0]
ep.pop("index")
cfg.pop("network_mode")
cfg["endpoint"] = ep
open(p, "w").write(json.dumps(cfg))
PY
  "$STRATA" start legacy >/dev/null
  run addr_of legacy eth0
  assert_eq "$output" "10.231.67.2"
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.NetworkMode}} {{(index .NetworkSettings.Networks "old").IPAddress}}' legacy
  assert_eq "$output" "old 10.231.67.2"
  run --separate-stderr "$STRATA" network connect new legacy
  assert_status 0
  run addr_of legacy eth1
  assert_eq "$output" "10.231.68.2"
}

@test "SIGKILL of strata in the middle of network setup (run -p, network connect): nothing stale after rm and system check --repair" {
  "$STRATA" network create --subnet 10.231.69.0/24 kills >/dev/null
  local port=$((20000 + RANDOM % 20000)) i delay pid
  for i in $(seq 1 12); do
    delay=$(awk -v i="$i" 'BEGIN {printf "%.3f", 0.004 * i}')
    "$STRATA" run -d --pull never -p "$port:80" nbb httpd -f -p 80 -h /www >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  srun -d --name target nbb sleep 120 >/dev/null
  for i in $(seq 1 8); do
    delay=$(awk -v i="$i" 'BEGIN {printf "%.3f", 0.002 * i}')
    "$STRATA" network connect kills target >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    "$STRATA" network disconnect kills target >/dev/null 2>&1 || true
  done
  # whatever a kill left: the user removes the containers and repairs
  local ids
  ids=$("$STRATA" ps -aq --no-trunc)
  for id in $ids; do
    "$STRATA" rm -f "$id" >/dev/null 2>&1 || true
  done
  "$STRATA" system check --repair >/dev/null 2>&1 || true
  run --separate-stderr "$STRATA" system check
  assert_status 0
  for id in $ids; do
    ! ip -o link | grep -q "stv${id:0:11}"
  done
  ! nft list table ip strata 2>/dev/null | grep -q "dport $port "
  run --separate-stderr "$STRATA" network inspect kills -f '{{len .Containers}}'
  assert_eq "$output" "0"
  run --separate-stderr "$STRATA" network rm kills
  assert_status 0
  # the port and the addresses serve a new container
  "$STRATA" network create --subnet 10.231.69.0/24 kills >/dev/null
  srun -d --name web --network kills -p "$port:80" nbb httpd -f -p 80 -h /www >/dev/null
  run addr_of web eth0
  assert_eq "$output" "10.231.69.2"
  for i in $(seq 1 50); do
    timeout 5 "$BUSYBOX_BIN" wget -qO- "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  run timeout 5 "$BUSYBOX_BIN" wget -qO- "http://127.0.0.1:$port/"
  assert_eq "$output" "hello-from-web"
}
