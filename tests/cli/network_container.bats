#!/usr/bin/env bats
# run/create --network container:NAME|ID (Docker's container network
# mode): the container joins the network namespace of another, running,
# container, and has its /etc/hosts, /etc/resolv.conf and hostname; no
# address, veth or port of its own; Docker's conflicts and errors. Needs
# root. Every address used is one of a bridge strata makes, or 127.0.0.1.

load helpers

setup() {
  net_setup hello-from-donor
}

teardown() {
  containers_teardown
}

# rs ARGS...: `strata run --rm --pull never ARGS...` under bats' run
rs() {
  run --separate-stderr "$STRATA" run --rm --pull never "$@"
}

# A donor serving /www on 127.0.0.1:8080 inside its own namespace.
web_donor() {
  "$STRATA" run -d --pull never --name donor "$@" nbb httpd -f -p 127.0.0.1:8080 -h /www >/dev/null
}

@test "--network container:NAME: the donor's loopback, namespace, hostname, hosts and resolv.conf" {
  web_donor --network none
  # what the donor sees of itself
  run --separate-stderr "$STRATA" exec donor sh -c 'readlink /proc/self/ns/net; hostname; cat /etc/hosts /etc/resolv.conf'
  assert_status 0
  donor_view=$output
  donor_pid=$("$STRATA" inspect -f '{{.State.Pid}}' donor)
  assert_eq "${lines[0]}" "$(readlink /proc/"$donor_pid"/ns/net)"
  rs --network container:donor nbb sh -c 'readlink /proc/self/ns/net; hostname; cat /etc/hosts /etc/resolv.conf'
  assert_status 0
  assert_eq "$output" "$donor_view"
  # the donor's service on 127.0.0.1, which no other namespace reaches
  rs --network container:donor nbb timeout 10 wget -q -O - http://127.0.0.1:8080/
  assert_status 0
  assert_eq "$output" "hello-from-donor"
  rs --network none nbb timeout 10 wget -q -O - http://127.0.0.1:8080/
  assert_failure
  # the other way round, with nc: the joiner listens, the donor connects
  "$STRATA" run -d --pull never --name joiner --network container:donor nbb sh -c 'echo pong | nc -l -p 9090' >/dev/null
  for _ in $(seq 50); do
    run --separate-stderr "$STRATA" exec donor sh -c 'timeout 5 nc 127.0.0.1 9090 </dev/null'
    [ "$output" = pong ] && break
    sleep 0.1
  done
  assert_eq "$output" "pong"
}

@test "--network container:ID on a bridged donor: its eth0 and address, no veth of the joiner's own" {
  web_donor
  donor_id=$("$STRATA" inspect -f '{{.Id}}' donor)
  donor_ip=$("$STRATA" inspect -f '{{.NetworkSettings.IPAddress}}' donor)
  [ -n "$donor_ip" ]
  run --separate-stderr "$STRATA" run -d --pull never --name joiner --network "container:${donor_id:0:12}" nbb sleep 300
  assert_status 0
  joiner_id=$output
  run --separate-stderr "$STRATA" exec joiner sh -c 'ip -o -4 addr show eth0; hostname; grep -c . /etc/hosts'
  assert_status 0
  assert_match "${lines[0]}" " inet $donor_ip/"
  assert_eq "${lines[1]}" "${donor_id:0:12}"
  run --separate-stderr "$STRATA" exec donor grep -c . /etc/hosts
  donor_hosts=$output
  run --separate-stderr "$STRATA" exec joiner grep -c . /etc/hosts
  assert_eq "$output" "$donor_hosts"
  run --separate-stderr "$STRATA" exec joiner grep -F "$donor_ip" /etc/hosts
  assert_eq "$output" "$donor_ip	${donor_id:0:12}"
  # no host end of a veth for the joiner (stv + 11 hex + index), the
  # donor's is there
  ip link show "stv${donor_id:0:11}0" >/dev/null
  run ip link show "stv${joiner_id:0:11}0"
  assert_failure
  # the bridge network does not list it either
  run --separate-stderr "$STRATA" network inspect -f '{{range .Containers}}{{.Name}} {{end}}' bridge
  assert_eq "$output" "donor "
}

