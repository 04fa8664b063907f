#!/usr/bin/env python3
"""A tiny token service for the registry's `auth: token` mode (tests only).

Usage: token_issuer.py PORT KEY.pem CERT.pem ISSUER USER:PASSWORD

GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]
  - with Basic credentials USER:PASSWORD: a token granting every scope asked
    for;
  - with other credentials: 401;
  - anonymous: a token granting nothing (the registry then refuses).
The JWT is RS256-signed with KEY through the openssl CLI (no third-party
Python modules) and carries CERT in its x5c header, which the registry
checks against its rootcertbundle. Every request is appended to
$TOKEN_LOG when set (one line: the query and whether credentials matched).
"""
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORT, KEY, CERT, ISSUER, CREDS = sys.argv[1:6]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64():
    pem = open(CERT).read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END")[0]
    return "".join(body.split())


X5C = cert_der_b64()


def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [X5C]}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode()))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY],
                         input=signing_input.encode(), capture_output=True,
                         check=True).stdout
    return signing_input + "." + b64url(sig)


def parse_scope(s):
    parts = s.split(":")
    if len(parts) < 3:
        return None
    return {"type": parts[0], "name": ":".join(parts[1:-1]),
            "actions": [a for a in parts[-1].split(",") if a]}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/token":
            self.send_error(404)
            return
        q = parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        who = "anonymous"
        if auth.startswith("Basic "):
            try:
                given = base64.b64decode(auth[6:]).decode()
            except ValueError:
                given = ""
            if given != CREDS:
                self.log_line(q, "refused")
                body = json.dumps({"details": "incorrect username or password"})
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())
                return
            who = CREDS.split(":")[0]
        access = []
        if who != "anonymous":
            for s in q.get("scope", []):
                for one in s.split(" "):
                    a = parse_scope(one)
                    if a:
                        access.append(a)
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": who, "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        token = sign(claims)
        self.log_line(q, who)
        body = json.dumps({"token": token, "access_token": token,
                           "expires_in": 300})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_line(self, q, who):
        path = os.environ.get("TOKEN_LOG")
        if path:
            with open(path, "a") as f:
                f.write("%s %s\n" % (who, " ".join(q.get("scope", []))))


ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
