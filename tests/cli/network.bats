#!/usr/bin/env bats
# strata network create/ls/inspect/rm/prune and containers on bridge
# networks (run --network bridge|NAME, --ip, --network-alias, --dns*,
# --add-host), through the real binary. Needs root (namespaces, netlink).
# Every address used is one of a bridge the test makes, or 127.0.0.0/8:
# no packet leaves the machine.

load helpers

setup() {
  net_setup
}

teardown() {
  ip link del stv0123456789ab 2>/dev/null || true
  net_teardown
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
  # Docker's default is the bridge: eth0 besides lo
  run --separate-stderr srun --rm nbb sh -c 'ls /sys/class/net'
  assert_status 0
  assert_eq "$output" $'eth0\nlo'
  run --separate-stderr srun --rm --network none nbb sh -c 'ls /sys/class/net'
  assert_status 0
  assert_eq "$output" "lo"
  run --separate-stderr srun --rm --network none nbb sh -c 'ip -o link | wc -l'
  assert_eq "$output" "1"
  run --separate-stderr "$STRATA" create --pull never nbb true
  assert_status 0
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.NetworkMode}}' "$output"
  assert_eq "$output" "bridge"
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

# --- published ports, NAT and filtering ----------------------------------------

# free_port: a TCP and UDP port free on this host now.
free_port() {
  python3 -c '
import socket
while True:
    t = socket.socket(); t.bind(("", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("", p)); print(p); break
    except OSError:
        pass
'
}

# http_get URL: the body, or failure after 5 s.
http_get() {
  timeout 5 "$BUSYBOX_BIN" wget -qO- "$1"
}

# wait_http URL: until it answers (a detached server starts asynchronously).
wait_http() {
  local i
  for i in $(seq 1 50); do
    http_get "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# hold_port IP PORT: a host process listening there until killed ($HELD).
hold_port() {
  rm -f "$BATS_TEST_TMPDIR/held"
  python3 -c '
import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen()
open(sys.argv[3], "w").close(); time.sleep(60)
' "$1" "$2" "$BATS_TEST_TMPDIR/held" &
  HELD=$!
  local i
  for i in $(seq 1 100); do
    [ -e "$BATS_TEST_TMPDIR/held" ] && return 0
    sleep 0.05
  done
  return 1
}

bridge_gw() {
  "$STRATA" network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}'
}

@test "-p TCP: the host port answers on 127.0.0.1 and on the bridge address; port, ps and inspect show it" {
  local hp
  hp=$(free_port)
  srun -d --name web -p "$hp:80" nbb httpd -f -p 80 -h /www >/dev/null
  wait_http "http://127.0.0.1:$hp/"
  run http_get "http://127.0.0.1:$hp/"
  assert_status 0
  assert_eq "$output" "hello-from-web"
  run http_get "http://$(bridge_gw):$hp/"
  assert_status 0
  assert_eq "$output" "hello-from-web"
  # another container reaches it through the host's address too (hairpin)
  run --separate-stderr srun --rm --init --network bridge nbb timeout 5 wget -qO- "http://$(bridge_gw):$hp/"
  assert_eq "$output" "hello-from-web"
  run --separate-stderr "$STRATA" port web
  assert_eq "$output" "80/tcp -> 0.0.0.0:$hp"
  run --separate-stderr "$STRATA" port web 80/tcp
  assert_eq "$output" "0.0.0.0:$hp"
  run --separate-stderr "$STRATA" port web 81
  assert_failure
  assert_error_line "No public port '81/tcp' published for web"
  run --separate-stderr "$STRATA" ps --format '{{.Ports}}'
  assert_eq "$output" "0.0.0.0:$hp->80/tcp"
  run --separate-stderr "$STRATA" inspect web -f '{{json .NetworkSettings.Ports}} {{json .HostConfig.PortBindings}}'
  assert_eq "$output" "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$hp\"}]} {\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"$hp\"}]}"
  # stopped: the port is free again and nothing is forwarded
  "$STRATA" stop -t 1 web >/dev/null
  run http_get "http://127.0.0.1:$hp/"
  assert_failure
  run --separate-stderr "$STRATA" port web
  assert_eq "$output" ""
  ! nft list table ip strata | grep -q "dport $hp "
}

@test "-p UDP and a bound host address" {
  command -v gcc >/dev/null || skip "gcc not available"
  gcc -static -O1 -o "$BATS_TEST_TMPDIR/netfs/bin/udp_echo" "$BATS_TEST_DIRNAME/net_udp_echo.c" 2>/dev/null ||
    skip "gcc -static not available"
  tar -C "$BATS_TEST_TMPDIR/netfs" -cf "$BATS_TEST_TMPDIR/udp.tar" bin etc tmp www
  "$STRATA" import "$BATS_TEST_TMPDIR/udp.tar" udp >/dev/null
  local hp
  hp=$(free_port)
  srun -d --name echo -p "127.0.0.1:$hp:5353/udp" udp udp_echo 5353 >/dev/null
  run python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
for _ in range(20):
    s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recv(100).decode()); break
    except socket.timeout:
        time.sleep(0.1)
' "$hp"
  assert_status 0
  assert_eq "$output" "echo:ping"
  run --separate-stderr "$STRATA" port echo
  assert_eq "$output" "5353/udp -> 127.0.0.1:$hp"
}

