"""IPv4 addresses as tcpsim's hosts have them: dotted quads, one per host."""

from __future__ import annotations

import ipaddress
import socket as _pysocket
from typing import Container

_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_FIRST_HOST = int(ipaddress.IPv4Address("10.0.0.1"))


def check_host_address(address: str) -> None:
    """A host's own address: dotted IPv4, and one a single host can have."""
    if not isinstance(address, str):     # IPv4Address(5) would read an int as 0.0.0.5
        raise TypeError(f"address must be a str like '10.0.0.9', not {type(address).__name__}")
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        raise ValueError(f"address must be a dotted IPv4 address like 10.0.0.9, not {address!r}") from None
    for test, what in ((ip.is_unspecified, "means any address"), (ip == _BROADCAST, "is broadcast"),
                       (ip.is_loopback, "is loopback (each host's own)"), (ip.is_multicast, "is multicast")):
        if test:
            raise ValueError(f"{address} {what}: give a host a unicast address like 10.0.0.9")


def next_free_address(taken: Container[str]) -> str:
    """The first of 10.0.0.1, 10.0.0.2, ... 10.0.1.0, ... not in ``taken``."""
    n = _FIRST_HOST
    while str(ipaddress.IPv4Address(n)) in taken:
        n += 1
    return str(ipaddress.IPv4Address(n))


def ipv4_literal(name: str) -> str | None:
    """``name`` as a dotted-quad address if it is one (as getaddrinfo reads it), else None."""
    try:
        return _pysocket.inet_ntoa(_pysocket.inet_aton(name))
    except (OSError, ValueError):
        return None
