#!/usr/bin/env bats
# strata image prune [-a] [-f] [--filter F]...   (Docker: `docker image prune`)

load helpers

# small_tar: a rootfs tarball (unlike busybox's) with one 12345-byte file;
# prints its path.
small_tar() {
  local d=$BATS_TEST_TMPDIR/small
  mkdir -p "$d/data"
  head -c 12345 /dev/zero | tr '\0' x >"$d/data/file"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -C "$d" -cf "$BATS_TEST_TMPDIR/small.tar" data
  echo "$BATS_TEST_TMPDIR/small.tar"
}

# make_dangling: app:latest imported twice (same layer, other config);
# prints "OLD NEW" image IDs.
make_dangling() {
  local old new
  old=$(import_busybox --change 'ENV V=1' app:latest) || return 1
  new=$(import_busybox --change 'ENV V=2' app:latest) || return 1
  echo "$old $new"
}

@test "image prune -f: removes a dangling image and prints its ID" {
  read -r old new < <(make_dangling)
  run --separate-stderr "$STRATA" images --filter dangling=true -q
  assert_eq "$output" "$(short_id "$old")"
  run --separate-stderr "$STRATA" image prune -f
  assert_status 0
  # The layer is still used by app:latest: nothing is reclaimed.
  assert_eq "$output" "Deleted Images:
deleted: $old

Total reclaimed space: 0B"
  run --separate-stderr "$STRATA" images -q --no-trunc
  assert_eq "$output" "$new"
  run --separate-stderr "$STRATA" images --filter dangling=true -q
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "image prune: reclaims the layer only the dangling image used" {
  old=$("$STRATA" import "$(small_tar)" app:latest)
  old_diff=$("$STRATA" image inspect --format '{{index .RootFS.Layers 0}}' "$old")
  new=$(import_busybox app:latest)
  run --separate-stderr "$STRATA" image prune -f
  assert_status 0
  assert_eq "${lines[0]}" "Deleted Images:"
  assert_eq "${lines[1]}" "deleted: $old"
  # Docker names the freed layer by its chain ID (= diff ID for the first).
  assert_eq "${lines[2]}" "deleted: $old_diff"
  assert_eq "${lines[3]}" "Total reclaimed space: $(human_size4 12345)"
  assert_eq "${#lines[@]}" 4
  # The blank line before the total (bats drops empty lines from $lines).
  assert_contains "$output" $'\n\nTotal reclaimed space: '
  run --separate-stderr "$STRATA" system check
  assert_status 0
  assert_contains "$output" "1 image and 3 blobs"
}

@test "image prune: nothing to remove prints only the total" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" image prune -f
  assert_status 0
  assert_eq "$output" "Total reclaimed space: 0B"
  run --separate-stderr "$STRATA" image prune --force
  assert_eq "$output" "Total reclaimed space: 0B"
}