@test "-p with port ranges, and a host range to pick from" {
  local a b
  a=$(free_port)
  while :; do
    b=$((a + 1))
    python3 -c 'import socket,sys; s=socket.socket(); s.bind(("", int(sys.argv[1])))' "$b" 2>/dev/null && break
    a=$(free_port)
  done
  srun -d --name two -p "$a-$b:8000-8001" nbb sh -c 'httpd -p 8000 -h /www; httpd -f -p 8001 -h /www' >/dev/null
  wait_http "http://127.0.0.1:$a/"
  wait_http "http://127.0.0.1:$b/"
  run --separate-stderr "$STRATA" ps --format '{{.Ports}}'
  assert_eq "$output" "0.0.0.0:$a-$b->8000-8001/tcp"
  # a host range with one container port: the first free one of the range
  "$STRATA" rm -f two >/dev/null
  hold_port 0.0.0.0 "$a"
  srun -d --name pick -p "$a-$b:80" nbb httpd -f -p 80 -h /www >/dev/null
  run --separate-stderr "$STRATA" port pick 80
  kill "$HELD"
  assert_status 0
  assert_eq "$output" "0.0.0.0:$b"
  run --separate-stderr srun --rm -p "1-2-3:80" nbb true
  assert_failure
  assert_error_line 'invalid hostPort: 1-2-3'
  run --separate-stderr srun --rm -p "8000-8002:80-81" nbb true
  assert_failure
  assert_error_line 'invalid ranges specified for container and host Ports'
  run --separate-stderr srun --rm -p "80/sctp" nbb true
  assert_failure
  assert_error_line 'invalid proto: sctp'
}

@test "-P publishes every EXPOSE'd port on a random host port" {
  "$STRATA" import --change 'EXPOSE 80/tcp' "$BATS_TEST_TMPDIR/net.tar" exposed >/dev/null
  srun -d --name auto -P exposed httpd -f -p 80 -h /www >/dev/null
  run --separate-stderr "$STRATA" port auto 80
  assert_status 0
  assert_match "$output" '^0\.0\.0\.0:[0-9]+$'
  local hp=${output#0.0.0.0:}
  wait_http "http://127.0.0.1:$hp/"
  run http_get "http://127.0.0.1:$hp/"
  assert_eq "$output" "hello-from-web"
}

@test "a taken host port is refused with Docker's message, by a container or by a host process" {
  local hp
  hp=$(free_port)
  srun -d --name first -p "$hp:80" nbb httpd -f -p 80 -h /www >/dev/null
  run --separate-stderr srun -d --name second -p "$hp:80" nbb httpd -f -p 80 -h /www
  assert_status 125
  assert_error_line "driver failed programming external connectivity on endpoint second: Bind for 0.0.0.0:$hp failed: port is already allocated"
  run --separate-stderr "$STRATA" inspect second -f '{{.State.Status}}'
  assert_eq "$output" "created"
  # a host process holding a port
  local hp2
  hp2=$(free_port)
  hold_port 127.0.0.1 "$hp2"
  local py=$HELD
  run --separate-stderr srun --rm -p "127.0.0.1:$hp2:80" nbb true
  kill "$py"
  assert_status 125
  assert_error_line "Bind for 127.0.0.1:$hp2 failed: port is already allocated"
  # --network none/host cannot publish
  run --separate-stderr srun --rm --network host -p 80 nbb true
  assert_failure
  assert_error_line 'published ports need a bridge network'
}

@test "two networks are isolated from each other" {
  "$STRATA" network create --subnet 10.231.20.0/24 neta >/dev/null
  "$STRATA" network create --subnet 10.231.21.0/24 netb >/dev/null
  srun -d --name srv --network neta nbb httpd -f -p 80 -h /www >/dev/null
  local ip
  ip=$("$STRATA" inspect srv -f '{{.NetworkSettings.Networks.neta.IPAddress}}')
  # same network: reachable (the control)
  run --separate-stderr srun --rm --init --network neta nbb timeout 5 wget -qO- "http://$ip/"
  assert_eq "$output" "hello-from-web"
  # Not reachable: refused, or dropped until timeout ends wget (--init:
  # wget is not PID 1, which would ignore timeout's SIGTERM).
  run --separate-stderr srun --rm --init --network netb nbb timeout 3 wget -qO- "http://$ip/"
  [ "$status" -ne 0 ]
  [ "$output" != "hello-from-web" ]
  run --separate-stderr srun --rm --init --network bridge nbb timeout 3 wget -qO- "http://$ip/"
  [ "$status" -ne 0 ]
  [ "$output" != "hello-from-web" ]
  nft list table ip strata | grep -q 'iifname "br-.*" oifname "br-.*" drop'
}

# A "remote" server: a network namespace this test makes, routed through
# the host like any outside address would be (no packet leaves the
# machine). Prints the namespace's name.
outside_server() {
  local ns=stout$$ port=$1
  ip netns add "$ns"
  ip link add "stvo$$" type veth peer name eth0 netns "$ns"
  ip addr add 10.231.99.1/24 dev "stvo$$"
  ip link set "stvo$$" up
  ip -n "$ns" addr add 10.231.99.2/24 dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip netns exec "$ns" python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("from " + self.client_address[0]).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("10.231.99.2", int(sys.argv[1])), H).serve_forever()
' "$port" &
  echo $! >"$BATS_TEST_TMPDIR/outside.pid"
  for _ in $(seq 1 50); do
    ip netns exec "$ns" python3 -c 'import socket,sys; socket.create_connection(("10.231.99.2", int(sys.argv[1])), 1)' "$port" 2>/dev/null && break
    sleep 0.1
  done
}

