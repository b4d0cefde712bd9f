"""Notifiers against real receivers on 127.0.0.1: an HTTP server that fails then accepts,
one that hangs, one that refuses, and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alerts.evaluate import evaluate_alerts
from alerts.notifiers import EmailNotifier, LogNotifier, WebhookNotifier, notifiers_from_config
from alerts.rules import AlertConfig, EmailSettings, WebhookSettings
from alerts.state import list_alerts, list_deliveries
from tests.alerts.conftest import risk


class Receiver:
    """A real webhook receiver: answers ``fail_first`` requests with 500, then 200.

    ``hang`` makes it hold every request open (until the test ends) without answering;
    ``status`` replaces the 200 (e.g. 400 to refuse).
    """

    def __init__(self, fail_first: int = 0, hang: bool = False, status: int = 200) -> None:
        self.fail_first, self.hang, self.status = fail_first, hang, status
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(json.loads(body))
                if receiver.hang:
                    receiver.release.wait(30)
                    return
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else receiver.status)
                self.end_headers()
                self.wfile.write(b"boom" if failing else b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def fire(engine, notifiers, refit="r1", value=0.8):
    config = AlertConfig(threshold=0.5, resolve_below=0.3, generator_url="http://x/bulletin")
    return evaluate_alerts(
        engine, risk({"ML05": value}), refit_id=refit, config=config, notifiers=notifiers
    )


def test_webhook_retries_500s_then_delivers_once(engine):
    with Receiver(fail_first=2) as receiver:
        hook = WebhookNotifier(
            WebhookSettings(url=receiver.url, timeout_s=2, max_attempts=4, backoff_s=0.05),
            generator_url="http://x/bulletin",
        )
        [transition] = fire(engine, [hook])
        assert len(receiver.requests) == 3  # 500, 500, 200
        # Evaluating the same refit again sends nothing more.
        assert fire(engine, [hook]) == []
        assert len(receiver.requests) == 3
        [resolved] = fire(engine, [hook], refit="r2", value=0.1)
        assert len(receiver.requests) == 4
    assert transition.delivery_status == "delivered"
    attempts = list_deliveries(engine, transition_id=transition.id)
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in attempts] == [
        (1, "retry", 500),
        (2, "retry", 500),
        (3, "delivered", 200),
    ]
    payload = receiver.requests[2]
    assert payload["version"] == "4" and payload["status"] == "firing"
    [alert] = payload["alerts"]
    assert alert["labels"]["region"] == "ML05" and alert["labels"]["alertname"]
    assert alert["fingerprint"] == transition.fingerprint
    assert alert["startsAt"].endswith("Z") and alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["generatorURL"] == "http://x/bulletin"
    assert float(alert["annotations"]["value"]) == pytest.approx(0.8)
    [ended] = receiver.requests[3]["alerts"]
    assert ended["status"] == "resolved" and ended["endsAt"] != "0001-01-01T00:00:00Z"
    assert ended["startsAt"] == alert["startsAt"] and ended["fingerprint"] == alert["fingerprint"]
    assert resolved.delivery_status == "delivered"


def test_backoff_is_exponential_and_capped():
    hook = WebhookNotifier(
        WebhookSettings(url="http://127.0.0.1:9/", backoff_s=0.5, backoff_max_s=3.0)
    )
    assert [hook.backoff(k) for k in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.timeout(60)  # a webhook timeout that did not work would hang here, not pass
def test_a_hanging_webhook_times_out_and_the_failure_is_recorded(engine):
    with Receiver(hang=True) as receiver:
        hook = WebhookNotifier(
            WebhookSettings(url=receiver.url, timeout_s=0.4, max_attempts=2, backoff_s=0.05)
        )
        [transition] = fire(engine, [LogNotifier(), hook])
    assert transition.delivery_status == "partial"  # the log got it, the webhook did not
    webhook = [d for d in list_deliveries(engine) if d["notifier"] == "webhook"]
    assert [(d["attempt"], d["outcome"]) for d in webhook] == [(1, "retry"), (2, "failed")]
    assert all("timed out" in d["error"] for d in webhook)
    # The alert itself fired and stays recorded even though the webhook failed.
    assert list_alerts(engine)[0]["state"] == "firing"


def test_a_refusing_webhook_is_not_retried(engine):
    with Receiver(status=400) as receiver:
        hook = WebhookNotifier(WebhookSettings(url=receiver.url, max_attempts=4, backoff_s=0))
        [transition] = fire(engine, [hook])
        assert len(receiver.requests) == 1
    assert transition.delivery_status == "failed"
    [attempt] = list_deliveries(engine)
    assert attempt["outcome"] == "failed" and attempt["status_code"] == 400


def test_nothing_listening_is_a_recorded_failure(engine):
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = WebhookNotifier(
        WebhookSettings(url=f"http://127.0.0.1:{port}/", max_attempts=2, backoff_s=0)
    )
    [transition] = fire(engine, [hook])
    assert transition.delivery_status == "failed"
    assert [d["outcome"] for d in list_deliveries(engine)] == ["retry", "failed"]


def test_notifiers_from_config():
    plain = notifiers_from_config(AlertConfig())
    assert [n.name for n in plain] == ["log"]
    full = AlertConfig(
        webhook=WebhookSettings(url="http://127.0.0.1:9/"),
        email=EmailSettings(host="127.0.0.1", recipients=["oncall@example.org"]),
    )
    assert [n.name for n in notifiers_from_config(full)] == ["log", "webhook", "email"]


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[Any]]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping the messages it receives."""
    controller_module = pytest.importorskip(
        "aiosmtpd.controller", reason="aiosmtpd (dev dependency) is not installed"
    )
    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            received.append(envelope)
            return "250 Message accepted for delivery"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = controller_module.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def test_email_is_sent_through_a_real_smtp_server(engine, smtp_server):
    port, received = smtp_server
    mail = EmailNotifier(
        EmailSettings(host="127.0.0.1", port=port, recipients=["oncall@example.org"]),
        generator_url="http://x/bulletin",
    )
    [transition] = fire(engine, [mail])
    assert transition.delivery_status == "delivered"
    [envelope] = received
    assert envelope.rcpt_tos == ["oncall@example.org"]
    text = envelope.content.decode()
    assert "[FIRING]" in text and "ML05" in text and "http://x/bulletin" in text


def test_email_to_a_dead_server_is_a_recorded_failure(engine):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mail = EmailNotifier(
        EmailSettings(host="127.0.0.1", port=port, recipients=["a@example.org"], timeout_s=2)
    )
    [transition] = fire(engine, [mail])
    assert transition.delivery_status == "failed"
    [attempt] = list_deliveries(engine)
    assert attempt["notifier"] == "email" and attempt["outcome"] == "failed"
