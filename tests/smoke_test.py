"""The smoke test's own test: it passes against the local stack, and fails, saying what to do,
against a stack that is down, with a wrong token, and against a stack whose callback route takes
a callback with a bad signature (a stand-in in front of the local stack that accepts them).

    SMOKE_API=http://127.0.0.1:19000 SMOKE_TOKEN=<operator token> .venv/bin/python -m unittest tests/smoke_test.py
"""

import http.server
import os
import socket
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "scripts" / "smoke.py"


def smoke(api, token, *extra):
    run = subprocess.run([sys.executable, str(SMOKE), "--api", api, "--token", token, *extra],
                         capture_output=True, text=True, timeout=120)
    return run.returncode, run.stdout + run.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TakesForgedCallbacks(http.server.BaseHTTPRequestHandler):
    """The local stack, but for a callback route that answers 200 to anything."""

    upstream = ""

    def forward(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command == "POST" and self.path.startswith("/telesign/"):
            self.answer(200, {"content-type": "application/json"}, b'{"result":"stored"}')
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.upstream + self.path, data=body, method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                self.answer(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            self.answer(e.code, dict(e.headers), e.read())

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = forward

    def log_message(self, *_):
        pass


class Smoke(unittest.TestCase):
    api = os.environ.get("SMOKE_API", "")
    token = os.environ.get("SMOKE_TOKEN", "")

    def setUp(self):
        if not self.api or not self.token:
            self.fail("SMOKE_API and SMOKE_TOKEN: the local stack's URL and an operator's token (scripts/test.sh sets them)")

    def test_the_local_stack_passes(self):
        code, out = smoke(self.api, self.token)
        self.assertEqual(code, 0, out)
        self.assertIn("passed", out)

    def test_a_stack_that_is_down_fails_saying_so(self):
        code, out = smoke(f"http://127.0.0.1:{free_port()}", self.token)
        self.assertEqual(code, 1, out)
        self.assertIn("nothing answers", out)
        self.assertIn("is the stack deployed", out)

    def test_a_wrong_token_fails_saying_which_token_to_give(self):
        code, out = smoke(self.api, "not-a-token")
        self.assertEqual(code, 1, out)
        self.assertIn("the token was refused", out)
        self.assertIn("operator's ID token", out)

    def test_a_callback_route_that_takes_a_bad_signature_fails_as_a_security_fault(self):
        TakesForgedCallbacks.upstream = self.api
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TakesForgedCallbacks)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            code, out = smoke(f"http://127.0.0.1:{server.server_address[1]}", self.token)
        finally:
            server.shutdown()
        self.assertEqual(code, 1, out)
        self.assertIn("SECURITY: a callback with a bad signature was accepted", out)


if __name__ == "__main__":
    unittest.main()
