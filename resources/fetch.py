"""Downloading an image that an integrator gave by URL, without opening a way into our own network.

A URL given to the API is attacker-controlled input: fetched naively it reaches the server's
loopback, the private network, or the cloud metadata service (SSRF). So every hop of a download:

* accepts only http and https URLs of at most MAX_URL_CHARS characters, without credentials, with
  a sane port;
* resolves the host once (bounded by the deadline) and refuses it when ANY of its addresses is
  not public, unless the operator's allow-list names the host, the address or a network holding it;
* connects to exactly the address that was checked, so a second DNS answer (DNS rebinding) is never
  used; https still verifies the certificate against the host name;
* follows redirects by hand, so every Location goes through the same checks;
* gives the whole download one deadline, applied to every socket operation, so a server that
  trickles bytes cannot hold a worker, and stops reading as soon as the body passes max_bytes.

http.client parses the response (status, headers, Content-Length, chunked encoding); the request is
a few fixed lines written by hand. This module does not import Django: settings come in FetchPolicy.
"""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import queue
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote, urljoin, urlsplit

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

USER_AGENT = "FacePortal-fetch/1"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}

_READ_SIZE = 64 * 1024
# NAT64 (RFC 6052): a gateway turns 64:ff9b::a.b.c.d into a.b.c.d, so judge the IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
# Longer URLs are refused before any other look at them: every later step (the checks, the
# percent-encoding, the request line) costs time in proportion, and few servers take request
# lines over 8 KB anyway (gunicorn's limit is 8190 bytes, nginx's 8 KB). Presigned S3 URLs with
# session tokens, the longest seen in practice, stay well under.
MAX_URL_CHARS = 8192
# Control characters could split the request line (header injection); one regex scan, in C.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Printable ASCII except space: kept as is in the request target; anything else is percent-encoded.
_TARGET_SAFE = "".join(chr(code) for code in range(33, 127))


class FetchError(Exception):
    """Base of everything fetch() raises; `reason` is short English for the API's `reason` field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DownloadTimeout(FetchError):
    """The whole download did not finish within the deadline."""


class DownloadError(FetchError):
    """The URL was refused, or the server could not be reached or gave no usable answer."""


class DownloadTooLarge(FetchError):
    """The body exceeds max_bytes."""


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one download, given by the caller (from settings) so this module stays Django-free."""

    timeout: float = 5.0  # TOTAL seconds for everything: DNS, connect, redirects, headers, body
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 3
    # Host names, IP literals or CIDR networks that may be fetched although they are not public.
    allowed_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("FetchPolicy needs timeout > 0, max_bytes > 0 and max_redirects >= 0")
        # A plain set or list from settings would make the frozen policy unhashable and mutable.
        object.__setattr__(self, "allowed_hosts", frozenset(self.allowed_hosts))


DEFAULT_POLICY = FetchPolicy()


def fetch(url: str, policy: FetchPolicy = DEFAULT_POLICY) -> bytes:
    """Return the body of `url`, following at most policy.max_redirects redirects.

    Raises only FetchError subclasses: DownloadError (refused URL or address, HTTP status, network
    or protocol failure, empty body), DownloadTimeout, DownloadTooLarge.
    """
    deadline = _Deadline(policy.timeout)
    allowed = _AllowList(policy.allowed_hosts)
    for _ in range(policy.max_redirects + 1):
        outcome = _get(_parse_url(url), allowed, policy.max_bytes, deadline)
        if outcome.location is None:
            return outcome.body
        url = urljoin(url, outcome.location)
    raise DownloadError("too many redirects")


