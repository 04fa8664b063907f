#!/usr/bin/env bats
# run/create flags of issue 11, second part: --ulimit, --group-add,
# --sysctl, --device, --pid, --ipc, --uts, --platform and --expose, each
# with its effect inside the container, Docker's inspect field and Docker's
# error (exit 125) for a bad value.

load helpers

setup() {
  containers_setup
}

teardown() {
  containers_teardown
}

# rs ARGS...: `strata run --rm --pull never ARGS...` under bats' run
rs() {
  run --separate-stderr "$STRATA" run --rm --pull never "$@"
}

@test "--help of run and create lists the flags with Docker's words" {
  for cmd in run create; do
    run --separate-stderr "$STRATA" "$cmd" --help
    assert_status 0
    assert_match "$output" $'\n'"      --ulimit ulimit +Ulimit options \(default \[\]\)"$'\n'
    assert_match "$output" $'\n'"      --device list +Add a host device to the container"$'\n'
    assert_match "$output" $'\n'"      --group-add list +Add additional groups to join"$'\n'
    assert_match "$output" $'\n'"      --sysctl map +Sysctl options \(default map\[\]\)"$'\n'
    assert_match "$output" $'\n'"      --pid string +PID namespace to use"$'\n'
    assert_match "$output" $'\n'"      --ipc string +IPC mode to use"$'\n'
    assert_match "$output" $'\n'"      --uts string +UTS namespace to use"$'\n'
    assert_match "$output" $'\n'"      --platform string +Set platform if server is multi-platform capable"$'\n'
    assert_match "$output" $'\n'"      --expose list +Expose a port or a range of ports"$'\n'
  done
}

@test "--ulimit: the limits inside, HostConfig.Ulimits (the last of a name wins), -1 unlimited" {
  rs --ulimit nofile=512:1024 --ulimit core=-1 busybox sh -c 'ulimit -n; ulimit -Hn; ulimit -c'
  assert_status 0
  assert_eq "$output" $'512\n1024\nunlimited'
  rs --ulimit nproc=77 busybox sh -c 'ulimit -u; ulimit -Hu'
  assert_status 0
  assert_eq "$output" $'77\n77'
  # set last: a tiny limit does not stop the set-up (a terminal, --init)
  rs --ulimit nofile=4 --init busybox sh -c 'ulimit -n'
  assert_status 0
  assert_eq "$output" "4"
  "$STRATA" create --pull never --name c1 --ulimit nofile=10:20 --ulimit nofile=30:40 --ulimit stack=16777216 busybox true >/dev/null
  "$STRATA" create --pull never --name c2 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.Ulimits}}' c1 c2
  assert_eq "$output" $'[{"Name":"nofile","Hard":40,"Soft":30},{"Name":"stack","Hard":16777216,"Soft":16777216}]\n[]'
  run --separate-stderr "$STRATA" start -a c1
  assert_status 0
}

@test "--ulimit: Docker's errors for bad values, exit 125, nothing created" {
  rs --ulimit nofile busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile'
  rs --ulimit bogus=1 busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid argument "bogus=1" for "--ulimit" flag: invalid ulimit type: bogus'
  rs --ulimit nofile=lots busybox true
  assert_status 125
  assert_contains "$stderr" 'for "--ulimit" flag: strconv.ParseInt: parsing "lots": invalid syntax'
  rs --ulimit nofile=20:10 busybox true
  assert_status 125
  assert_contains "$stderr" 'ulimit soft limit must be less than or equal to hard limit: 20 > 10'
  rs --ulimit nofile=1:2:3 busybox true
  assert_status 125
  assert_contains "$stderr" 'too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`'
  run "$STRATA" ps -aq
  assert_eq "$output" ""
}

@test "--group-add: names from the image's /etc/group and numbers, seen by id; HostConfig.GroupAdd" {
  # the kernel keeps supplementary groups sorted (as `id` shows them)
  rs --group-add nogroup --group-add 4321 busybox id
  assert_status 0
  assert_eq "$output" "uid=0(root) gid=0(root) groups=0(root),4321,65534(nogroup)"
  rs busybox id
  assert_eq "$output" "uid=0(root) gid=0(root) groups=0(root)"
  "$STRATA" create --pull never --name c1 --group-add nogroup --group-add 4321 busybox true >/dev/null
  "$STRATA" create --pull never --name c2 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.GroupAdd}}' c1 c2
  assert_eq "$output" $'["nogroup","4321"]\nnull'
  rs --group-add nosuchgroup busybox true
  assert_status 125
  assert_eq "$stderr" "Error: Unable to find group nosuchgroup: no matching entries in group file"
}

