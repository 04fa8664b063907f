#!/usr/bin/env python3
"""Makes a base image rootfs tarball from Debian packages installed on this
host, with no network: the packages named, everything they depend on (as
dpkg records it), /bin/sh and coreutils, a passwd and group file and /tmp.
The result is what `strata import` takes; the tests and the examples build
on it where real projects would pull python:3, golang or gcc from a
registry.

  mkbase.py [--exclude GLOB]... [--print-key] OUT.tar PACKAGE...

--exclude drops installed paths matching a shell glob (fnmatch, on the
absolute path), as slim images drop documentation; /usr/share/doc, man,
info, locale and lintian are always dropped. --print-key prints, instead
of writing OUT.tar, a hash of everything the tarball is made from (the
recipe, the package versions, the excludes), for callers that cache it.

The tarball is deterministic: sorted entries, owner 0:0, mtime 0, so the
same packages give the same bytes. On a merged-/usr host (/bin a symlink
to usr/bin) the package paths are written where they really are and the
top-level links are recreated. A dependency not installed here is an
error naming it and the package that wants it.
"""
import fnmatch
import hashlib
import io
import os
import subprocess
import sys
import tarfile

RECIPE = 1
# /bin/sh and the commands every Makefile and script expects
ALWAYS = ["dash", "coreutils"]
ALWAYS_EXCLUDE = [
    "/usr/share/doc/*",
    "/usr/share/man/*",
    "/usr/share/info/*",
    "/usr/share/locale/*",
    "/usr/share/lintian/*",
]
MERGED = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]


def die(msg):
    sys.stderr.write("mkbase: %s\n" % msg)
    sys.exit(1)


def installed_db():
    """Every installed package: name -> (version, depends, provides)."""
    fmt = "${Package}\t${Status}\t${Version}\t${Pre-Depends}, ${Depends}\t${Provides}\n"
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True, check=True
    ).stdout
    db, provides = {}, {}
    for line in out.splitlines():
        name, status, version, deps, prov = line.split("\t")
        if not status.endswith(" installed"):
            continue
        db[name] = (version, deps)
        for p in prov.split(","):
            p = p.strip().split(" ")[0]
            if p:
                provides.setdefault(p, []).append(name)
    return db, provides


def bare(dep):
    """"libc6 (>= 2.34)" or "python3:any" -> "libc6", "python3"."""
    return dep.strip().split(" ")[0].split(":")[0]


def closure(wanted, db, provides):
    seen, todo = set(), list(wanted)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        if pkg not in db:
            die("package %s is not installed (apt-get install %s)" % (pkg, pkg))
        seen.add(pkg)
        for group in db[pkg][1].split(","):
            alts = [bare(a) for a in group.split("|") if bare(a)]
            if not alts:
                continue
            pick = next((a for a in alts if a in db), None)
            if pick is None:
                pick = next((provides[a][0] for a in alts if a in provides), None)
            if pick is None:
                die("%s depends on %s, which is not installed" % (pkg, group.strip()))
            todo.append(pick)
    return sorted(seen)


def where(path):
    """The path as it really is on a merged-/usr host: the directories
    resolved, the last component kept (a symlink stays a symlink)."""
    parent, name = os.path.split(path)
    return os.path.join(os.path.realpath(parent), name)


def files_of(pkgs, excludes):
    out = subprocess.run(
        ["dpkg", "-L"] + pkgs, capture_output=True, text=True, check=True
    ).stdout
    paths = set()
    for line in out.splitlines():
        if not line.startswith("/") or line == "/.":
            continue
        if any(fnmatch.fnmatch(line, g) for g in excludes):
            continue
        p = where(line)
        if os.path.lexists(p):
            paths.add(p)
    # every parent directory, so each gets its real mode
    dirs = set()
    for p in paths:
        d = os.path.dirname(p)
        while d != "/" and d not in dirs:
            dirs.add(d)
            d = os.path.dirname(d)
    return sorted(paths | dirs)


def add_bytes(tar, name, data, mode):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), mode, 0
    tar.addfile(ti, io.BytesIO(data))


def add_node(tar, name, typ, mode, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.linkname = typ, mode, 0, linkname
    tar.addfile(ti)


def write_tar(out, paths):
    tmp = out + ".tmp"
    inodes = {}
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        for top in MERGED:
            if os.path.islink("/" + top) and os.readlink("/" + top).startswith("usr/"):
                add_node(tar, top, tarfile.SYMTYPE, 0o777, os.readlink("/" + top))
        add_node(tar, "etc", tarfile.DIRTYPE, 0o755)
        add_bytes(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                  b"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", 0o644)
        add_bytes(tar, "etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644)
        add_node(tar, "root", tarfile.DIRTYPE, 0o700)
        add_node(tar, "tmp", tarfile.DIRTYPE, 0o1777)
        for p in paths:
            if p in ("/etc", "/root", "/tmp"):
                continue
            ti = tar.gettarinfo(p, p.lstrip("/"))
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mtime = 0
            st = os.lstat(p)
            if ti.isreg() and st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in inodes:
                    ti.type, ti.linkname, ti.size = tarfile.LNKTYPE, inodes[key], 0
                    tar.addfile(ti)
                    continue
                inodes[key] = ti.name
            if ti.isreg():
                with open(p, "rb") as f:
                    tar.addfile(ti, f)
            else:
                tar.addfile(ti)
        # /bin/sh: dash diverts it, so `dpkg -L` may not list it as a file
        if not any(p in ("/usr/bin/sh", "/bin/sh") for p in paths):
            add_node(tar, where("/bin/sh").lstrip("/"), tarfile.SYMTYPE, 0o777, "dash")
    os.replace(tmp, out)


def main(argv):
    excludes, print_key, args = list(ALWAYS_EXCLUDE), False, []
    it = iter(argv)
    for a in it:
        if a == "--exclude":
            excludes.append(next(it, None) or die("--exclude needs a glob"))
        elif a == "--print-key":
            print_key = True
        else:
            args.append(a)
    if len(args) < 2:
        die("usage: mkbase.py [--exclude GLOB]... [--print-key] OUT.tar PACKAGE...")
    out, wanted = args[0], args[1:] + ALWAYS
    db, provides = installed_db()
    pkgs = closure(wanted, db, provides)
    if print_key:
        h = hashlib.sha256()
        h.update(repr((RECIPE, [(p, db[p][0]) for p in pkgs], sorted(excludes))).encode())
        print(h.hexdigest()[:16])
        return
    paths = files_of(pkgs, excludes)
    write_tar(out, paths)
    sys.stderr.write("mkbase: %s: %d packages, %d entries, %d MB\n" % (
        out, len(pkgs), len(paths), os.path.getsize(out) >> 20))


if __name__ == "__main__":
    main(sys.argv[1:])
