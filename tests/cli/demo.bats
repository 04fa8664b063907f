#!/usr/bin/env bats
# scripts/demo.sh (`make demo`): builds examples/hello (two stages), shows a
# warm rebuild (every step CACHED), edits one file and shows the miss
# explained, runs `build --check` on a badly ordered Dockerfile, runs the
# result; and prints every command so that it can be pasted back.

load helpers

setup() {
  strata_setup
  [ "$(id -u)" = 0 ] || skip "the demo runs containers: it needs root here"
  export TMPDIR=$BATS_TEST_TMPDIR
  unset STRATA_ROOT # the demo makes its own store
  # one stream, as a terminal shows it: build progress is on stderr
  run timeout -k 5 300 "$REPO_ROOT/scripts/demo.sh" "$STRATA"
  assert_status 0
  DEMO=$output
}

# section CMDLINE: what the demo printed after the line "$ CMDLINE" (the
# Nth such line with N as second argument), up to the next command or
# comment line.
section() {
  awk -v want="\$ $1" -v nth="${2:-1}" '
    /^(\$|# )/ { if (on) exit; if ($0 == want && ++seen == nth) { on = 1; next } }
    on' <<<"$DEMO"
}

@test "demo: the build, a warm rebuild all CACHED, the edit's miss explained, --check and the results run" {
  ctx=$(sed -n 's/^\$ cp -r .* \(.*\/hello\)$/\1/p' <<<"$DEMO")
  [ -d "$ctx" ]
  cold=$(section "strata build --progress=plain -t hello:1.0 $ctx" 1)
  warm=$(section "strata build --progress=plain -t hello:1.0 $ctx" 2)
  edited=$(section "strata build --progress=plain -t hello:1.1 $ctx")
  # cold: stage build and the final stage, steps ran
  assert_contains "$cold" "[build 4/4] RUN"
  assert_contains "$cold" "[stage-1 2/2] COPY --from=build /out/hello /usr/local/bin/hello"
  # warm: the 4 steps that are not FROM are CACHED, nothing missed
  assert_eq "$(grep -cE '^#[0-9]+ CACHED$' <<<"$warm")" 4
  [[ $warm != *"cache miss"* ]]
  assert_eq "$(grep -o 'writing image sha256:[0-9a-f]*' <<<"$warm")" \
    "$(grep -o 'writing image sha256:[0-9a-f]*' <<<"$cold")"
  # the edit: the COPY says which file changed, the steps after rebuild
  assert_contains "$edited" "cache miss: greeting.txt changed (content)"
  assert_contains "$edited" "cache miss: parent step rebuilt"
  assert_eq "$(grep -c '^#[0-9]* CACHED$' <<<"$edited")" 1
  assert_eq "$(section "strata run --rm hello:1.0" | grep .)" "Hello from a strata build (v1.0)"
  assert_eq "$(section "strata run --rm hello:1.1" | grep .)" "Hello again from a strata build (v1.0)"
  check=$(section "strata build --check -f $ctx/Dockerfile.slow-order $ctx")
  assert_contains "$check" "Dockerfile.slow-order:6: CopyBeforeDependencyInstall: COPY . . before RUN npm ci"
  assert_contains "$check" "copy package.json package-lock.json first, run npm ci, then COPY . ."
}

@test "demo: the printed commands paste back into a shell and do the same" {
  # no terminal here: no escape sequences in the transcript
  [[ $DEMO != *$'\033'* ]]
  export_line=$(grep -m1 '^export STRATA_ROOT=' <<<"$DEMO")
  # the quoted arguments, as printed
  assert_contains "$DEMO" "\$ strata import --change 'CMD [\"sh\"]' --change 'LABEL demo=2' "
  assert_contains "$DEMO" "--format '{{.Id}} {{.Os}}/{{.Architecture}} cmd={{json .Config.Cmd}} layers={{len .RootFS.Layers}}' busybox"
  assert_contains "$DEMO" "sh -c 'echo \"hello from \$(hostname)\"; echo written >/tmp/f; cat /tmp/f; id'"
  # pasted into a fresh shell (the transcript's comments and commands,
  # after its export line), they run against the demo's store
  script=$BATS_TEST_TMPDIR/pasted.sh
  {
    echo "$export_line"
    grep -E '^\$ strata (image inspect|run --rm --hostname|history hello|images --filter)' <<<"$DEMO" | sed 's/^\$ //'
  } >"$script"
  run --separate-stderr env -i HOME="$HOME" PATH=/usr/bin:/bin bash "$script"
  assert_status 0
  assert_match "$output" $'^sha256:[0-9a-f]{64} linux/[a-z0-9]+ cmd=\\["sh"\\] layers=1\n'
  assert_contains "$output" $'hello from demo\nwritten\nuid=0(root) gid=0(root)'
  assert_contains "$output" 'CMD ["hello"]'
  # the store it used is the demo's (the export line), not the test's
  assert_contains "$export_line" "$BATS_TEST_TMPDIR/strata-demo."
}