@test "--sysctl: namespaced keys are set inside only; HostConfig.Sysctls; others refused" {
  host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  want=$((1 - host_fwd))
  rs --sysctl net.ipv4.ip_forward=$want --sysctl kernel.shmmni=1234 busybox sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni'
  assert_status 0
  assert_eq "$output" "$want"$'\n'"1234"
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd"
  "$STRATA" create --pull never --name c1 --sysctl net.ipv4.ip_forward=1 --sysctl fs.mqueue.msg_max=20 busybox true >/dev/null
  "$STRATA" create --pull never --name c2 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.Sysctls}}' c1
  assert_eq "$output" '{"fs.mqueue.msg_max":"20","net.ipv4.ip_forward":"1"}'
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig}}' c2
  [[ $output != *Sysctls* ]]
  rs --sysctl kernel.hostname=x busybox true
  assert_status 125
  assert_contains "$stderr" $'Error: invalid argument "kernel.hostname=x" for "--sysctl" flag: sysctl \'kernel.hostname=x\' is not allowed'
  rs --sysctl net.ipv4.ip_forward busybox true
  assert_status 125
  assert_contains "$stderr" "sysctl 'net.ipv4.ip_forward' is not allowed"
  rs --network host --sysctl net.ipv4.ip_forward=1 busybox true
  assert_status 125
  assert_eq "$stderr" 'Error: sysctl "net.ipv4.ip_forward" not allowed in host network namespace'
  rs --ipc host --sysctl kernel.shmmni=1234 busybox true
  assert_status 125
  assert_eq "$stderr" 'Error: sysctl "kernel.shmmni" is not allowed in the hosts ipc namespace'
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd"
}

@test "--device: the node is made in the container and reads as the host's; HostConfig.Devices" {
  rs --device /dev/zero:/dev/myzero busybox sh -c 'ls -l /dev/myzero; head -c 3 /dev/myzero | od -An -tx1'
  assert_status 0
  assert_match "${lines[0]}" '^crw-rw-rw- +1 root +root +1, +5 .* /dev/myzero$'
  assert_match "${lines[1]}" '^ *00 00 00$'
  # one of the default nodes replaced
  rs --device /dev/zero:/dev/null busybox sh -c 'head -c 2 /dev/null | od -An -tx1'
  assert_status 0
  assert_match "$output" '^ *00 00$'
  # same path in the container when only the host's is given
  rs --device /dev/full busybox sh -c 'echo x >/dev/full'
  assert_status 1
  assert_contains "$stderr" "No space left on device"
  # a directory: every device node under it, at the same place
  mkdir -p "$BATS_TEST_TMPDIR/devs/sub"
  mknod "$BATS_TEST_TMPDIR/devs/zero" c 1 5
  mknod "$BATS_TEST_TMPDIR/devs/sub/null" c 1 3
  touch "$BATS_TEST_TMPDIR/devs/plain"
  rs --device "$BATS_TEST_TMPDIR/devs:/dev/mine" busybox sh -c 'find /dev/mine | sort; head -c 2 /dev/mine/zero | od -An -tx1'
  assert_status 0
  assert_eq "$output" $'/dev/mine\n/dev/mine/sub\n/dev/mine/sub/null\n/dev/mine/zero\n 00 00'
  "$STRATA" create --pull never --name c1 --device /dev/zero:/dev/myzero:r --device /dev/null busybox true >/dev/null
  "$STRATA" create --pull never --name c2 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.Devices}}' c1 c2
  assert_eq "$output" '[{"PathOnHost":"/dev/zero","PathInContainer":"/dev/myzero","CgroupPermissions":"r"},{"PathOnHost":"/dev/null","PathInContainer":"/dev/null","CgroupPermissions":"rwm"}]'$'\n''[]'
}

@test "--device: Docker's errors for bad values and missing devices, exit 125" {
  rs --device /dev/zero:/z:rwx busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid argument "/dev/zero:/z:rwx" for "--device" flag: bad mode specified: rwx'
  rs --device /dev/zero:z busybox true
  assert_status 125
  assert_contains "$stderr" 'for "--device" flag: z is not an absolute path'
  rs --device a:b:c:d busybox true
  assert_status 125
  assert_contains "$stderr" 'for "--device" flag: bad format for path: a:b:c:d'
  rs --device /dev/no-such-device busybox true
  assert_status 125
  assert_eq "$stderr" 'Error: error gathering device information while adding custom device "/dev/no-such-device": no such file or directory'
  rs --device /etc/hostname:/dev/x busybox true
  assert_status 125
  assert_contains "$stderr" 'custom device "/etc/hostname": not a device node'
  run "$STRATA" ps -aq
  assert_eq "$output" ""
}

