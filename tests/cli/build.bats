#!/usr/bin/env bats
# strata build through the real binary: what ends up in the image (files,
# config, history), the flags, RUN, COPY, multi-stage builds, ARG and
# ONBUILD. The cache is in build_cache.bats, failures in build_errors.bats.
# Needs root (RUN starts containers); no network: FROM busybox is the
# local image import_busybox makes.

load helpers
load build_helpers

setup() {
  build_setup
}

teardown() {
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

# --- the image ------------------------------------------------------------------

@test "build: RUN and COPY results are files of the image, -t names it" {
  echo "from the context" >"$CTX/a.txt"
  dockerfile <<'EOF'
FROM busybox
RUN echo built >/built.txt
COPY a.txt /a.txt
EOF
  sbuild -t x "$CTX"
  assert_status 0
  run --separate-stderr "$STRATA" run --rm x cat /built.txt /a.txt
  assert_status 0
  assert_eq "$output" $'built\nfrom the context'
}

@test "build: progress on stderr is BuildKit's plain format" {
  echo a >"$CTX/a.txt"
  dockerfile <<'EOF'
FROM busybox
RUN echo hello-from-run
COPY a.txt /a.txt
EOF
  sbuild -t x:1 "$CTX"
  assert_status 0
  assert_eq "$output" ""
  assert_match "$stderr" '(^|'$'\n'')#1 \[internal\] load build definition from Dockerfile'
  assert_match "$stderr" $'\n''#2 \[1/3\] FROM busybox'
  assert_match "$stderr" $'\n''#3 \[2/3\] RUN echo hello-from-run'
  assert_match "$stderr" $'\n''#3 [0-9]+\.[0-9]{3} hello-from-run'
  assert_match "$stderr" $'\n''#3 DONE [0-9]+\.[0-9]s'
  assert_match "$stderr" $'\n''#4 \[3/3\] COPY a.txt /a.txt'
  assert_match "$stderr" $'\n''#5 exporting to image'
  id=$("$STRATA" image inspect --format '{{.Id}}' x:1)
  assert_contains "$stderr" "#5 writing image $id done"
  assert_contains "$stderr" "#5 naming to docker.io/library/x:1 done"
}

@test "build: ENV WORKDIR CMD USER LABEL EXPOSE VOLUME STOPSIGNAL HEALTHCHECK SHELL set the config" {
  dockerfile <<'EOF'
FROM busybox
ENV A=1 B="two words"
ENV A=3
WORKDIR /app
WORKDIR sub
USER nobody
LABEL org.example.k=v "with space"="x y"
EXPOSE 80 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=2 CMD true
SHELL ["/bin/sh", "-ec"]
CMD ["sh", "-c", "echo cmd"]
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(cfg x '{{json .Config.Env}}')" '["A=3","B=two words"]'
  assert_eq "$(cfg x '{{.Config.WorkingDir}}')" "/app/sub"
  assert_eq "$(cfg x '{{.Config.User}}')" "nobody"
  assert_eq "$(cfg x '{{json .Config.Labels}}')" '{"org.example.k":"v","with space":"x y"}'
  assert_eq "$(cfg x '{{json .Config.ExposedPorts}}')" '{"53/udp":{},"80/tcp":{}}'
  assert_eq "$(cfg x '{{json .Config.Volumes}}')" '{"/data":{}}'
  assert_eq "$(cfg x '{{.Config.StopSignal}}')" "SIGUSR1"
  assert_eq "$(cfg x '{{json .Config.Healthcheck.Test}}')" '["CMD-SHELL","true"]'
  assert_eq "$(cfg x '{{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Retries}}')" "5000000000 2"
  assert_eq "$(cfg x '{{json .Config.Shell}}')" '["/bin/sh","-ec"]'
  assert_eq "$(cfg x '{{json .Config.Cmd}}')" '["sh","-c","echo cmd"]'
  run --separate-stderr "$STRATA" run --rm x
  assert_status 0
  assert_eq "$output" "cmd"
}

@test "build: shell-form CMD and ENTRYPOINT are wrapped in /bin/sh -c" {
  dockerfile <<'EOF'
FROM busybox
ENTRYPOINT echo ep
CMD echo cmd
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(cfg x '{{json .Config.Entrypoint}}')" '["/bin/sh","-c","echo ep"]'
  assert_eq "$(cfg x '{{json .Config.Cmd}}')" '["/bin/sh","-c","echo cmd"]'
}

@test "build: ENTRYPOINT resets a CMD inherited from the base, not one set in the stage" {
  dockerfile <<'EOF'
FROM busybox
CMD ["base-cmd"]
EOF
  sbuild -t base "$CTX"
  assert_status 0
  dockerfile <<'EOF'
FROM base
ENTRYPOINT ["echo", "ep"]
EOF
  sbuild -t inherited "$CTX"
  assert_status 0
  assert_eq "$(cfg inherited '{{json .Config.Entrypoint}}')" '["echo","ep"]'
  assert_eq "$(cfg inherited '{{json .Config.Cmd}}')" 'null'
  dockerfile <<'EOF'
FROM base
CMD ["own"]
ENTRYPOINT ["echo", "ep"]
EOF
  sbuild -t own "$CTX"
  assert_status 0
  assert_eq "$(cfg own '{{json .Config.Cmd}}')" '["own"]'
  run --separate-stderr "$STRATA" run --rm own
  assert_eq "$output" "ep own"
}

@test "build: history lists every step as Docker BuildKit writes it" {
  echo a >"$CTX/a.txt"
  dockerfile <<'EOF'
FROM busybox
ARG V=1
RUN echo hi
COPY a.txt /a.txt
ENV A=1
WORKDIR /app
CMD ["sh"]
EOF
  sbuild -t x "$CTX"
  assert_status 0
  run --separate-stderr "$STRATA" history --no-trunc --format '{{.CreatedBy}}|{{.Size}}' x
  assert_status 0
  lines=$(printf '%s\n' "$output" | head -5)
  assert_eq "$lines" 'CMD ["sh"]|0B
WORKDIR /app|0B
ENV A=1|0B
COPY a.txt /a.txt # buildkit|2B
RUN |1 V=1 /bin/sh -c echo hi # buildkit|0B'
}

@test "build: metadata steps are empty_layer history entries, RUN and COPY add layers" {
  echo a >"$CTX/a.txt"
  dockerfile <<'EOF'
FROM busybox
RUN echo x >/x
COPY a.txt /a.txt
ENV A=1
LABEL l=1
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(cfg x '{{len .RootFS.Layers}}')" "3"
  "$STRATA" save -o "$BATS_TEST_TMPDIR/x.tar" x
  run python3 - "$BATS_TEST_TMPDIR/x.tar" <<'EOF'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
m = json.load(t.extractfile("manifest.json"))[0]
c = json.load(t.extractfile(m["Config"]))
for h in c["history"][1:]:
    print(h["created_by"], h.get("empty_layer", False), h.get("comment"))
print(len(c["rootfs"]["diff_ids"]))
EOF
  assert_status 0
  assert_eq "$output" "RUN /bin/sh -c echo x >/x # buildkit False buildkit.dockerfile.v0
COPY a.txt /a.txt # buildkit False buildkit.dockerfile.v0
ENV A=1 True buildkit.dockerfile.v0
LABEL l=1 True buildkit.dockerfile.v0
3"
}

@test "build: every step is an untagged intermediate image shown by images -a only" {
  dockerfile <<'EOF'
FROM busybox
RUN echo 1 >/1
RUN echo 2 >/2
ENV A=1
EOF
  sbuild -t x "$CTX"
  assert_status 0
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}}'
  assert_eq "$(printf '%s\n' "$output" | sort)" $'busybox:latest\nx:latest'
  run --separate-stderr "$STRATA" images -a -q
  assert_eq "$(printf '%s\n' "$output" | sort -u | wc -l)" "4"
  parent=$(cfg x '{{.Parent}}')
  assert_match "$parent" '^sha256:[0-9a-f]{64}$'
  assert_eq "$(cfg "$parent" '{{json .RepoTags}}')" '[]'
}

