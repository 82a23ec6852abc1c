"""The SSRF rules: which URLs a webhook may be sent to, however the address is spelled."""

import ipaddress

import pytest

from notifications.urlguard import UrlRefused, address_is_public, url_resolve

REFUSED_ADDRESSES = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local: the cloud metadata service
    "169.254.1.1",
    "100.64.0.1",  # shared address space (CGNAT)
    "100.100.100.200",  # a cloud metadata service inside it
    "0.0.0.0",  # noqa: S104 (unspecified)
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.0.192",  # IETF protocol assignments (a metadata address too)
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",  # link-local
    "fc00::1",  # unique local
    "fd00:ec2::254",  # the IPv6 cloud metadata service (ULA)
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::ffff:8.8.8.8",  # any IPv4-mapped form: a receiver has a plain IPv4 or IPv6 address
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2001:db8::1",  # documentation
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_internal_addresses_are_refused(address):
    assert not address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",  # a name that resolves to loopback
        "https://localhost.:8443/hook",
        "https://2130706433/hook",  # 127.0.0.1 as one decimal number
        "https://0x7f000001/hook",  # ... in hex
        "https://0177.0.0.1/hook",  # ... in octal
        "https://127.1/hook",  # ... shortened
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:a9fe:a9fe]/latest/meta-data",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00:ec2::254]/latest/meta-data",
        "https://10.0.0.5/hook",
        "https://100.100.100.200/hook",
        "https://0.0.0.0/hook",
        "https://[fe80::1%25lo]/hook",
    ],
)
def test_urls_resolving_to_internal_addresses_are_refused(url):
    with pytest.raises(UrlRefused, match=r"internal address|does not resolve"):
        url_resolve(url)


@pytest.mark.parametrize(
    "url",
    ["http://93.184.215.14/hook", "ftp://93.184.215.14/hook", "file:///etc/passwd", "//93.184.215.14/x", "gopher://x/"],
)
def test_only_https_is_allowed(url):
    with pytest.raises(UrlRefused, match="https://"):
        url_resolve(url)


@pytest.mark.parametrize("url", ["https:///hook", "https://user:pass@93.184.215.14/hook", "https://[::1/hook"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(UrlRefused):
        url_resolve(url)


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(UrlRefused, match="does not resolve"):
        url_resolve("https://no-such-host.invalid/hook")


def test_a_public_address_resolves_to_itself_with_host_port_and_path():
    target = url_resolve("https://93.184.215.14:8443/hooks?a=1")
    assert (target.hostname, target.port, target.path, target.addresses) == (
        "93.184.215.14",
        8443,
        "/hooks?a=1",
        ("93.184.215.14",),
    )


def test_http_and_internal_addresses_are_allowed_by_the_development_settings(settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert url_resolve("http://localhost:8080/hook").addresses[0] in ("127.0.0.1", "::1")


def test_insecure_urls_alone_still_refuse_internal_addresses(settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True
    with pytest.raises(UrlRefused, match="internal address"):
        url_resolve("http://127.0.0.1:8080/hook")
