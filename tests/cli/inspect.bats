#!/usr/bin/env bats
# strata image inspect [--format TEMPLATE] IMAGE...   (also: strata inspect)

load helpers

@test "inspect: a JSON array of one object in Docker's shape" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" image inspect busybox
  assert_status 0
  read -r reg all < <(tar_content_size "$(busybox_tar)")
  diff_id=sha256:$(sha256sum <"$(busybox_tar)" | cut -d' ' -f1)
  printf '%s' "$output" | python3 -c '
import datetime, json, sys
id, arch, diff_id, reg, all_ = sys.argv[1:6]
doc = json.load(sys.stdin)
assert isinstance(doc, list) and len(doc) == 1, "want a 1-element array, got %r" % doc
o = doc[0]
keys = ["Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created",
        "Author", "Config", "Architecture", "Os", "Size", "RootFS", "Metadata"]
missing = [k for k in keys if k not in o]
assert not missing, "missing keys %r in %r" % (missing, list(o))
types = {"Id": str, "RepoTags": list, "RepoDigests": list, "Parent": str,
         "Comment": str, "Created": str, "Author": str, "Config": dict,
         "Architecture": str, "Os": str, "Size": int, "RootFS": dict,
         "Metadata": dict}
for k, t in types.items():
    assert isinstance(o[k], t), "%s is %r, want a %s" % (k, o[k], t.__name__)
def eq(k, got, want):
    assert got == want, "%s = %r, want %r" % (k, got, want)
eq("Id", o["Id"], id)
eq("RepoTags", o["RepoTags"], ["busybox:latest"])
eq("RepoDigests", o["RepoDigests"], [])
eq("Parent", o["Parent"], "")
eq("Comment", o["Comment"], "Imported from -")
eq("Architecture", o["Architecture"], arch)
eq("Os", o["Os"], "linux")
eq("RootFS", o["RootFS"], {"Type": "layers", "Layers": [diff_id]})
assert o["Size"] in (int(reg), int(all_)), "Size %r, want %s (files) or %s (files + symlinks)" % (o["Size"], reg, all_)
# Created: RFC 3339 in UTC, made during this test.
c = o["Created"]
assert c.endswith("Z"), "Created %r is not UTC RFC 3339" % c
base = c[:-1].split(".")[0]
t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
age = (datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()
assert -5 < age < 300, "Created %r is %.0f s from now" % (c, age)
' "$id" "$(goarch)" "$diff_id" "$reg" "$all"
}

@test "inspect: output is indented like Docker's (4 spaces)" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" image inspect busybox
  assert_status 0
  assert_eq "${lines[0]}" "["
  assert_eq "${lines[1]}" "    {"
  assert_match "${lines[2]}" '^        "Id": "sha256:[0-9a-f]{64}",$'
  assert_eq "${lines[${#lines[@]} - 1]}" "]"
}

@test "inspect: --format '{{.Id}}' prints the import's ID" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' busybox
  assert_status 0
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" image inspect -f '{{.Id}}' busybox:latest
  assert_status 0
  assert_eq "$output" "$id"
}

@test "inspect: --format '{{json .Config}}' is the config as JSON" {
  import_busybox -c 'CMD ["sh"]' -c 'ENV A=b' busybox:latest >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{json .Config}}' busybox
  assert_status 0
  [ "${#lines[@]}" -eq 1 ]
  printf '%s' "$output" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert isinstance(c, dict), c
assert c.get("Cmd") == ["sh"], c
assert c.get("Env") == ["A=b"], c
'
}

@test "inspect: by short ID and by full ID" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' "$(short_id "$id")"
  assert_status 0
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' "$id"
  assert_status 0
  assert_eq "$output" "$id"
}

@test "inspect: 'strata inspect' is an alias" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" image inspect busybox
  want=$output
  run --separate-stderr "$STRATA" inspect busybox
  assert_status 0
  assert_eq "$output" "$want"
}

@test "inspect: an unknown image prints [] and Docker's error, exit 1" {
  run --separate-stderr "$STRATA" image inspect nope
  assert_status 1
  assert_eq "$output" "[]"
  assert_eq "$stderr" "Error: No such image: nope"
}

@test "inspect: two images give an array of two, in argument order" {
  a=$(import_busybox -m a a:1)
  b=$(import_busybox -m b b:1)
  run --separate-stderr "$STRATA" image inspect b:1 a:1
  assert_status 0
  printf '%s' "$output" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
ids = [o["Id"] for o in doc]
assert ids == sys.argv[1:], "ids %r, want %r" % (ids, sys.argv[1:])
' "$b" "$a"
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' a:1 b:1
  assert_status 0
  assert_eq "$output" "$a
$b"
}

@test "inspect: a known and an unknown image: the known one is printed, exit 1" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" image inspect busybox nope
  assert_status 1
  assert_contains "$stderr" "No such image: nope"
  printf '%s' "$output" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
assert [o["Id"] for o in doc] == [sys.argv[1]], doc
' "$id"
}

@test "inspect: RepoTags lists every tag of the image" {
  id=$(import_busybox busybox:latest)
  "$STRATA" tag busybox:latest busybox:v1
  "$STRATA" tag busybox:latest localhost:5000/team/app:v1
  run --separate-stderr "$STRATA" image inspect --format '{{json .RepoTags}}' "$id"
  assert_status 0
  assert_eq "$(printf '%s' "$output" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))')" \
    "busybox:latest busybox:v1 localhost:5000/team/app:v1"
}

@test "inspect: no argument is a usage error" {
  run --separate-stderr "$STRATA" image inspect
  assert_failure
  assert_contains "$stderr" "requires at least 1 argument"
}