@test "build: several -t name the same image" {
  dockerfile <<<'FROM busybox
ENV A=1'
  sbuild -t one -t two:v2 -t reg.example:5000/three "$CTX"
  assert_status 0
  id=$(cfg one '{{.Id}}')
  assert_eq "$(cfg two:v2 '{{.Id}}')" "$id"
  assert_eq "$(cfg reg.example:5000/three:latest '{{.Id}}')" "$id"
}

@test "build: -q prints only the image ID, the one images -q shows" {
  dockerfile <<<'FROM busybox
RUN echo q >/q'
  sbuild -q -t x "$CTX"
  assert_status 0
  assert_match "$output" '^sha256:[0-9a-f]{64}$'
  assert_eq "$stderr" ""
  assert_eq "$("$STRATA" images -q x)" "$(short_id "$output")"
}

@test "build: --iidfile gets the image ID" {
  dockerfile <<<'FROM busybox
ENV A=1'
  sbuild --iidfile "$BATS_TEST_TMPDIR/iid" -t x "$CTX"
  assert_status 0
  assert_eq "$(cat "$BATS_TEST_TMPDIR/iid")" "$(cfg x '{{.Id}}')"
}

@test "build: image build and builder build are aliases" {
  dockerfile <<<'FROM busybox
ENV A=1'
  run --separate-stderr timeout 120 "$STRATA" image build -q -t a "$CTX"
  assert_status 0
  run --separate-stderr timeout 120 "$STRATA" builder build -q -t b "$CTX"
  assert_status 0
  assert_eq "$(cfg a '{{.Id}}')" "$(cfg b '{{.Id}}')"
}

