#!/usr/bin/env bats
# strata images [OPTIONS] [REPOSITORY[:TAG]]   (also: image ls, image list)

load helpers

@test "images: an empty store prints only the header" {
  run --separate-stderr "$STRATA" images
  assert_status 0
  assert_eq "$output" "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE"
}

@test "images: one image, laid out like docker images" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" images
  assert_status 0
  [ "${#lines[@]}" -eq 2 ]
  assert_eq "${lines[0]%%IMAGE ID*}" "REPOSITORY   TAG       "
  assert_table_layout "$output"
  IFS=$'\t' read -r -a hdr < <(printf '%s\n' "${lines[0]}" | table_cells)
  IFS=$'\t' read -r -a row < <(printf '%s\n' "${lines[1]}" | table_cells)
  assert_eq "${hdr[*]}" "REPOSITORY TAG IMAGE ID CREATED SIZE"
  [ "${#row[@]}" -eq 5 ]
  assert_eq "${row[0]}" busybox
  assert_eq "${row[1]}" latest
  assert_eq "${row[2]}" "$(short_id "$id")"
  assert_match "${row[3]}" "$CREATED_RECENTLY"
  assert_busybox_size "${row[4]}"
}

@test "images: exact spacing of a fixed table" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" images --format 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}'
  assert_status 0
  assert_eq "$output" "REPOSITORY   TAG       IMAGE ID
busybox      latest    $(short_id "$id")"
}

@test "images: IMAGE ID is the first 12 hex digits of the image ID" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" images --format '{{.ID}}'
  assert_status 0
  assert_eq "$output" "${id:7:12}"
}

@test "images: SIZE and CREATED read like Docker's" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" images --format '{{.Size}}|{{.CreatedSince}}'
  assert_status 0
  assert_busybox_size "${output%%|*}"
  assert_match "${output#*|}" "$CREATED_RECENTLY"
}

@test "images: one row per tag, and -q repeats the ID per tag" {
  id=$(import_busybox busybox:latest)
  "$STRATA" tag busybox:latest busybox:v2
  "$STRATA" tag busybox:latest mybox:1
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_status 0
  short=$(short_id "$id")
  assert_eq "$(printf '%s\n' "$output" | sort)" "busybox:latest $short
busybox:v2 $short
mybox:1 $short"
  run --separate-stderr "$STRATA" images -q
  assert_status 0
  assert_eq "$output" "$short
$short
$short"
  run --separate-stderr "$STRATA" images
  [ "${#lines[@]}" -eq 4 ]
}

@test "images: --no-trunc prints the full sha256 ID" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" images --no-trunc -q
  assert_status 0
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" images --no-trunc --format '{{.ID}}'
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" images --no-trunc
  assert_status 0
  assert_table_layout "$output"
  IFS=$'\t' read -r -a row < <(printf '%s\n' "${lines[1]}" | table_cells)
  assert_eq "${row[2]}" "$id"
}

@test "images: -a lists the same images as the default for imported images" {
  import_busybox busybox:latest >/dev/null
  import_busybox -m two other:1 >/dev/null
  run --separate-stderr "$STRATA" images -q
  want=$output
  [ "${#lines[@]}" -eq 2 ]
  run --separate-stderr "$STRATA" images -a -q
  assert_status 0
  assert_eq "$output" "$want"
  run --separate-stderr "$STRATA" images --all -q
  assert_eq "$output" "$want"
}

@test "images: --digests adds a DIGEST column, <none> for imported images" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" images --digests
  assert_status 0
  [ "${#lines[@]}" -eq 2 ]
  assert_table_layout "$output"
  IFS=$'\t' read -r -a hdr < <(printf '%s\n' "${lines[0]}" | table_cells)
  IFS=$'\t' read -r -a row < <(printf '%s\n' "${lines[1]}" | table_cells)
  assert_eq "${hdr[*]}" "REPOSITORY TAG DIGEST IMAGE ID CREATED SIZE"
  assert_eq "${row[0]} ${row[1]} ${row[2]} ${row[3]}" "busybox latest <none> $(short_id "$id")"
  assert_eq "${lines[0]%%IMAGE ID*}" "REPOSITORY   TAG       DIGEST    "
}

