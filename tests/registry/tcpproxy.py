#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that misbehaves on purpose (tests only).

Usage: tcpproxy.py LISTEN_PORT TARGET_PORT [options]
  --rate BYTES_PER_S   throttle server-to-client bytes (per connection)
  --cut-after N        close a connection once it has sent N bytes of a
                       response to the client ...
  --cut-times K        ... for the first K such connections (default 1)
  --log FILE           append each request line and Range / Content-Range
                       header seen
  --status CODE        answer a request with CODE (429, 500, 503, ...)
                       itself instead of forwarding it, then close ...
  --status-times K     ... for the first K such requests (default 1)
  --match TEXT         ... only requests whose request line contains TEXT
                       (default "/blobs/sha256:")
  --methods M,M        ... only requests with these methods (default
                       GET,HEAD; PATCH or PUT fail an upload midway)
  --status-skip N      ... after letting the first N such requests through
  --retry-after VALUE  add "Retry-After: VALUE" to those answers
  --page-tags N        answer GET /v2/<repo>/tags/list itself, N tags a page
                       (sorted, ?n= and ?last= honoured, a Link header to
                       the next page), from the registry's full list: the
                       registry in the tests does not paginate

It forwards bytes as they are; it does not parse HTTP beyond logging.
"""
import argparse
import socket
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("listen", type=int)
ap.add_argument("target", type=int)
ap.add_argument("--rate", type=int, default=0)
ap.add_argument("--cut-after", type=int, default=0)
ap.add_argument("--cut-times", type=int, default=1)
ap.add_argument("--log")
ap.add_argument("--status", type=int, default=0)
ap.add_argument("--status-times", type=int, default=1)
ap.add_argument("--match", default="/blobs/sha256:")
ap.add_argument("--methods", default="GET,HEAD")
ap.add_argument("--status-skip", type=int, default=0)
ap.add_argument("--retry-after")
ap.add_argument("--page-tags", type=int, default=0)
args = ap.parse_args()

lock = threading.Lock()
cuts_done = 0
statuses_done = 0
statuses_seen = 0
REASONS = {429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}
CODES = {429: "TOOMANYREQUESTS", 503: "UNAVAILABLE"}


def tags_page(line):
    """A page of the registry's tag list, as a paginating registry sends it."""
    import json
    import urllib.parse
    import urllib.request
    target = line.split(" ")[1]
    url = urllib.parse.urlsplit(target)
    q = urllib.parse.parse_qs(url.query)
    n = int(q.get("n", [args.page_tags])[0])
    last = q.get("last", [""])[0]
    with urllib.request.urlopen("http://127.0.0.1:%d%s" %
                                (args.target, url.path)) as r:
        doc = json.load(r)
    tags = sorted(t for t in doc.get("tags") or [] if t > last)
    page, more = tags[:n], len(tags) > n
    body = json.dumps({"name": doc["name"], "tags": page}).encode()
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    if more:
        head += ('Link: <%s?n=%d&last=%s>; rel="next"\r\n' %
                 (url.path, n, urllib.parse.quote(page[-1])))
    head += "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    log(line)
    return head.encode() + body


def inject(data):
    """The canned answer for a request in data, or None to forward it."""
    global statuses_done, statuses_seen
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    if args.page_tags and line.startswith("GET ") and "/tags/list" in line:
        return tags_page(line)
    if not args.status:
        return None
    methods = tuple(m + " " for m in args.methods.split(","))
    if not line.startswith(methods) or args.match not in line:
        return None
    with lock:
        if statuses_seen < args.status_skip:
            statuses_seen += 1
            return None
        if statuses_done >= args.status_times:
            return None
        statuses_done += 1
    body = b""
    if not line.startswith("HEAD "):
        body = ('{"errors":[{"code":"%s","message":"injected by tcpproxy"}]}'
                % CODES.get(args.status, "UNKNOWN")).encode()
    head = "HTTP/1.1 %d %s\r\n" % (args.status,
                                   REASONS.get(args.status, "Error"))
    if args.retry_after is not None:
        head += "Retry-After: %s\r\n" % args.retry_after
    head += ("Content-Type: application/json\r\nContent-Length: %d\r\n"
             "Connection: close\r\n\r\n" % len(body))
    log("STATUS %d for %s" % (args.status, line))
    return head.encode() + body


def log(line):
    if args.log:
        with lock, open(args.log, "a") as f:
            f.write(line + "\n")


def drain_body(c, data):
    """Reads the rest of the request whose first bytes are data."""
    head, sep, body = data.partition(b"\r\n\r\n")
    while not sep:
        more = c.recv(65536)
        if not more:
            return
        head, sep, body = (head + more).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    left = length - len(body)
    c.settimeout(10)
    try:
        while left > 0:
            more = c.recv(min(left, 65536))
            if not more:
                return
            left -= len(more)
    finally:
        c.settimeout(None)


def client_to_server(c, s):
    canned = None
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            canned = inject(data)
            if canned is not None:
                # the request's body is read first, as a registry does: a
                # client still sending when the socket closes sees a
                # broken pipe, not the answer the test wants it to handle
                drain_body(c, data)
                c.sendall(canned)
                break
            for line in data.split(b"\r\n"):
                if line.startswith((b"GET ", b"HEAD ", b"PUT ", b"POST ",
                                    b"PATCH ")) or line.lower().startswith(
                                        (b"range:", b"content-range:")):
                    log(line.decode(errors="replace"))
            s.sendall(data)
    except OSError:
        pass
    finally:
        try:
            s.shutdown(socket.SHUT_RDWR if canned is not None else socket.SHUT_WR)
        except OSError:
            pass


def server_to_client(c, s):
    global cuts_done
    sent = 0
    start = time.monotonic()
    try:
        while True:
            data = s.recv(16384)
            if not data:
                break
            if args.cut_after and sent + len(data) > args.cut_after:
                with lock:
                    cut = cuts_done < args.cut_times
                    if cut:
                        cuts_done += 1
                if cut:
                    c.sendall(data[: max(0, args.cut_after - sent)])
                    log("CUT after %d bytes" % args.cut_after)
                    break
            c.sendall(data)
            sent += len(data)
            if args.rate:
                ahead = sent / args.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        pass
    finally:
        for sock in (c, s):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def handle(c):
    try:
        s = socket.create_connection(("127.0.0.1", args.target))
    except OSError:
        c.close()
        return
    threading.Thread(target=client_to_server, args=(c, s), daemon=True).start()
    server_to_client(c, s)


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", args.listen))
srv.listen(64)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