@test "--pid host and container:NAME: the host's or that container's PID namespace; HostConfig.PidMode" {
  rs --pid host busybox sh -c 'readlink /proc/self/ns/pid'
  assert_status 0
  assert_eq "$output" "$(readlink /proc/self/ns/pid)"
  rs busybox sh -c 'readlink /proc/self/ns/pid'
  [ "$output" != "$(readlink /proc/self/ns/pid)" ]
  "$STRATA" run -d --pull never --name donor busybox sleep 300 >/dev/null
  donor_pid=$("$STRATA" inspect -f '{{.State.Pid}}' donor)
  rs --pid container:donor busybox sh -c 'readlink /proc/self/ns/pid; ps -o pid,args'
  assert_status 0
  assert_eq "${lines[0]}" "$(readlink /proc/"$donor_pid"/ns/pid)"
  assert_match "$output" $'\n +1 +sleep 300\n'
  # detached too (its monitor finds the donor through what start recorded)
  "$STRATA" run -d --pull never --name joiner --pid container:donor busybox sleep 200 >/dev/null
  run --separate-stderr "$STRATA" exec joiner sh -c 'ps -o pid,args'
  assert_match "$output" $'\n +1 +sleep 300\n'
  assert_match "$output" $'\n +[0-9]+ +sleep 200\n'
  "$STRATA" create --pull never --name c1 --pid container:donor busybox true >/dev/null
  "$STRATA" create --pull never --name c2 --pid host busybox true >/dev/null
  "$STRATA" create --pull never --name c3 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.PidMode}}|' c1 c2 c3
  assert_eq "$output" $'container:donor|\nhost|\n|'
  "$STRATA" kill donor >/dev/null
  "$STRATA" wait donor >/dev/null
  run --separate-stderr "$STRATA" start c1
  assert_failure
  assert_contains "$stderr" "cannot join pid namespace of container donor: it is not running"
  rs --pid container:nosuch busybox true
  assert_status 125
  assert_eq "$stderr" "Error: No such container: nosuch"
  rs --pid private busybox true
  assert_status 125
  assert_contains "$stderr" "Error: --pid: invalid PID mode"
}

@test "--ipc: host, none, shareable and container:NAME; HostConfig.IpcMode (private by default)" {
  rs --ipc host busybox sh -c 'readlink /proc/self/ns/ipc'
  assert_status 0
  assert_eq "$output" "$(readlink /proc/self/ns/ipc)"
  rs --ipc none busybox sh -c 'grep -c " /dev/shm " /proc/mounts'
  assert_eq "$output" "0"
  rs busybox sh -c 'grep -c " /dev/shm " /proc/mounts'
  assert_eq "$output" "1"
  "$STRATA" run -d --pull never --name donor --ipc shareable --shm-size 32m busybox sleep 300 >/dev/null
  donor_pid=$("$STRATA" inspect -f '{{.State.Pid}}' donor)
  # the donor's /dev/shm too (Docker's tmpfs on the host), with its size
  "$STRATA" exec donor sh -c 'echo from-donor >/dev/shm/note'
  rs --ipc container:donor busybox sh -c 'readlink /proc/self/ns/ipc; cat /dev/shm/note; echo back >/dev/shm/reply; df -k /dev/shm | tail -1'
  assert_status 0
  assert_eq "${lines[0]}" "$(readlink /proc/"$donor_pid"/ns/ipc)"
  assert_eq "${lines[1]}" "from-donor"
  assert_match "${lines[2]}" '^shm +32768 '
  "$STRATA" run -d --pull never --name joiner --ipc container:donor busybox sh -c 'echo detached >/dev/shm/d; sleep 300' >/dev/null
  for _ in $(seq 100); do
    "$STRATA" exec donor sh -c 'test -s /dev/shm/d' 2>/dev/null && break
    sleep 0.1
  done
  run --separate-stderr "$STRATA" exec donor sh -c 'cat /dev/shm/reply /dev/shm/d'
  assert_eq "$output" $'back\ndetached'
  # unmounted from the host once the donor stops
  donor_id=$("$STRATA" inspect -f '{{.Id}}' donor)
  grep -q " [^ ]*/$donor_id/shm " /proc/mounts
  "$STRATA" rm -f joiner >/dev/null
  "$STRATA" stop -t 0 donor >/dev/null
  run grep -c " [^ ]*/$donor_id/shm " /proc/mounts
  assert_eq "$output" "0"
  "$STRATA" start donor >/dev/null
  # Docker joins only a container made to share its IPC
  "$STRATA" run -d --pull never --name private busybox sleep 300 >/dev/null
  rs --ipc container:private busybox true
  assert_status 125
  assert_eq "$stderr" "Error: container private: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
  "$STRATA" create --pull never --name c1 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.IpcMode}}' donor c1
  assert_eq "$output" $'shareable\nprivate'
  rs --ipc bogus busybox true
  assert_status 125
  assert_contains "$stderr" "Error: --ipc: invalid IPC mode"
}

