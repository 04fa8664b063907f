#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that misbehaves on purpose (tests only).

Usage: tcpproxy.py LISTEN_PORT TARGET_PORT [options]
  --rate BYTES_PER_S   throttle server-to-client bytes (per connection)
  --cut-after N        close a connection once it has sent N bytes of a
                       response to the client ...
  --cut-times K        ... for the first K such connections (default 1)
  --log FILE           append each request line and Range header seen

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
args = ap.parse_args()

lock = threading.Lock()
cuts_done = 0


def log(line):
    if args.log:
        with lock, open(args.log, "a") as f:
            f.write(line + "\n")


def client_to_server(c, s):
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            for line in data.split(b"\r\n"):
                if line.startswith((b"GET ", b"HEAD ", b"PUT ", b"POST ",
                                    b"PATCH ")) or line.lower().startswith(
                                        b"range:"):
                    log(line.decode(errors="replace"))
            s.sendall(data)
    except OSError:
        pass
    finally:
        try:
            s.shutdown(socket.SHUT_WR)
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