class _Deadline:
    """One end time for the whole download; every blocking step asks it how long it may wait."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise self.expired()
        return left

    def expired(self) -> DownloadTimeout:
        return DownloadTimeout(f"download did not finish within {self._seconds:g} seconds")


@dataclass(frozen=True)
class _Target:
    """A checked URL: what to resolve, where to connect and what to ask for."""

    scheme: str
    host: str  # lower-case ASCII (IDNA) name, or an IP literal without brackets
    port: int
    path: str  # request target: path and query, ASCII only

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _parse_url(url: str) -> _Target:
    """Refuse anything but a plain http(s) URL of at most MAX_URL_CHARS characters."""
    if len(url) > MAX_URL_CHARS:
        raise DownloadError(f"URL longer than {MAX_URL_CHARS} characters")
    if _CONTROL.search(url):
        raise DownloadError("invalid URL")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise DownloadError("invalid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise DownloadError("only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise DownloadError("URLs with credentials are not allowed")
    try:
        port = parts.port  # None when absent; ValueError when not a number or above 65535
    except ValueError:
        port = 0
    if port is None:
        port = DEFAULT_PORTS[scheme]
    elif not 1 <= port <= 65535:
        raise DownloadError("invalid port")
    path = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_TARGET_SAFE)
    return _Target(scheme, _normalise_host(parts.hostname or ""), port, path)


def _normalise_host(host: str) -> str:
    if not host:
        raise DownloadError("URL has no host")
    if _ip_literal(host) is not None:
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise DownloadError("invalid host name") from None
    if len(ascii_host) > 254 or not _HOST_NAME.fullmatch(ascii_host):
        raise DownloadError("invalid host name")
    return ascii_host


def _ip_literal(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class _AllowList:
    """The operator's exceptions: names match the URL's host, networks match resolved addresses."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.names: set[str] = set()
        self.networks: list[IPNetwork] = []
        for entry in entries:
            text = entry.strip().lower()
            try:
                self.networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
            except ValueError:
                self.names.add(text.rstrip("."))

    def permits(self, host: str, address: IPAddress) -> bool:
        if host.rstrip(".") in self.names:
            return True
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(candidate in network for candidate in candidates for network in self.networks)


def is_public(address: IPAddress) -> bool:
    """True when the address is globally routable, including every IPv4 address embedded in IPv6.

    ipaddress.is_global alone is not enough (in 3.11 multicast and fec0::/10 count as global, and
    6to4 2002:a00:1:: is "global" although it carries 10.0.0.1), hence the explicit checks.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        embedded = [address.sixtofour, *(address.teredo or ())]
        if any(v4 is not None and not is_public(v4) for v4 in embedded) or address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _resolve(host: str, port: int, deadline: _Deadline) -> list[IPAddress]:
    """Addresses of `host`, looked up in a worker thread because getaddrinfo has no timeout.

    A lookup that outlives the deadline is abandoned (its daemon thread ends when the resolver gives
    up); the caller gets DownloadTimeout at the deadline.
    """
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    answers: queue.SimpleQueue[list[IPAddress] | DownloadError] = queue.SimpleQueue()

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            found = [
                ipaddress.ip_address(info[4][0])
                for info in infos
                if info[0] in (socket.AF_INET, socket.AF_INET6)
            ]
            answers.put(list(dict.fromkeys(found)) or DownloadError("host not found"))
        except UnicodeError:
            answers.put(DownloadError("invalid host name"))
        except (OSError, ValueError):
            answers.put(DownloadError("host not found"))

    threading.Thread(target=lookup, name=f"fetch-dns-{host}", daemon=True).start()
    try:
        answer = answers.get(timeout=deadline.remaining())
    except queue.Empty:
        raise deadline.expired() from None
    if isinstance(answer, DownloadError):
        raise answer
    return answer


def _connect(addresses: list[IPAddress], port: int, deadline: _Deadline) -> socket.socket:
    """A TCP connection to one of the checked addresses, by number: no name is resolved again."""
    failure: OSError = OSError("no address")
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect((str(address), port))
            return sock
        except OSError as error:
            sock.close()
            failure = error
        except BaseException:
            sock.close()
            raise
    raise failure


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The default context (system CAs, hostname checking); built once, since loading CAs is slow."""
    return ssl.create_default_context()