@test "inspect: HostConfig.NetworkMode container:<full donor ID>, NetworkSettings.Networks {}" {
  "$STRATA" run -d --pull never --name donor nbb sleep 300 >/dev/null
  donor_id=$("$STRATA" inspect -f '{{.Id}}' donor)
  "$STRATA" create --pull never --name c1 --network container:donor nbb true >/dev/null
  "$STRATA" run -d --pull never --name c2 --network "container:$donor_id" nbb sleep 300 >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.NetworkMode}}|{{json .NetworkSettings.Networks}}|{{json .NetworkSettings.Ports}}|{{.NetworkSettings.IPAddress}}' c1 c2
  assert_status 0
  assert_eq "$output" "container:$donor_id|{}|{}|
container:$donor_id|{}|{}|"
  # the donor's hostname once it ran (Docker's Config.Hostname)
  run --separate-stderr "$STRATA" inspect -f '{{.Config.Hostname}}' c2
  assert_eq "$output" "${donor_id:0:12}"
  # Docker's refusal to connect it to a network
  run --separate-stderr "$STRATA" network connect bridge c2
  assert_failure
  assert_eq "$stderr" "Error: container sharing network namespace with another container or host cannot be connected to any other network"
  # the donor's HostConfig is its own
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.NetworkMode}}' donor
  assert_eq "$output" "bridge"
  # its files are the donor's (Docker's HostsPath ...)
  paths='{{.HostsPath}} {{.HostnamePath}} {{.ResolvConfPath}}'
  donor_paths=$("$STRATA" inspect -f "$paths" donor)
  for f in $donor_paths; do [ -s "$f" ]; done
  run --separate-stderr "$STRATA" inspect -f "$paths" c1 c2
  assert_eq "$output" "$donor_paths
$donor_paths"
}

@test "--network container: of a container that joins another: the first one's network and files" {
  "$STRATA" run -d --pull never --name first --network none nbb sleep 300 >/dev/null
  "$STRATA" run -d --pull never --name second --network container:first nbb sleep 300 >/dev/null
  first_id=$("$STRATA" inspect -f '{{.Id}}' first)
  first_pid=$("$STRATA" inspect -f '{{.State.Pid}}' first)
  rs --network container:second nbb sh -c 'readlink /proc/self/ns/net; hostname'
  assert_status 0
  assert_eq "$output" "$(readlink /proc/"$first_pid"/ns/net)
${first_id:0:12}"
  "$STRATA" create --pull never --name third --network container:second nbb true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{.HostsPath}}' first third
  assert_eq "${lines[1]}" "${lines[0]}"
  # a volume over /etc/hosts stays the user's
  echo "192.0.2.1 mine" >"$BATS_TEST_TMPDIR/myhosts"
  rs --network container:first -v "$BATS_TEST_TMPDIR/myhosts:/etc/hosts" nbb cat /etc/hosts
  assert_status 0
  assert_eq "$output" "192.0.2.1 mine"
}

