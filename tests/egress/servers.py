#!/usr/bin/env python3
"""Stand-ins for the Internet and the VM's host, for tests/e2e/egress.rs, run as root inside
the test's own network namespace (never the machine's): HTTP on 127.0.0.1:80, HTTPS on
127.0.0.1:443 (names from the test's /etc/hosts: allowed.test, denied.test, ...), two
"host services" on 192.168.5.2 (Lima's host address) ports 8000 and 8001, the VM's own
services on 127.0.0.1 ports 8080 and 8081, and UDP
listeners on port 53 that record every datagram (a DNS tunnel would show up there).
Stops by itself after a time limit. Usage: servers.py DIR (cert.pem, key.pem inside; writes
ready, requests.log and udp.log there)."""
import http.server
import os
import socket
import ssl
import sys
import threading
import time

DIR = sys.argv[1]
LIMIT = 120


class Hello(http.server.BaseHTTPRequestHandler):
    def record(self):
        with open(os.path.join(DIR, "requests.log"), "a") as f:
            f.write(f"{self.command} {self.headers.get('Host', '?')} {self.path}\n")

    def do_POST(self):
        # An API that refuses: agents give up at once on a 400 (no retries).
        self.record()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"type":"error","error":{"type":"invalid_request_error","message":"shimctl test server"}}'
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.record()
        body = f"hello from {self.headers.get('Host', '?')} port {self.server.server_port}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(host, port, tls=False):
    server = http.server.ThreadingHTTPServer((host, port), Hello)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(DIR, "cert.pem"), os.path.join(DIR, "key.pem"))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def record_udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))

    def loop():
        while True:
            data, peer = s.recvfrom(65535)
            with open(os.path.join(DIR, "udp.log"), "a") as f:
                f.write(f"{host}:{port} got {len(data)} bytes from {peer}\n")

    threading.Thread(target=loop, daemon=True).start()


serve("127.0.0.1", 80)
serve("127.0.0.1", 443, tls=True)
serve("192.168.5.2", 8000)
serve("192.168.5.2", 8001)
# Services of the VM itself (on its loopback), for `localhost:PORT` rules.
serve("127.0.0.1", 8080)
serve("127.0.0.1", 8081)
for host in ("127.0.0.53", "192.168.5.2"):
    record_udp(host, 53)
open(os.path.join(DIR, "udp.log"), "a").close()
open(os.path.join(DIR, "ready"), "w").close()
time.sleep(LIMIT)
