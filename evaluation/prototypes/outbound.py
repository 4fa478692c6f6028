"""Outbound calls to a team's model server, made server-side with the guards a URL typed by
a user needs (the risk is server-side request forgery):

* only http(s), and only to a host on the organization's allow-list;
* the host's name is resolved once and *every* address it resolves to is checked: private,
  loopback, link-local and other non-global addresses are refused unless the allow-list
  entry explicitly permits them; the connection is then made to the checked address (the
  name is only sent as `Host` and, for https, as SNI and for the certificate check), so a
  second lookup cannot answer differently (DNS rebinding);
* a timeout on connecting and on each read, and a total deadline for the whole answer;
* the answer is read in chunks and refused once it passes the size cap;
* redirects are never followed.

No Django model is used here: the caller passes the allow-list as a mapping, so this is
testable as plain functions.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

CHUNK_BYTES = 64 * 1024


class OutboundError(Exception):
    """A call that was refused or failed; the message is meant for the person who made it."""


@dataclass(frozen=True)
class HostRule:
    """An allow-list entry: `host` (a name or an IP literal, lower case) and whether it may
    resolve to private, loopback or link-local addresses."""

    host: str
    allow_private: bool = False


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes
    elapsed_ms: float

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            snippet = self.body[:200].decode("utf-8", "replace")
            raise OutboundError(
                f"The model server's answer is not JSON (it starts with {snippet!r})."
            ) from None


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundError(f"The host {host!r} could not be resolved ({exc.strerror}).") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_target(
    url: str, *, rules: Mapping[str, HostRule], resolver: Resolver = system_resolver
) -> tuple[str, int, str, str]:
    """(scheme, port, host name, address to connect to) for `url`, or `OutboundError`
    saying why it is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundError("Only http:// and https:// model servers can be called.")
    if parts.username or parts.password:
        raise OutboundError("Put credentials in the endpoint's headers, not in its URL.")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise OutboundError("The endpoint URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundError("The endpoint URL has an invalid port.") from None
    rule = rules.get(host)
    if rule is None:
        raise OutboundError(
            f"The host {host!r} is not on this organization's allow-list of model servers; "
            "an organization admin can add it on the prototype hosts page."
        )
    addresses = resolver(host, port)
    if not addresses:
        raise OutboundError(f"The host {host!r} resolved to no address.")
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
        if not _is_public(address) and not rule.allow_private:
            raise OutboundError(
                f"The host {host!r} resolves to {address}, a private, loopback or link-local "
                "address; calls there are refused unless an admin allows private addresses "
                "for this host."
            )
    return parts.scheme, port, host, addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, not the pinned address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(
    url: str,
    payload: Any,
    *,
    headers: Mapping[str, str] | None = None,
    rules: Mapping[str, HostRule],
    timeout: float,
    max_bytes: int,
    resolver: Resolver = system_resolver,
) -> OutboundResponse:
    """POST `payload` as JSON to `url` under the guards above. Answers with a status other
    than 2xx are errors too, with the start of the server's message."""
    scheme, port, host, address = check_target(url, rules=rules, resolver=resolver)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, timeout=timeout)
    body = json.dumps(payload).encode()
    send_headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "mlprojects-prototype/1",
        **(headers or {}),
    }
    started = time.monotonic()
    deadline = started + timeout
    try:
        connection.request("POST", path, body=body, headers=send_headers)
        response = connection.getresponse()
        if 300 <= response.status < 400:
            location = response.getheader("Location") or ""
            target = urljoin(url, location)
            other = (urlsplit(target).hostname or "").lower() != host
            where = "another host" if other else "another address"
            raise OutboundError(
                f"The model server answered with a redirect ({response.status}) to {where}: "
                f"{target}. Redirects are not followed; point the endpoint at the final URL."
            )
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise OutboundError(_too_large(max_bytes))
        chunks, size = [], 0
        while True:
            if time.monotonic() > deadline:
                raise OutboundError(_timed_out(timeout))
            chunk = response.read1(CHUNK_BYTES) if hasattr(response, "read1") else b""
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise OutboundError(_too_large(max_bytes))
            chunks.append(chunk)
    except TimeoutError:
        raise OutboundError(_timed_out(timeout)) from None
    except ssl.SSLError as exc:
        raise OutboundError(f"The TLS connection to {host} failed: {exc.reason}.") from None
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        raise OutboundError(
            f"The model server at {host}:{port} could not be reached: {exc}."
        ) from None
    finally:
        connection.close()
    elapsed_ms = (time.monotonic() - started) * 1000
    data = b"".join(chunks)
    if not 200 <= response.status < 300:
        snippet = data[:300].decode("utf-8", "replace")
        raise OutboundError(f"The model server answered {response.status}: {snippet}")
    return OutboundResponse(status=response.status, body=data, elapsed_ms=elapsed_ms)


def _too_large(max_bytes: int) -> str:
    return (
        f"The model server's answer is larger than {max_bytes} bytes "
        "(PROTOTYPE_MAX_RESPONSE_BYTES); it was not read further."
    )


def _timed_out(timeout: float) -> str:
    return (
        f"The model server did not answer within {timeout:g} seconds (PROTOTYPE_TIMEOUT_SECONDS)."
    )