@test "build: -f uses another Dockerfile, names it in the progress" {
  dockerfile other.Dockerfile <<<'FROM busybox
RUN echo other >/which'
  dockerfile <<<'FROM busybox
RUN echo default >/which'
  sbuild -f "$CTX/other.Dockerfile" -t x "$CTX"
  assert_status 0
  assert_contains "$stderr" "load build definition from other.Dockerfile"
  assert_eq "$(in_image x 'cat /which')" "other"
}

@test "build: -f - reads the Dockerfile from stdin" {
  echo piped >"$CTX/p.txt"
  run --separate-stderr bash -c "printf 'FROM busybox\nCOPY p.txt /p.txt\n' | timeout 120 '$STRATA' build -f - -t x '$CTX'"
  assert_status 0
  assert_eq "$(in_image x 'cat /p.txt')" "piped"
}

@test "build: a lowercase dockerfile is used when there is no Dockerfile" {
  dockerfile dockerfile <<<'FROM busybox
RUN echo lower >/which'
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /which')" "lower"
}

@test "build: --label adds labels to the final image" {
  dockerfile <<<'FROM busybox
LABEL a=from-file'
  sbuild --label b=from-cli --label a=override -t x "$CTX"
  assert_status 0
  assert_eq "$(cfg x '{{json .Config.Labels}}')" '{"a":"override","b":"from-cli"}'
}

# --- RUN ------------------------------------------------------------------------

@test "RUN: exec form runs the program without a shell" {
  dockerfile <<'EOF'
FROM busybox
RUN ["/bin/busybox", "touch", "/exec-ran"]
RUN ["/bin/echo", "$HOME not expanded"]
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_contains "$stderr" ' $HOME not expanded'
  run --separate-stderr "$STRATA" run --rm x ls /exec-ran
  assert_status 0
  run --separate-stderr "$STRATA" history --no-trunc --format '{{.CreatedBy}}' x
  assert_contains "$output" 'RUN /bin/busybox touch /exec-ran # buildkit'
}

