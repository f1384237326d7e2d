"""The HTTP session the sender POSTs pushes with: it connects only to addresses on the
internet and follows no redirect.

A subscription's endpoint is a URL a user gave (``subscriptions.check_endpoint`` refuses
address literals of this machine or a private network), but a host name may resolve to
such an address (``127.0.0.1.nip.io``, a DNS record changed after the check), and a push
service could answer with a redirect to one. So the address is checked again on the
connected socket itself, after DNS and before a byte is sent (no second lookup to race
with), and a redirect is an error (``requests.TooManyRedirects``), never followed.

Through a proxy (``HTTPS_PROXY`` in the environment) the socket's peer is the proxy,
which is the operator's choice: the proxy decides where it connects."""

from __future__ import annotations

import ipaddress

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError


def allowed_address(text: str, loopback: bool = False) -> bool:
    """True when the IP address ``text`` is on the internet (``is_global``, an
    IPv4-mapped IPv6 address judged as its IPv4 address); loopback ones too when
    ``loopback`` (tests)."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global or (loopback and address.is_loopback)


def _checked(conn, sock):
    if getattr(conn, "proxy", None) is not None:
        return sock
    peer = sock.getpeername()[0]
    if not allowed_address(peer, conn.allow_loopback):
        sock.close()
        raise NewConnectionError(conn, f"refused: {conn.host} is at {peer}, not on the internet")
    return sock


class _PublicHTTPConnection(HTTPConnection):
    allow_loopback = False

    def _new_conn(self):
        return _checked(self, super()._new_conn())


class _PublicHTTPSConnection(HTTPSConnection):
    allow_loopback = False

    def _new_conn(self):
        return _checked(self, super()._new_conn())


def _adapter(loopback: bool) -> HTTPAdapter:
    # Named as urllib3's own: the names appear in the errors that are logged.
    http_conn = type("HTTPConnection", (_PublicHTTPConnection,), {"allow_loopback": loopback})
    https_conn = type("HTTPSConnection", (_PublicHTTPSConnection,), {"allow_loopback": loopback})
    http_pool = type("HTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("HTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}

    return Adapter()


def push_session(loopback: bool = False) -> requests.Session:
    """A ``requests.Session`` that connects only to internet addresses (loopback too
    when ``loopback``: the tests' push service) and raises ``requests.TooManyRedirects``
    on a redirect instead of following it. Not shared between threads."""
    session = requests.Session()
    session.max_redirects = 0
    adapter = _adapter(loopback)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
