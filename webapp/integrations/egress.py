"""Outbound calls to addresses someone typed (webhook endpoints): public internet only.

A URL an admin enters must not become a way into our own network (SSRF): loopback, private
(10/8, 172.16/12, 192.168/16), link-local (169.254/16, the cloud metadata service), carrier-grade
NAT, multicast and reserved addresses are refused — at creation (``check_url``) and again at
every delivery (``PublicAddressAdapter``). The adapter resolves the host once, refuses it if
*any* of its addresses is not public, and connects to the address it checked (TLS still
verifies the certificate against the host name), so a DNS answer that changes between the
check and the connection (rebinding) cannot reach a private address.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter


class EgressRefused(Exception):
    """The URL points (or resolves) to an address we never call. ``message`` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (such as the cloud metadata service)"
    if address.is_private:
        return "a private network address"
    if address.is_multicast:
        return "a multicast address"
    return "a reserved address"


def _allowed(address, allow_loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if allow_loopback and address.is_loopback:
        return True
    return address.is_global and not address.is_multicast


def resolve_public(host: str, port: int, *, allow_loopback: bool = False) -> str:
    """Return the address to connect to, or raise EgressRefused naming why not."""
    if not host:
        raise EgressRefused("The URL has no host name.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EgressRefused(f"The host name {host} does not resolve.") from exc
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not _allowed(address, allow_loopback):
            raise EgressRefused(
                f"{host} is {_refusal(address)} ({address}); we only call the public internet."
            )
        addresses.append(str(address))
    return addresses[0]


def check_url(url: str, *, allow_http: bool, allow_loopback: bool) -> None:
    """Refuse a URL we would never call: not https (unless allowed), or not public."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_http):
        raise EgressRefused("The URL must start with https://.")
    if parts.username or parts.password:
        raise EgressRefused("The URL must not contain a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise EgressRefused("The URL's port is not a number between 1 and 65535.") from exc
    resolve_public(parts.hostname or "", port, allow_loopback=allow_loopback)


class PublicAddressAdapter(HTTPAdapter):
    """A requests adapter that connects only to the public address it checked."""

    def __init__(self, *, allow_loopback: bool = False, **kwargs) -> None:
        self.allow_loopback = allow_loopback
        self._pinned = threading.local()
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._pinned.address = resolve_public(
            parts.hostname or "", port, allow_loopback=self.allow_loopback
        )
        request.headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
        return super().send(request, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        name = host_params["host"]
        if host_params["scheme"] == "https":
            # Connect to the checked address; verify the certificate against the name.
            pool_kwargs["server_hostname"] = name
            pool_kwargs["assert_hostname"] = name
        host_params["host"] = self._pinned.address
        return host_params, pool_kwargs
