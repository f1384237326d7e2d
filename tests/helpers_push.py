"""A Web Push service on loopback for the reminder tests (issue 13): a real HTTP server
in a thread that keeps what it receives and answers each subscription's path with the
status the test chose; fake browser subscriptions with real P-256 keys and auth
secrets (``cryptography``), so what arrives is decrypted as a phone would (``http_ece``,
aes128gcm) and its VAPID JWT checked against the server's public key."""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    """One push as the service got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class PushService:
    """The loopback push service: ``answers`` maps a path to the statuses to answer in
    turn (the last one repeats; default 201); ``received`` keeps every request."""

    server: ThreadingHTTPServer
    answers: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def to(self, path: str) -> list[Received]:
        """What reached ``path`` and was accepted (2xx)."""
        return [r for r in self.received if r.path == path and 200 <= r.status < 300]

    def answer(self, path: str) -> int:
        with self.lock:
            queue = self.answers.get(path, [201])
            return queue.pop(0) if len(queue) > 1 else queue[0]


def start_push_service() -> PushService:
    """Start the service on 127.0.0.1 (a free port); stop it with ``server.shutdown()``."""
    service: PushService

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = service.answer(self.path)
            with service.lock:
                service.received.append(
                    Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body, status
                    )
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service = PushService(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return service


@dataclass
class Device:
    """A browser's push subscription with its private key and auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls, endpoint: str) -> Device:
        return cls(endpoint, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def to_json(self, device: str = "测试手机") -> dict:
        """What ``PushSubscription.toJSON()`` gives, plus our ``device`` label."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
            "device": device,
        }

    def decrypt(self, body: bytes) -> dict:
        """The push's JSON payload, decrypted with this device's keys (aes128gcm)."""
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain.decode("utf-8"))


def vapid_claims(authorization: str, public_key: str) -> dict:
    """The claims of a ``vapid t=<JWT>,k=<key>`` Authorization header (RFC 8292), after
    checking that ``k`` is ``public_key`` and that the JWT's ES256 signature verifies
    with it; raises AssertionError otherwise."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == public_key
    header, payload, signature = parts["t"].split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    raw = unb64url(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise AssertionError("VAPID signature does not verify") from exc
    return json.loads(unb64url(payload))
