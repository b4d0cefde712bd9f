"""A webhook receiver run as its own process (``python -m tests.reliability.receiver``).

It logs every POST to a JSON-lines file as it arrives (``received``) and when it answers
(``accepted``, or ``duplicate`` for an ``Idempotency-Key`` it already accepted — answered
200 too, as a deduplicating receiver would). ``--hang-first N`` holds the first N requests
open without answering, so a sender can be killed mid-delivery.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--hang-first", type=int, default=0)
    args = parser.parse_args()
    lock = threading.Lock()
    accepted: set[str] = set()
    seen = [0]
    forever = threading.Event()

    def note(entry: dict) -> None:
        with args.log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key", "")
            with lock:
                seen[0] += 1
                hang = seen[0] <= args.hang_first
                note({"event": "received", "key": key, "region": body["groupLabels"]["region"]})
            if hang:
                forever.wait()  # never answers; the sender must give up or die
                return
            with lock:
                duplicate = key in accepted
                accepted.add(key)
                note({"event": "duplicate" if duplicate else "accepted", "key": key})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    note({"event": "listening", "port": args.port})
    server.serve_forever()


if __name__ == "__main__":
    main()