class _DeadlineStream(io.RawIOBase):
    """A socket's receiving side where every recv waits only for the time left before the deadline.

    http.client sets no timeout of its own between recv calls, so without this a server sending a
    header byte every few seconds would keep a download alive for ever. HTTPResponse reads through
    `sock.makefile("rb")`, which is the one socket method this stream provides.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self)


class _Outcome(NamedTuple):
    body: bytes
    location: str | None  # set for a redirect, whose body is not read


def _get(target: _Target, allowed: _AllowList, max_bytes: int, deadline: _Deadline) -> _Outcome:
    """One hop: check the addresses, connect to them, send GET, read the answer."""
    addresses = _resolve(target.host, target.port, deadline)
    for address in addresses:
        if not is_public(address) and not allowed.permits(target.host, address):
            raise DownloadError(f"address {address} is not allowed")
    try:
        sock = _connect(addresses, target.port, deadline)
        with sock:
            if target.scheme == "https":
                sock.settimeout(deadline.remaining())
                sock = _tls_context().wrap_socket(sock, server_hostname=target.host)
            with sock:
                return _exchange(sock, target, max_bytes, deadline)
    except FetchError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise _translate(error, deadline) from error


def _exchange(sock: socket.socket, target: _Target, max_bytes: int, deadline: _Deadline) -> _Outcome:
    request = (
        f"GET {target.path} HTTP/1.1\r\n"
        f"Host: {target.host_header}\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        "Accept: image/*\r\n"
        "Accept-Encoding: identity\r\n"
        "Connection: close\r\n\r\n"
    )
    sock.settimeout(deadline.remaining())
    sock.sendall(request.encode("ascii"))
    stream = _DeadlineStream(sock, deadline)
    # HTTPResponse only calls makefile("rb") on what it is given as its socket.
    response = http.client.HTTPResponse(stream, method="GET")  # type: ignore[arg-type]
    with response:
        response.begin()
        if response.status in REDIRECT_STATUSES:
            location = response.getheader("Location")
            if not location:
                raise DownloadError(f"HTTP status {response.status} without a Location header")
            return _Outcome(b"", location.strip())
        if not 200 <= response.status < 300:
            raise DownloadError(f"HTTP status {response.status}")
        return _Outcome(_read_body(response, max_bytes), None)


def _read_body(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    """The body, refused as soon as it is announced or found to be larger than max_bytes."""
    announced = response.length  # None when chunked or delimited by the connection closing
    if announced is not None and announced > max_bytes:
        raise DownloadTooLarge(f"body of {announced} bytes exceeds the limit of {max_bytes} bytes")
    body = bytearray()
    while chunk := response.read(min(_READ_SIZE, max_bytes + 1 - len(body))):
        body += chunk
        if len(body) > max_bytes:
            raise DownloadTooLarge(f"body exceeds the limit of {max_bytes} bytes")
    if announced is not None and len(body) < announced:
        # http.client returns a short body silently when the connection closes early.
        raise DownloadError("connection closed before the end of the body")
    if not body:
        raise DownloadError("empty response")
    return bytes(body)


def _translate(error: Exception, deadline: _Deadline) -> FetchError:
    """Short, stable reasons for the API instead of library exceptions (order matters: subclasses)."""
    if isinstance(error, TimeoutError):
        return deadline.expired()
    if isinstance(error, ssl.SSLCertVerificationError):
        return DownloadError(f"TLS certificate verification failed: {error.verify_message}")
    if isinstance(error, ssl.SSLError):
        return DownloadError("TLS handshake failed")
    if isinstance(error, http.client.RemoteDisconnected):
        return DownloadError("server closed the connection without a response")
    if isinstance(error, http.client.IncompleteRead):
        return DownloadError("connection closed before the end of the body")
    if isinstance(error, http.client.HTTPException | ValueError):
        return DownloadError("malformed HTTP response")
    if isinstance(error, ConnectionRefusedError):
        return DownloadError("connection refused")
    if isinstance(error, ConnectionResetError):
        return DownloadError("connection reset by the server")
    detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return DownloadError(f"network error: {detail}")