@test "--network container: a stopped donor is Docker's error; a restart of the joiner joins the donor again" {
  "$STRATA" run -d --pull never --name donor --network none nbb sleep 300 >/dev/null
  donor_id=$("$STRATA" inspect -f '{{.Id}}' donor)
  "$STRATA" run -d --pull never --name joiner --network container:donor nbb sleep 300 >/dev/null
  "$STRATA" create --pull never --name later --network container:donor nbb sh -c 'readlink /proc/self/ns/net' >/dev/null
  "$STRATA" stop -t 0 joiner >/dev/null
  # start again: the donor's namespace again
  "$STRATA" start joiner >/dev/null
  donor_pid=$("$STRATA" inspect -f '{{.State.Pid}}' donor)
  run --separate-stderr "$STRATA" exec joiner readlink /proc/self/ns/net
  assert_eq "$output" "$(readlink /proc/"$donor_pid"/ns/net)"
  run --separate-stderr "$STRATA" start -a later
  assert_status 0
  assert_eq "$output" "$(readlink /proc/"$donor_pid"/ns/net)"
  "$STRATA" stop -t 0 joiner >/dev/null
  "$STRATA" stop -t 0 donor >/dev/null
  run --separate-stderr "$STRATA" start joiner
  assert_failure
  assert_contains "$stderr" "cannot join network of a non running container: $donor_id"
  run --separate-stderr "$STRATA" start -a later
  assert_failure
  assert_contains "$stderr" "cannot join network of a non running container: $donor_id"
  rs --network container:donor nbb true
  assert_status 125
  assert_contains "$stderr" "cannot join network of a non running container: $donor_id"
  # the donor started again has a new namespace: the joiner joins that one
  "$STRATA" start donor >/dev/null
  "$STRATA" start joiner >/dev/null
  donor_pid=$("$STRATA" inspect -f '{{.State.Pid}}' donor)
  run --separate-stderr "$STRATA" exec joiner readlink /proc/self/ns/net
  assert_eq "$output" "$(readlink /proc/"$donor_pid"/ns/net)"
  # a donor waiting to restart (its policy's back-off, doubled at each
  # exit: long enough after 4): Docker's words
  "$STRATA" run -d --pull never --name flaky --restart always nbb sh -c 'exit 3' >/dev/null
  flaky_id=$("$STRATA" inspect -f '{{.Id}}' flaky)
  for _ in $(seq 100); do
    [ "$("$STRATA" inspect -f '{{.State.Restarting}} {{ge .RestartCount 4}}' flaky)" = "true true" ] && break
    sleep 0.1
  done
  rs --network container:flaky nbb true
  assert_status 125
  assert_eq "$stderr" "Error: Container $flaky_id is restarting, wait until the container is running"
}

@test "--network container: an unknown donor is Docker's not-found error, nothing created" {
  rs --network container:nosuch nbb true
  assert_status 125
  assert_eq "$stderr" "Error: No such container: nosuch"
  run --separate-stderr "$STRATA" create --pull never --network container:nosuch nbb true
  assert_status 125
  assert_eq "$stderr" "Error: No such container: nosuch"
  for mode in container: container; do
    rs --network "$mode" nbb true
    assert_status 125
    assert_eq "$stderr" "Error: invalid network mode: invalid container format container:<name|id>"
  done
  run "$STRATA" ps -aq
  assert_eq "$output" ""
}

@test "--network container: Docker's conflicting options, exit 125, nothing created" {
  "$STRATA" run -d --pull never --name donor nbb sleep 300 >/dev/null
  check() { # EXPECTED-MESSAGE FLAGS...
    local want=$1
    shift
    for cmd in run create; do
      run --separate-stderr "$STRATA" "$cmd" --pull never "$@" --network container:donor nbb true
      assert_status 125
      assert_eq "$stderr" "Error: $want"
    done
  }
  check "conflicting options: hostname and the network mode" -h box
  check "conflicting options: hostname and the network mode" --hostname box
  check "conflicting options: dns and the network mode" --dns 192.0.2.53
  check "conflicting options: custom host-to-IP mapping and the network mode" --add-host db:192.0.2.7
  check "conflicting options: port publishing and the container type network mode" -p 8080:80
  check "conflicting options: port publishing and the container type network mode" -P
  check "conflicting options: port exposing and the container type network mode" --expose 80
  check "user specified IP address is supported on user defined networks only" --ip 172.17.0.50
  check "network-scoped alias is supported only for containers in user defined networks" --network-alias web
  check "--network container:NAME with --runtime is not supported" --runtime runc
  run "$STRATA" ps -aq
  assert_eq "${#lines[@]}" "1"
  # as Docker: --dns-search and --dns-option are no conflict (the donor's
  # resolv.conf is used all the same)
  run --separate-stderr "$STRATA" exec donor cat /etc/resolv.conf
  donor_resolv=$output
  rs --dns-search example.org --dns-option ndots:3 --network container:donor nbb cat /etc/resolv.conf
  assert_status 0
  assert_eq "$output" "$donor_resolv"
}
