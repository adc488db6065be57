"""Networks whose requests the reward server accepts without a bearer token (``--allow-from``).

Some RL clients cannot send a token: OpenRLHF's remote reward client posts to
``--remote_rm_url`` with a ``Content-Type`` header and nothing else. ``serve.allow_from`` lists
the networks (CIDR blocks, or ``loopback``) from which a request *without* an
``Authorization`` header is accepted; a request that does send one is checked as usual
(a wrong token is refused wherever it comes from), and every other network still needs the
token. The peer address is the TCP peer as uvicorn reports it (behind a reverse proxy on the
same host that is the proxy, unless the proxy sets ``X-Forwarded-For``: see docs/serving.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What the keyword ``loopback`` stands for.
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")


def parse_networks(values: Sequence[str]) -> list[IPNetwork]:
    """CIDR blocks (``10.0.0.0/8``, ``::1/128``, a bare address) or ``loopback``; entries may
    also be comma-separated within one string. ValueError names the first bad entry."""
    networks: list[IPNetwork] = []
    for value in values:
        for entry in (part.strip() for part in value.split(",")):
            if not entry:
                continue
            if entry.lower() == "loopback":
                networks += [ipaddress.ip_network(n) for n in LOOPBACK_NETWORKS]
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=True))
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not a network in CIDR form: {exc}") from None
    unique: list[IPNetwork] = []
    for network in networks:
        if network not in unique:
            unique.append(network)
    return unique


class AllowFrom:
    """Decides whether a peer address lies in one of the trusted networks."""

    def __init__(self, values: Sequence[str]) -> None:
        self.networks = parse_networks(values)

    @property
    def enabled(self) -> bool:
        return bool(self.networks)

    def permits(self, host: str | None) -> bool:
        """True when ``host`` (an IP address string) is inside a listed network."""
        if not self.networks or not host:
            return False
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False  # a unix socket path or a name: not an address we can place
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket reports IPv4 peers this way
        return any(address.version == n.version and address in n for n in self.networks)

    def describe(self) -> str:
        return ", ".join(str(n) for n in self.networks) or "nowhere"

    def __repr__(self) -> str:
        return f"AllowFrom({self.describe()})"


__all__ = ["LOOPBACK_NETWORKS", "AllowFrom", "parse_networks"]