@test "images: moving a tag leaves the old image as a <none> <none> row" {
  old=$(import_busybox busybox:latest)
  new=$(import_busybox -m second other:latest)
  [ "$old" != "$new" ]
  "$STRATA" tag other:latest busybox:latest
  run --separate-stderr "$STRATA" images --filter dangling=true --format '{{.Repository}} {{.Tag}} {{.ID}}'
  assert_status 0
  assert_eq "$output" "<none> <none> $(short_id "$old")"
  run --separate-stderr "$STRATA" images --filter dangling=false --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_status 0
  assert_eq "$(printf '%s\n' "$output" | sort)" "busybox:latest $(short_id "$new")
other:latest $(short_id "$new")"
  # The default listing shows the dangling image too, in its own row.
  run --separate-stderr "$STRATA" images
  assert_status 0
  [ "${#lines[@]}" -eq 4 ]
  assert_table_layout "$output"
  run --separate-stderr "$STRATA" images --filter dangling=true
  assert_status 0
  [ "${#lines[@]}" -eq 2 ]
  assert_match "${lines[1]}" "^<none> +<none> +$(short_id "$old") "
}

@test "images: --filter reference=PATTERN" {
  import_busybox busybox:latest >/dev/null
  "$STRATA" tag busybox:latest busybox:1
  import_busybox -m other other:latest >/dev/null
  run --separate-stderr "$STRATA" images --filter 'reference=busy*' --format '{{.Repository}}:{{.Tag}}'
  assert_status 0
  assert_eq "$(printf '%s\n' "$output" | sort)" "busybox:1
busybox:latest"
  run --separate-stderr "$STRATA" images --filter 'reference=*:1' --format '{{.Repository}}:{{.Tag}}'
  assert_status 0
  assert_eq "$output" "busybox:1"
  run --separate-stderr "$STRATA" images --filter 'reference=nomatch*' -q
  assert_status 0
  assert_eq "$output" ""
}

@test "images: newest first, and --filter before= / since=" {
  a=$(import_busybox -m a a:1)
  sleep 1
  b=$(import_busybox -m b b:1)
  sleep 1
  c=$(import_busybox -m c c:1)
  run --separate-stderr "$STRATA" images --format '{{.Repository}}'
  assert_status 0
  assert_eq "$output" "c
b
a"
  run --separate-stderr "$STRATA" images --filter before=b:1 --format '{{.Repository}}'
  assert_status 0
  assert_eq "$output" "a"
  run --separate-stderr "$STRATA" images --filter since=b:1 --format '{{.Repository}}'
  assert_status 0
  assert_eq "$output" "c"
  run --separate-stderr "$STRATA" images --filter "before=$(short_id "$c")" --format '{{.Repository}}'
  assert_eq "$output" "b
a"
  run --separate-stderr "$STRATA" images --filter "since=$(short_id "$a")" --filter "before=$(short_id "$c")" --format '{{.Repository}}'
  assert_eq "$output" "b"
}

@test "images: --filter before= with an unknown image fails" {
  run --separate-stderr "$STRATA" images --filter before=nope
  assert_failure
  assert_contains "$stderr" "No such image: nope"
}

@test "images: --filter label=K and label=K=V" {
  import_busybox --change 'LABEL k=v' labeled:1 >/dev/null
  import_busybox -m plain plain:1 >/dev/null
  run --separate-stderr "$STRATA" images --filter label=k=v --format '{{.Repository}}'
  assert_status 0
  assert_eq "$output" "labeled"
  run --separate-stderr "$STRATA" images --filter label=k --format '{{.Repository}}'
  assert_eq "$output" "labeled"
  run --separate-stderr "$STRATA" images --filter label=k=w --format '{{.Repository}}'
  assert_status 0
  assert_eq "$output" ""
}