@test "image prune -a: removes tagged images, untagged lines in short form" {
  id=$(import_busybox busybox:latest)
  "$STRATA" tag busybox:latest localhost:5000/team/bb:v1
  run --separate-stderr "$STRATA" image prune -a -f
  assert_status 0
  assert_eq "${lines[0]}" "Deleted Images:"
  assert_eq "${lines[1]}" "untagged: busybox:latest"
  assert_eq "${lines[2]}" "untagged: localhost:5000/team/bb:v1"
  assert_eq "${lines[3]}" "deleted: $id"
  diff_id=$(printf '%s\n' "${lines[4]}" | sed 's/^deleted: //')
  assert_match "$diff_id" '^sha256:[0-9a-f]{64}$'
  read -r reg all < <(tar_content_size "$(busybox_tar)")
  total=${lines[5]#Total reclaimed space: }
  if [ "$total" != "$(human_size4 "$reg")" ] && [ "$total" != "$(human_size4 "$all")" ]; then
    echo "reclaimed |$total|, expected $(human_size4 "$reg") or $(human_size4 "$all")"
    return 1
  fi
  assert_store_empty_and_clean
  # Every blob went with it.
  assert_eq "$(find "$STRATA_ROOT/blobs/sha256" -type f | wc -l)" 0
}

@test "image prune -a: dangling and tagged images both go" {
  read -r old new < <(make_dangling)
  run --separate-stderr "$STRATA" image prune --all --force
  assert_status 0
  assert_contains "$output" "deleted: $old"
  assert_contains "$output" "untagged: app:latest"
  assert_contains "$output" "deleted: $new"
  assert_store_empty_and_clean
}

# prompt_of ARGS...: runs strata ARGS with "n" on stdin; prints its stderr
# byte for byte (bats's $stderr loses the prompt's trailing space) and
# fails when anything went to stdout or the exit status was not 0.
prompt_of() {
  local out=$BATS_TEST_TMPDIR/prompt.out err=$BATS_TEST_TMPDIR/prompt.err
  "$STRATA" "$@" <<<"n" >"$out" 2>"$err" || return 1
  [ ! -s "$out" ] || return 1
  cat "$err"
  printf .
}

@test "image prune: refusing the confirmation keeps everything" {
  read -r old new < <(make_dangling)
  err=$(prompt_of image prune)
  assert_eq "${err%.}" "WARNING! This will remove all dangling images.
Are you sure you want to continue? [y/N] "
  run --separate-stderr "$STRATA" images -a -q
  assert_eq "${#lines[@]}" 2
  # End of input is a refusal too.
  run --separate-stderr "$STRATA" image prune </dev/null
  assert_status 0
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" images -a -q
  assert_eq "${#lines[@]}" 2
}

@test "image prune: answering y removes" {
  read -r old new < <(make_dangling)
  run --separate-stderr "$STRATA" image prune <<<"y"
  assert_status 0
  assert_contains "$output" "deleted: $old"
}

@test "image prune -a: asks about images without containers" {
  import_busybox busybox:latest >/dev/null
  err=$(prompt_of image prune -a)
  assert_eq "${err%.}" "WARNING! This will remove all images without at least one container associated to them.
Are you sure you want to continue? [y/N] "
  run --separate-stderr "$STRATA" images -q
  assert_eq "${#lines[@]}" 1
}

@test "image prune --filter until=: only images created before the time" {
  read -r old new < <(make_dangling)
  run --separate-stderr "$STRATA" image prune -f --filter until=1h
  assert_status 0
  assert_eq "$output" "Total reclaimed space: 0B"
  run --separate-stderr "$STRATA" image prune -f --filter "until=2000-01-01T00:00:00Z"
  assert_eq "$output" "Total reclaimed space: 0B"
  run --separate-stderr "$STRATA" image prune -f --filter until=0s
  assert_status 0
  assert_contains "$output" "deleted: $old"
  future=$(($(date +%s) + 60))
  run --separate-stderr "$STRATA" image prune -a -f --filter "until=$future"
  assert_status 0
  assert_contains "$output" "deleted: $new"
}

@test "image prune --filter label=, label!=: read from the config" {
  lab=$(import_busybox --change 'LABEL keep=yes' app:latest)
  new=$(import_busybox --change 'ENV X=1' app:latest)
  run --separate-stderr "$STRATA" image prune -f --filter 'label!=keep'
  assert_eq "$output" "Total reclaimed space: 0B"
  run --separate-stderr "$STRATA" image prune -f --filter 'label=keep=no'
  assert_eq "$output" "Total reclaimed space: 0B"
  run --separate-stderr "$STRATA" image prune -f --filter 'label=keep=yes'
  assert_status 0
  assert_contains "$output" "deleted: $lab"
  run --separate-stderr "$STRATA" images -a -q --no-trunc
  assert_eq "$output" "$new"
}

@test "image prune: a bad filter is an error and removes nothing" {
  read -r old new < <(make_dangling)
  run --separate-stderr "$STRATA" image prune -f --filter colour=red
  assert_status 1
  assert_error_line "invalid filter 'colour'"
  run --separate-stderr "$STRATA" image prune -f --filter until=soon
  assert_status 1
  assert_error_line 'failed to parse value as time or duration'
  run --separate-stderr "$STRATA" image prune -f --filter nonsense
  assert_status 1
  run --separate-stderr "$STRATA" images -a -q
  assert_eq "${#lines[@]}" 2
}

@test "image prune: usage" {
  run --separate-stderr "$STRATA" image prune --help
  assert_status 0
  assert_contains "$output" "Usage:  strata image prune [OPTIONS]"
  assert_contains "$output" "-a, --all"
  run --separate-stderr "$STRATA" image prune extra
  assert_status 1
  assert_error_line 'accepts no arguments'
  run --separate-stderr "$STRATA" image prune --bogus
  assert_status 1
}