@test "--uts host: the host's name and UTS namespace; -h conflicts; HostConfig.UTSMode" {
  rs --uts host busybox cat /proc/sys/kernel/hostname
  assert_status 0
  assert_eq "$output" "$(cat /proc/sys/kernel/hostname)"
  rs --uts host busybox sh -c 'readlink /proc/self/ns/uts'
  assert_eq "$output" "$(readlink /proc/self/ns/uts)"
  "$STRATA" create --pull never --name c1 --uts host busybox true >/dev/null
  "$STRATA" create --pull never --name c2 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.UTSMode}}|' c1 c2
  assert_eq "$output" $'host|\n|'
  rs --uts host -h other busybox true
  assert_status 125
  assert_eq "$stderr" "Error: Conflicting options: hostname and the UTS mode"
  rs --uts private busybox true
  assert_status 125
  assert_contains "$stderr" "Error: --uts: invalid UTS mode"
}

@test "--platform: an image of that platform runs, another is refused with Docker's message" {
  # an image of a platform the host is not (what it runs does not matter)
  "$STRATA" import --platform linux/s390x "$(busybox_tar)" otherbox >/dev/null
  arch=$("$STRATA" image inspect -f '{{.Architecture}}' busybox)
  rs --platform "linux/$arch" busybox true
  assert_status 0
  rs --platform linux/s390x otherbox true
  assert_status 0
  rs --platform linux/s390x busybox true
  assert_status 125
  assert_eq "$stderr" "Error: image with reference busybox was found but does not match the specified platform: wanted linux/s390x, actual: linux/$arch"
  rs --platform "linux/$arch" otherbox true
  assert_status 125
  assert_eq "$stderr" "Error: image with reference otherbox was found but does not match the specified platform: wanted linux/$arch, actual: linux/s390x"
  # --pull missing (the default): the local image of another platform is
  # as good as missing, that platform's is pulled (here from a registry
  # that is not there)
  "$STRATA" tag otherbox 127.0.0.1:1/otherbox
  run --separate-stderr "$STRATA" run --rm --platform "linux/$arch" 127.0.0.1:1/otherbox true
  assert_status 125
  assert_contains "$stderr" "127.0.0.1 port 1"
  run --separate-stderr "$STRATA" run --rm --platform linux/s390x 127.0.0.1:1/otherbox true
  assert_status 0
  rs --platform bogus busybox true
  assert_status 125
  assert_eq "$stderr" 'Error: "bogus": unknown operating system or architecture: invalid argument'
}

@test "--expose: ports and ranges in Config.ExposedPorts, published by -P; bad values refused" {
  "$STRATA" create --pull never --name c1 --expose 80 --expose 7000-7002/udp busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{json .Config.ExposedPorts}}' c1
  assert_eq "$output" '{"7000/udp":{},"7001/udp":{},"7002/udp":{},"80/tcp":{}}'
  # -p's container ports are exposed too (Docker)
  "$STRATA" create --pull never --name c2 -p 8080:80 -p 127.0.0.1::53/udp --expose 90 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{json .Config.ExposedPorts}}' c2
  assert_eq "$output" '{"53/udp":{},"80/tcp":{},"90/tcp":{}}'
  "$STRATA" run -d --pull never --name web -P --expose 8080 busybox sleep 300 >/dev/null
  run --separate-stderr "$STRATA" port web
  assert_status 0
  assert_match "$output" '^8080/tcp -> 0\.0\.0\.0:[0-9]+$'
  rs --expose 80:80 busybox true
  assert_status 125
  assert_eq "$stderr" "Error: invalid port format for --expose: 80:80"
  rs --expose 90-80 busybox true
  assert_status 125
  assert_eq "$stderr" "Error: invalid range format for --expose: 90-80, error: invalid range specified for port: 90-80"
  rs --expose http busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid range format for --expose: http, error: strconv.ParseUint: parsing "http": invalid syntax'
}