@test "RUN: SHELL changes the program shell-form RUNs go through" {
  dockerfile <<'EOF'
FROM busybox
SHELL ["/bin/echo", "via-echo"]
RUN hello world
SHELL ["/bin/sh", "-c"]
RUN echo back >/back
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_match "$stderr" $'\n''#[0-9]+ [0-9.]+ via-echo hello world'
  assert_eq "$(in_image x 'cat /back')" "back"
  run --separate-stderr "$STRATA" history --no-trunc --format '{{.CreatedBy}}' x
  assert_contains "$output" 'RUN /bin/echo via-echo hello world # buildkit'
}

@test "RUN: ENV and ARG are in its environment; ARG is not in the image's Env" {
  dockerfile <<'EOF'
FROM busybox
ARG V=argval
ENV E=envval
RUN echo "$V $E" >/vals
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /vals')" "argval envval"
  assert_eq "$(cfg x '{{json .Config.Env}}')" '["E=envval"]'
  run --separate-stderr "$STRATA" run --rm x env
  [[ $output != *V=argval* ]]
}

@test "RUN: runs as USER in WORKDIR" {
  dockerfile <<'EOF'
FROM busybox
WORKDIR /work/dir
USER nobody
RUN id -u >/tmp/uid && pwd >/tmp/pwd
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /tmp/uid /tmp/pwd')" $'65534\n/work/dir'
}

@test "RUN: WORKDIR creates the directory in the image" {
  dockerfile <<'EOF'
FROM busybox
WORKDIR /made/by/workdir
FROM busybox
COPY --from=0 /made /copied
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'ls /copied/by')" "workdir"
}

@test "RUN: here-document as the script" {
  dockerfile <<'EOF'
FROM busybox
RUN <<EOT
echo one >/h1
echo two >>/h1
EOT
RUN cat <<EOT >/h2
line $((1 + 1))
EOT
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /h1 /h2')" $'one\ntwo\nline 2'
}

@test "RUN: --mount=type=cache keeps its content across builds, even with --no-cache" {
  dockerfile <<'EOF'
FROM busybox
RUN --mount=type=cache,target=/cache echo x >>/cache/count && wc -l </cache/count >/seen
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /seen')" "1"
  sbuild --no-cache -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /seen')" "2"
  run --separate-stderr "$STRATA" run --rm x ls /cache/count
  assert_failure
}

@test "RUN: --mount=type=tmpfs is a tmpfs and is not kept in the layer" {
  dockerfile <<'EOF'
FROM busybox
RUN --mount=type=tmpfs,target=/scratch echo x >/scratch/f && grep -c " /scratch tmpfs " /proc/mounts >/seen
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /seen')" "1"
  run --separate-stderr "$STRATA" run --rm x ls /scratch/f
  assert_failure
}

@test "RUN: --network none leaves only the loopback interface" {
  dockerfile <<'EOF'
FROM busybox
RUN grep -o "^ *[a-z0-9]*:" /proc/net/dev | sed "s/ //g" >/ifaces
EOF
  sbuild --network none -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /ifaces')" "lo:"
}

@test "RUN: --network=none on the instruction" {
  dockerfile <<'EOF'
FROM busybox
RUN --network=none grep -o "^ *[a-z0-9]*:" /proc/net/dev | sed "s/ //g" >/ifaces
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /ifaces')" "lo:"
}

# --- COPY -----------------------------------------------------------------------

@test "COPY: a file to a new path, parents made" {
  echo a >"$CTX/a.txt"
  dockerfile <<<'FROM busybox
COPY a.txt /new/dir/b.txt'
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /new/dir/b.txt; ls /new/dir')" $'a\nb.txt'
}

