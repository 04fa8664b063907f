#!/usr/bin/env python3
"""Mounts a strata erofs layer (layers/<chain>/layer.erofs) on DIR read-only,
as strata itself does: mount(2) with the image file as the source (a
file-backed mount; mount(8) would put it on a loop device), and, for a tar
index, the blob it indexes as its extra device (the device slot's tag is
the blob's hex digest, under <root>/blobs/sha256/).

Usage: erofs_mount.py LAYER_EROFS DIR
"""
import ctypes
import os
import struct
import sys

img, target = sys.argv[1], sys.argv[2]
with open(img, "rb") as f:
    f.seek(1024)
    sb = f.read(128)
    if struct.unpack_from("<I", sb, 0)[0] != 0xE0F5E1E2:
        sys.exit("%s: not an EROFS image" % img)
    extra, slotoff = struct.unpack_from("<HH", sb, 86)
    data = None
    if extra:
        f.seek(slotoff * 128)
        tag = f.read(64).rstrip(b"\0").decode()
        layer_dir = os.path.dirname(os.path.abspath(img))
        root = os.path.dirname(os.path.dirname(layer_dir))
        data = ("device=%s/blobs/sha256/%s" % (root, tag)).encode()
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(img.encode(), target.encode(), b"erofs", 1, data) != 0:
    e = ctypes.get_errno()
    sys.exit("mount %s on %s: %s" % (img, target, os.strerror(e)))
