#!/usr/bin/env python3
"""Local servers for the --network test, all on 127.0.0.1 with ports the OS
picks: plain HTTP (the NCSI probe), HTTPS with the given certificate, and an
SNTP server on UDP (its clock NETSERVERS_NTP_AHEAD seconds ahead, 0 unless
set).  Writes "http https ntp closed" port numbers to PORTFILE,
then serves until it has run for LIFETIME seconds (bounded, never forever).
usage: netservers.py PORTFILE CERT KEY [LIFETIME]"""
import http.server, socket, ssl, struct, sys, threading, time

portfile, cert, key = sys.argv[1:4]
lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 60
ntp_ahead = float(__import__('os').environ.get('NETSERVERS_NTP_AHEAD', '0'))


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'Microsoft Connect Test' if self.path == '/connecttest.txt' else b'apdiag test server'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve(httpd):
    httpd.serve_forever(poll_interval=0.2)


http_srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
https_srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
https_srv.socket = ctx.wrap_socket(https_srv.socket, server_side=True)
ntp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ntp.bind(('127.0.0.1', 0))
ntp.settimeout(0.2)
closed = socket.socket()
closed.bind(('127.0.0.1', 0))       # bound, never listening: connections are refused
for s in (http_srv, https_srv):
    threading.Thread(target=serve, args=(s,), daemon=True).start()
with open(portfile + '.tmp', 'w') as f:
    f.write('%d %d %d %d\n' % (http_srv.server_address[1], https_srv.server_address[1],
                               ntp.getsockname()[1], closed.getsockname()[1]))
import os
os.rename(portfile + '.tmp', portfile)
end = time.time() + lifetime
while time.time() < end:
    try:
        data, addr = ntp.recvfrom(512)
    except socket.timeout:
        continue
    if len(data) < 48:
        continue
    now = time.time() + ntp_ahead + 2208988800
    sec, frac = int(now), int((now % 1) * 2**32)
    reply = struct.pack('!BBbb11I', 0x24, 2, 6, -20, 0, 0, 0x7f000001,
                        sec, frac, *struct.unpack('!II', data[40:48]), sec, frac, sec, frac)
    ntp.sendto(reply, addr)