@test "COPY: a file into dir/ keeps its name" {
  echo a >"$CTX/a.txt"
  dockerfile <<<'FROM busybox
COPY a.txt /d/'
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /d/a.txt')" "a"
}

@test "COPY: a directory source copies its contents, not the directory" {
  mkdir -p "$CTX/src/sub"
  echo 1 >"$CTX/src/one"
  echo 2 >"$CTX/src/sub/two"
  dockerfile <<'EOF'
FROM busybox
COPY src /out
COPY src/ /out2/
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'ls /out; cat /out/sub/two; ls /out2')" $'one\nsub\n2\none\nsub'
}

@test "COPY: globs and several sources" {
  echo a >"$CTX/a.txt"
  echo b >"$CTX/b.txt"
  echo c >"$CTX/c.md"
  dockerfile <<'EOF'
FROM busybox
COPY *.txt /g/
COPY a.txt c.md /m/
COPY ?.md /q/
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'ls /g; ls /m; ls /q')" $'a.txt\nb.txt\na.txt\nc.md\nc.md'
}

@test "COPY: --chown and --chmod set owner and mode" {
  echo a >"$CTX/a.txt"
  mkdir "$CTX/d"
  echo f >"$CTX/d/f"
  dockerfile <<'EOF'
FROM busybox
COPY --chown=1000:1000 a.txt /owned
COPY --chmod=0600 a.txt /private
COPY --chown=nobody d /nd
EOF
  sbuild -t x "$CTX"
  assert_status 0
  run --separate-stderr in_image x 'busybox stat -c "%u:%g %a" /owned /private /nd/f'
  assert_status 0
  assert_eq "$output" $'1000:1000 644\n0:0 600\n65534:65534 644'
}

@test "COPY: a relative destination is under WORKDIR" {
  echo a >"$CTX/a.txt"
  dockerfile <<'EOF'
FROM busybox
WORKDIR /app
COPY a.txt rel/
COPY a.txt .
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /app/rel/a.txt /app/a.txt')" $'a\na'
}

@test "COPY: into an existing directory without a trailing slash" {
  echo a >"$CTX/a.txt"
  dockerfile <<<'FROM busybox
COPY a.txt /etc'
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /etc/a.txt; ls /etc/passwd')" $'a\n/etc/passwd'
}

@test "COPY: .dockerignore excludes files, ! makes exceptions" {
  mkdir -p "$CTX/logs"
  echo k >"$CTX/keep.txt"
  echo s >"$CTX/secret.txt"
  echo l >"$CTX/logs/a.log"
  echo i >"$CTX/logs/important.log"
  printf '%s\n' secret.txt 'logs/*.log' '!logs/important.log' >"$CTX/.dockerignore"
  dockerfile <<<'FROM busybox
COPY . /c/'
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cd /c && ls keep.txt secret.txt logs')" $'keep.txt\n\nlogs:\nimportant.log'
}

@test "COPY: a file excluded by .dockerignore cannot be named" {
  echo s >"$CTX/secret.txt"
  echo secret.txt >"$CTX/.dockerignore"
  dockerfile <<<'FROM busybox
COPY secret.txt /s'
  sbuild -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "secret.txt"
  assert_contains "$stderr" "Dockerfile:2"
}

@test "COPY: --from a stage, by name and by index" {
  dockerfile <<'EOF'
FROM busybox AS maker
RUN echo made >/made
FROM busybox
COPY --from=maker /made /by-name
COPY --from=0 /made /by-index
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /by-name /by-index')" $'made\nmade'
}

@test "COPY: --from an image" {
  dockerfile <<'EOF'
FROM busybox AS other
RUN rm /etc/group
COPY --from=busybox /etc/group /etc/group
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'head -1 /etc/group')" "root:x:0:"
}

