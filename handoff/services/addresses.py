"""Where a webhook may be sent (SPEC §14): only to public addresses, checked when subscribing and
again when connecting, and the connection goes to the address that was checked."""

import ipaddress
import socket

import httpx


class NotPublic(ValueError):
    """The host is, or resolves to, an address inside (loopback, private, link-local …)."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address the host names (an IP literal, however spelled, names itself)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def check_host(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The host's addresses, each checked; raises NotPublic for any inside one, OSError when the
    name does not resolve."""
    addresses = resolve(host.strip("[]"), port)
    if not allow_private:
        inside = [a for a in addresses if not is_public(a)]
        if inside:
            raise NotPublic(f"{host} is an address inside a private network ({inside[0]})")
    return addresses


class CheckedTransport(httpx.BaseTransport):
    """Resolves each request's host when connecting, checks every address, and connects to the
    address it checked (the Host header and the TLS name stay the host's)."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        address = check_host(url.host, port, allow_private=self.allow_private)[0]
        aimed = httpx.Request(
            request.method,
            url.copy_with(host=address),
            headers=request.headers,
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": url.host},
        )
        return self.inner.handle_request(aimed)

    def close(self) -> None:
        self.inner.close()
