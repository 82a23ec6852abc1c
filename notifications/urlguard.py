"""Where a webhook may be sent: the SSRF rules, applied at creation and again at connection time.

A URL is refused unless it is `https://` (`WEBHOOK_ALLOW_INSECURE_URLS` allows
`http://`) and every address its host resolves to is a public unicast address
(`WEBHOOK_ALLOW_PRIVATE_URLS` lifts that). The host is resolved by the system
resolver, so every spelling it accepts (`localhost`, `2130706433`, `0177.0.0.1`,
`[::ffff:127.0.0.1]`) is judged by the address it means, not by its text. The
sender connects to one of the addresses checked here (`ResolvedTarget`), never
resolving again, so a DNS answer that changes between check and connect (DNS
rebinding) cannot swap in an internal one.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges refused on top of what the ipaddress module calls non-global: shared address
# space (carrier-grade NAT, RFC 6598, where some clouds put their metadata service,
# 100.100.100.200) is "not private" but not global either, and named here so the rule
# reads plainly; so are IETF protocol assignments (192.0.0.0/24, which older Pythons call
# global, though one cloud serves metadata at 192.0.0.192). The IPv6 forms of cloud
# metadata services fall in fc00::/7 (ULA).
_REFUSED_NETWORKS = [
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fc00::/7"),
    ipaddress.ip_network("fe80::/10"),
]
# IPv6 forms that carry an IPv4 address the packet may end up at (NAT64, RFC 6052).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(Exception):
    """The webhook URL may not be used; the message says why, for the merchant."""


@dataclass(frozen=True)
class ResolvedTarget:
    """A URL split for sending: the hostname for Host and SNI, the checked addresses to connect to."""

    scheme: str
    hostname: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_is_public(address: IPAddress) -> bool:
    """Tell whether a webhook may connect to this address: a global unicast one, whatever its form."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None and not address_is_public(embedded):
            return False
    if any(address in network for network in _REFUSED_NETWORKS if network.version == address.version):
        return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def _resolve(hostname: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise UrlRefused(f"The host {hostname!r} does not resolve.") from error
    # getaddrinfo's order is the one to try; duplicates (one per socket type) dropped.
    return tuple(dict.fromkeys(info[4][0] for info in infos))


def url_resolve(url: str) -> ResolvedTarget:
    """Check a webhook URL against the rules and resolve its host once; raise UrlRefused if it fails."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UrlRefused("The URL is not valid.") from error
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_INSECURE_URLS else ("https",)
    if parts.scheme not in allowed:
        raise UrlRefused("The URL must start with https://.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("The URL must not carry credentials; authenticate with the signature.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        for address in addresses:
            # Every address, not just the first: the connection may fall back to any of them.
            if not address_is_public(ipaddress.ip_address(address)):
                raise UrlRefused(f"The host {parts.hostname!r} resolves to an internal address ({address}).")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return ResolvedTarget(scheme=parts.scheme, hostname=parts.hostname, port=port, path=path, addresses=addresses)