@test "COPY: a here-document becomes the file" {
  dockerfile <<'EOF'
FROM busybox
ARG WHO=world
COPY <<EOT /greeting
hello $WHO
EOT
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /greeting')" "hello world"
}

@test "COPY: a symlink to outside the context is copied as a link, never followed out" {
  echo HOSTSECRET >"$BATS_TEST_TMPDIR/outside.txt"
  ln -s ../outside.txt "$CTX/rel-link"
  ln -s "$BATS_TEST_TMPDIR/outside.txt" "$CTX/abs-link"
  dockerfile <<<'FROM busybox
COPY . /c/'
  sbuild -t x "$CTX"
  assert_status 0
  run --separate-stderr in_image x 'ls -l /c/rel-link /c/abs-link; cat /c/rel-link /c/abs-link'
  assert_match "$output" "rel-link -> \.\./outside\.txt"
  assert_contains "$output" "abs-link -> $BATS_TEST_TMPDIR/outside.txt"
  [[ $output != *HOSTSECRET* ]]
}

@test "COPY: naming a symlink that points outside the context does not read the host file" {
  echo HOSTSECRET >"$BATS_TEST_TMPDIR/outside.txt"
  ln -s "$BATS_TEST_TMPDIR/outside.txt" "$CTX/abs-link"
  ln -s ../outside.txt "$CTX/rel-link"
  for l in abs-link rel-link; do
    dockerfile <<<"FROM busybox
COPY $l /got"
    sbuild -t "x-$l" "$CTX"
    if [ "$status" -eq 0 ]; then
      run --separate-stderr in_image "x-$l" 'cat /got'
      [[ $output != *HOSTSECRET* ]]
    else
      assert_failure
    fi
  done
}

# --- multi-stage ----------------------------------------------------------------

@test "multi-stage: --target builds only the stages it needs" {
  dockerfile <<'EOF'
FROM busybox AS broken
RUN echo running-broken && exit 1
FROM busybox AS base
RUN echo base >/base
FROM base AS final
RUN exit 2
EOF
  sbuild --target base -t x "$CTX"
  assert_status 0
  [[ $stderr != *running-broken* ]]
  [[ $stderr != *"exit 2"* ]]
  assert_contains "$stderr" "[base 2/2] RUN echo base >/base"
  assert_eq "$(in_image x 'cat /base')" "base"
}

@test "multi-stage: FROM a stage AS another inherits its files and config" {
  dockerfile <<'EOF'
FROM busybox AS base
ENV FROM_BASE=1
RUN echo base >/base
FROM base AS other
RUN cat /base >/copy
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /copy')" "base"
  assert_eq "$(cfg x '{{json .Config.Env}}')" '["FROM_BASE=1"]'
  assert_contains "$stderr" "[other 1/2] FROM base"
}

@test "multi-stage: unnamed stages are labelled stage-N" {
  dockerfile <<'EOF'
FROM busybox
RUN echo a >/a
FROM busybox
COPY --from=0 /a /a
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_contains "$stderr" "[stage-0 2/2] RUN echo a >/a"
  assert_contains "$stderr" "[stage-1 2/2] COPY --from=0 /a /a"
}

# --- ARG ------------------------------------------------------------------------

@test "ARG: a global ARG in FROM, its default and --build-arg" {
  "$STRATA" tag busybox mybase:v2
  dockerfile <<'EOF'
ARG TAG=latest
FROM busybox:${TAG}
RUN echo ok >/ok
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_contains "$stderr" "FROM busybox:latest"
  dockerfile <<'EOF'
ARG BASE=busybox
FROM $BASE
EOF
  sbuild --build-arg BASE=mybase:v2 -t y "$CTX"
  assert_status 0
  assert_contains "$stderr" "FROM mybase:v2"
}