@test "images: an unknown filter is an error" {
  run --separate-stderr "$STRATA" images --filter bogus=1
  assert_failure
  assert_contains "$stderr" "bogus"
}

@test "images: --format '{{.Repository}}:{{.Tag}}'" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}}'
  assert_status 0
  assert_eq "$output" "busybox:latest"
}

@test "images: --format '{{json .}}' prints Docker's keys" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" images --format '{{json .}}'
  assert_status 0
  [ "${#lines[@]}" -eq 1 ]
  printf '%s' "$output" | python3 -c '
import json, re, sys
short, keys_want = sys.argv[1], ["Containers", "CreatedAt", "CreatedSince",
    "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize",
    "VirtualSize"]
o = json.loads(sys.stdin.read(), object_pairs_hook=lambda kv: kv)
keys = [k for k, _ in o]
if keys != keys_want:
    sys.exit("keys %r, want %r (sorted, as Go marshals a map)" % (keys, keys_want))
o = dict(o)
for k, v in {"ID": short, "Repository": "busybox", "Tag": "latest", "Digest": "<none>"}.items():
    if o[k] != v:
        sys.exit("%s = %r, want %r" % (k, o[k], v))
if o["Size"] != o["VirtualSize"]:
    sys.exit("Size %r != VirtualSize %r" % (o["Size"], o["VirtualSize"]))
if not re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$", o["CreatedAt"]):
    sys.exit("CreatedAt %r is not like 2006-01-02 15:04:05 -0700 MST" % o["CreatedAt"])
' "$(short_id "$id")"
  size=$(printf '%s' "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Size"])')
  assert_busybox_size "$size"
}

@test "images: --format 'table {{.ID}}\t{{.Repository}}'" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" images --format 'table {{.ID}}\t{{.Repository}}'
  assert_status 0
  assert_eq "$output" "IMAGE ID       REPOSITORY
$(short_id "$id")   busybox"
}

@test "images: --format json prints one JSON object per row" {
  id=$(import_busybox busybox:latest)
  "$STRATA" tag busybox:latest busybox:v2
  run --separate-stderr "$STRATA" images --format json
  assert_status 0
  [ "${#lines[@]}" -eq 2 ]
  printf '%s\n' "$output" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin.read().splitlines()]
tags = sorted(r["Repository"] + ":" + r["Tag"] for r in rows)
if tags != ["busybox:latest", "busybox:v2"]:
    sys.exit("rows %r" % tags)
if any(r["ID"] != sys.argv[1] for r in rows):
    sys.exit("IDs %r" % [r["ID"] for r in rows])
if any("CreatedSince" not in r or "Size" not in r for r in rows):
    sys.exit("missing keys: %r" % rows)
' "$(short_id "$id")"
}

@test "images: a positional REPOSITORY[:TAG] filters the list" {
  import_busybox busybox:latest >/dev/null
  "$STRATA" tag busybox:latest busybox:1
  import_busybox -m other other:latest >/dev/null
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}}' busybox
  assert_status 0
  assert_eq "$(printf '%s\n' "$output" | sort)" "busybox:1
busybox:latest"
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}}' busybox:1
  assert_status 0
  assert_eq "$output" "busybox:1"
  run --separate-stderr "$STRATA" images nope
  assert_status 0
  assert_eq "$output" "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE"
}

@test "images: image ls and image list are aliases" {
  import_busybox busybox:latest >/dev/null
  import_busybox -m other other:latest >/dev/null
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  want=$output
  [ "${#lines[@]}" -eq 2 ]
  run --separate-stderr "$STRATA" image ls --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_status 0
  assert_eq "$output" "$want"
  run --separate-stderr "$STRATA" image list --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_status 0
  assert_eq "$output" "$want"
}

@test "images: an unknown flag is an error" {
  run --separate-stderr "$STRATA" images --bogus
  assert_failure
  assert_contains "$stderr" "unknown flag"
  assert_contains "$stderr" "--bogus"
}