outside_cleanup() {
  [ -f "$BATS_TEST_TMPDIR/outside.pid" ] && kill "$(cat "$BATS_TEST_TMPDIR/outside.pid")" 2>/dev/null
  ip netns del "stout$$" 2>/dev/null || true
  ip link del "stvo$$" 2>/dev/null || true
}

@test "outbound connections are masqueraded; --internal networks have no way out" {
  outside_server 8080
  srun -d --name keep --network bridge nbb sleep 60 >/dev/null
  run --separate-stderr srun --rm --init --network bridge nbb timeout 5 wget -qO- http://10.231.99.2:8080/
  local out=$output st=$status
  "$STRATA" network create --internal --subnet 10.231.22.0/24 sealed >/dev/null
  run --separate-stderr srun --rm --init --network sealed nbb timeout 3 wget -qO- http://10.231.99.2:8080/
  local sealed=$status
  outside_cleanup
  [ "$st" -eq 0 ]
  # the server saw the host's address, not the container's
  assert_eq "$out" "from 10.231.99.1"
  [ "$sealed" -ne 0 ]
}

@test "system check: a container killed with its monitor leaves its DNAT rules; --repair rebuilds the table; a stale veth end is removed" {
  local hp pid mon
  hp=$(free_port)
  srun -d --name web -p "$hp:80" nbb httpd -f -p 80 -h /www >/dev/null
  wait_http "http://127.0.0.1:$hp/"
  run --separate-stderr "$STRATA" system check
  assert_status 0
  # SIGKILL to the monitor, then to the container: nobody rebuilds the table
  pid=$("$STRATA" inspect -f '{{.State.Pid}}' web)
  mon=$(ps -o ppid= -p "$pid" | tr -d ' ')
  kill -9 "$mon"
  kill -9 "$pid"
  sleep 0.3
  nft list table ip strata | grep -q "dport $hp "
  # an interface named as the host end of a container that is not
  # running; one named for a container this store does not know is left
  # alone (another store's)
  cid=$("$STRATA" create --pull never --network bridge nbb true)
  stale=stv${cid:0:12}
  ip link add "$stale" type veth peer name "xstale$$"
  ip link add stv0123456789ab type veth peer name "xother$$"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_contains "$output" "network interface $stale belongs to no running container"
  [[ $output != *stv0123456789ab* ]]
  assert_contains "$output" 'the nftables table "ip strata" has rules of containers or networks that are gone'
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  assert_contains "$output" "Removed network interface $stale"
  assert_contains "$output" 'Rebuilt the nftables table "ip strata"'
  ! ip link show "$stale" >/dev/null 2>&1
  ip link show stv0123456789ab >/dev/null
  ip link del stv0123456789ab
  ! nft list table ip strata | grep -q "dport $hp "
  run --separate-stderr "$STRATA" system check
  assert_status 0
  # the port serves a new container
  srun -d --name web2 -p "$hp:80" nbb httpd -f -p 80 -h /www >/dev/null
  wait_http "http://127.0.0.1:$hp/"
  run http_get "http://127.0.0.1:$hp/"
  assert_eq "$output" "hello-from-web"
}

@test "a store used from a second network namespace makes the table there too" {
  # a bridged container without ports makes sure the table exists once
  # per boot and namespace (a marker in the store): a marker per store
  # alone would leave a namespace entered later without masquerading
  srun --rm nbb true
  nft list table ip strata >/dev/null
  [ -s "$STRATA_ROOT/network-table" ]
  run unshare --net sh -c 'ip link set lo up &&
    "$STRATA" run --rm --pull never nbb true && nft list table ip strata'
  assert_status 0
  assert_contains "$output" "masquerade"
  # and in the next one, after the marker named the second
  run unshare --net sh -c 'ip link set lo up &&
    "$STRATA" run --rm --pull never nbb true && nft list table ip strata'
  assert_status 0
  assert_contains "$output" "masquerade"
}