@test "ARG: --build-arg overrides the default" {
  dockerfile <<'EOF'
FROM busybox
ARG V=default
RUN echo "$V" >/v
EOF
  sbuild -t d "$CTX"
  assert_status 0
  sbuild --build-arg V=given -t g "$CTX"
  assert_status 0
  assert_eq "$(in_image d 'cat /v')" "default"
  assert_eq "$(in_image g 'cat /v')" "given"
}

@test "ARG: a global ARG must be redeclared inside the stage" {
  dockerfile <<'EOF'
ARG G=global
FROM busybox
RUN echo "[$G]" >/before
ARG G
RUN echo "[$G]" >/after
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /before /after')" $'[]\n[global]'
}

@test "ARG: an ARG's scope ends with its stage" {
  dockerfile <<'EOF'
FROM busybox
ARG S=first
FROM busybox
RUN echo "[$S]" >/s
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_eq "$(in_image x 'cat /s')" "[]"
}

@test "ARG: an unused --build-arg is warned about on stderr" {
  dockerfile <<'EOF'
FROM busybox
ARG USED
RUN echo "$USED" >/u
EOF
  sbuild --build-arg USED=1 --build-arg UNUSED=2 -t x "$CTX"
  assert_status 0
  assert_contains "$stderr" "One or more build-args [UNUSED] were not consumed"
  [[ $stderr != *"[USED"* ]]
}

@test "ARG: proxy build args reach RUN without an ARG, stay out of Env, history and the cache key" {
  dockerfile <<'EOF'
FROM busybox
RUN echo "p=$HTTP_PROXY n=$no_proxy" >/p
EOF
  sbuild --build-arg HTTP_PROXY=http://127.0.0.1:3128 \
    --build-arg no_proxy=localhost -t x "$CTX"
  assert_status 0
  [[ $stderr != *"were not consumed"* ]]
  run --separate-stderr "$STRATA" run --rm x cat /p
  assert_eq "$output" "p=http://127.0.0.1:3128 n=localhost"
  run "$STRATA" image inspect x
  [[ $output != *3128* ]]
  run "$STRATA" history --no-trunc x
  [[ $output != *3128* ]]
  # Another proxy is not another build: the step is still cached.
  sbuild --build-arg HTTP_PROXY=http://127.0.0.1:3129 -t y "$CTX"
  assert_status 0
  assert_contains "$stderr" "CACHED"
  assert_eq "$("$STRATA" image inspect --format '{{.Id}}' y)" \
    "$("$STRATA" image inspect --format '{{.Id}}' x)"
}

# --- ONBUILD --------------------------------------------------------------------

@test "ONBUILD: the trigger is stored in the base and runs in the child build" {
  dockerfile <<'EOF'
FROM busybox
ONBUILD RUN echo triggered >/trig
EOF
  sbuild -t base "$CTX"
  assert_status 0
  assert_eq "$(cfg base '{{json .Config.OnBuild}}')" '["RUN echo triggered >/trig"]'
  run --separate-stderr "$STRATA" run --rm base ls /trig
  assert_failure
  dockerfile <<<'FROM base
RUN cat /trig >/seen'
  sbuild -t child "$CTX"
  assert_status 0
  assert_eq "$(in_image child 'cat /seen')" "triggered"
  run cfg child '{{json .Config.OnBuild}}'
  assert_match "$output" '^(null|\[\])$'
}

# --- interop --------------------------------------------------------------------

@test "interop: a built image saved by strata loads in podman with the same ID" {
  command -v podman >/dev/null 2>&1 || skip "podman is not installed"
  echo a >"$CTX/a.txt"
  dockerfile <<'EOF'
FROM busybox
RUN echo built >/built
COPY a.txt /a.txt
ENV A=1
CMD ["sh"]
EOF
  sbuild -t built:v1 "$CTX"
  assert_status 0
  id=$(cfg built:v1 '{{.Id}}')
  "$STRATA" save -o "$BATS_TEST_TMPDIR/b.tar" built:v1
  run podman --root "$BATS_TEST_TMPDIR/podroot" --runroot "$BATS_TEST_TMPDIR/podrun" \
    --storage-driver vfs --cgroup-manager cgroupfs --events-backend file \
    load -i "$BATS_TEST_TMPDIR/b.tar"
  assert_status 0
  run podman --root "$BATS_TEST_TMPDIR/podroot" --runroot "$BATS_TEST_TMPDIR/podrun" \
    --storage-driver vfs --cgroup-manager cgroupfs --events-backend file \
    inspect --format '{{.Id}}' built:v1
  assert_status 0
  assert_eq "$output" "${id#sha256:}"
}

