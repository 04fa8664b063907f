#!/usr/bin/env python3
"""A forwarding HTTP proxy on 127.0.0.1 that logs what it is asked (tests).

Usage: httpproxy.py LISTEN_PORT LOG_FILE

CONNECT host:port is answered 200 and then relayed byte for byte (HTTPS
through the proxy); a request in absolute form (GET http://host:port/path)
is sent on, as it is, to host:port. Each request line is appended to
LOG_FILE. Only 127.0.0.1 targets are allowed.
"""
import socket
import sys
import threading


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def read_head(conn):
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def handle(conn, log):
    head, rest = read_head(conn)
    if head is None:
        conn.close()
        return
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    with open(log, "a") as f:
        f.write(line + "\n")
    method, target, _ = line.split(" ", 2)
    if method == "CONNECT":
        host, port = target.rsplit(":", 1)
    else:
        hostport = target.split("://", 1)[1].split("/", 1)[0]
        host, _, port = hostport.partition(":")
        port = port or "80"
    if host not in ("127.0.0.1", "localhost"):
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    up = socket.create_connection(("127.0.0.1", int(port)))
    if method == "CONNECT":
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            up.sendall(rest)
    else:
        # one request per connection: the registry keeps it alive, but the
        # next request line of the client must be logged too
        lines = head.split(b"\r\n")
        lines = [l for l in lines if not l.lower().startswith(b"proxy-connection:")
                 and not l.lower().startswith(b"connection:")]
        lines.append(b"Connection: close")
        up.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + rest)
    threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
    pipe(conn, up)


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, log), daemon=True).start()


if __name__ == "__main__":
    main()