@test "build: SOURCE_DATE_EPOCH makes two clean builds on different stores give one image ID" {
  echo app >"$CTX/app.txt"
  dockerfile <<'EOF2'
FROM busybox
COPY app.txt /app/
RUN echo built >/app/out && mkdir /app/d
CMD ["cat", "/app/out"]
EOF2
  "$STRATA" save -o "$BATS_TEST_TMPDIR/base.tar" busybox
  local other=$BATS_TEST_TMPDIR/other-root
  STRATA_ROOT=$other "$STRATA" load -q -i "$BATS_TEST_TMPDIR/base.tar" >/dev/null
  local a b c
  a=$(sbuild_ok --build-arg SOURCE_DATE_EPOCH=1700000000 "$CTX")
  sleep 1.1 # another second for every mtime and created time
  touch "$CTX/app.txt"
  b=$(STRATA_ROOT=$other sbuild_ok --build-arg SOURCE_DATE_EPOCH=1700000000 "$CTX")
  assert_eq "$b" "$a"
  # the layers too: the same diff IDs, the created time the epoch's
  run "$STRATA" image inspect -f '{{json .RootFS.Layers}} {{.Created}}' "$a"
  local here=$output
  run env STRATA_ROOT="$other" "$STRATA" image inspect -f '{{json .RootFS.Layers}} {{.Created}}' "$b"
  assert_eq "$output" "$here"
  assert_contains "$output" "2023-11-14T22:13:20Z"
  # from the environment as well; without it the build is not the same
  c=$(SOURCE_DATE_EPOCH=1700000000 sbuild_ok --no-cache "$CTX")
  assert_eq "$c" "$a"
  c=$(sbuild_ok --no-cache "$CTX")
  [ "$c" != "$a" ]
}

@test "build --progress tty: BuildKit's live view on a terminal, each rebuilt step with why it missed, CACHED after" {
  command -v script >/dev/null || skip "script(1) is not installed"
  dockerfile <<'EOF2'
FROM busybox
RUN echo from-run && sleep 0.3
COPY Dockerfile /d
EOF2
  local view
  view() {
    timeout -s KILL 60 script -qfec "$STRATA build --progress tty -t tv $CTX" /dev/null |
      tr -d '\r' | sed 's/\x1b\[[0-9]*[AK]//g'
  }
  run view
  assert_match "$output" '\[\+\] Building [0-9.]+s \(5/5\) FINISHED'
  assert_contains "$output" '=> [2/3] RUN echo from-run && sleep 0.3  # base image changed'
  assert_contains "$output" '=> => # from-run' # the tail of the RUN's output
  assert_match "$output" '=> \[3/3\] COPY Dockerfile /d  # parent step rebuilt'
  # the screen is redrawn in place: cursor-up sequences, not one line per update
  timeout -s KILL 60 script -qfec "$STRATA build --no-cache --progress tty -t tv $CTX" /dev/null >"$BATS_TEST_TMPDIR/raw"
  run grep -c "$(printf '\033')\\[[0-9]*A" "$BATS_TEST_TMPDIR/raw"
  [ "$output" -ge 3 ]
  run view
  assert_contains "$output" "=> CACHED [2/3] RUN echo from-run && sleep 0.3"
  assert_contains "$output" "=> CACHED [3/3] COPY Dockerfile /d"
}
