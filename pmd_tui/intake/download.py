"""Downloading submitted links safely: untrusted URLs, resumable, with size and time limits.

Links come from public issues, so every hop (the link and each redirect) must be http(s) and must not
point at a private, loopback or link-local address (unless ``PMD_ALLOW_PRIVATE_URLS=1``, for tests and
closed networks). Redirects are followed by hand so each one is checked. A broken transfer is resumed with
a Range request, within the run and by the next run (the ``.part`` file stays in the downloads folder).
"""

from __future__ import annotations

import hashlib
import html.parser
import ipaddress
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import httpcore
import httpx

from pmd_tui.config import Limits
from pmd_tui.errors import InputError, NetworkError
from pmd_tui.intake.links import Link, classify

ByteProgress = Callable[[int, int | None], None]  # (bytes so far, total or None) for a download bar
USER_AGENT = "pmd-tui (personalization meta-dataset maintainer tool)"


def private_allowed() -> bool:
    return os.environ.get("PMD_ALLOW_PRIVATE_URLS", "").strip().lower() in ("1", "true", "yes")


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def shown(url: str, limit: int = 80) -> str:
    """A URL for messages: never its user name or password (``https://user:token@host/`` is common in
    pasted links), shortened to ``limit`` characters."""
    try:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            host = parts.hostname or ""
            if ":" in host:
                host = f"[{host}]"
            netloc = host + (f":{parts.port}" if parts.port else "")
            url = parts._replace(netloc=netloc).geturl()
    except ValueError:
        url = re.sub(r"//[^/@]*@", "//", url)
    return url if len(url) <= limit else url[: limit - 3] + "..."


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: mapped (::ffff:a.b.c.d), 6to4 (2002::/16), Teredo, NAT64."""
    out = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo:
        out.append(ip.teredo[1])
    if ip in _NAT64:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def _is_internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Anything that is not a globally reachable unicast address: private, loopback, link-local,
    carrier-grade NAT (100.64.0.0/10, where some clouds keep their metadata service), reserved,
    multicast, or an IPv6 address that embeds any of those."""
    if isinstance(ip, ipaddress.IPv6Address) and any(_is_internal(a) for a in _embedded_ipv4(ip)):
        return True
    return not ip.is_global or ip.is_multicast  # not global: private, loopback, link-local, reserved, ...


def public_address(host: str, port: int) -> str:
    """The address to connect to for ``host``; refused when any address it resolves to is internal."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetworkError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = [info[4][0] for info in infos]  # ip_address() reads an IPv6 zone ("fe80::1%eth0") too
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(address.split("%")[0])
        if _is_internal(ip):
            raise InputError(f"refusing {host}: it is a private or loopback address ({ip}); "
                             "set PMD_ALLOW_PRIVATE_URLS=1 to allow it")
    return addresses[0]


def check_url(url: str) -> None:
    """Refuse what an untrusted link must never reach: other schemes, local files, internal hosts."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(f"refusing {shown(url)}: only http and https links are downloaded")
    host = parts.hostname
    if not host:
        raise InputError(f"refusing {shown(url)}: no host name")
    if private_allowed():
        return
    try:
        public_address(host, 0)  # which addresses a name has does not depend on the port
    except InputError:
        raise InputError(f"refusing {shown(url)}: {host} is a private or loopback address; "
                         "set PMD_ALLOW_PRIVATE_URLS=1 to allow it") from None


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to the address it has just checked, so a name that resolves to a public address for
    the check and to an internal one for the connection (DNS rebinding) gets nowhere. TLS still verifies
    the host name (httpcore takes SNI from the URL, not from the address connected to)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if not private_allowed():
            host = public_address(host, port)
        return super().connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


def guarded_transport() -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    transport._pool._network_backend = _GuardedBackend()
    return transport


class _DriveForm(html.parser.HTMLParser):
    """The 'cannot scan this file for viruses' page: a form whose hidden inputs confirm the download."""

    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("id") == "download-form" or "download" in (a.get("action") or "")):
            self.action, self._in_form = a.get("action"), True
        elif tag == "input" and self._in_form and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def drive_confirm_url(page: str, base: str) -> str | None:
    form = _DriveForm()
    form.feed(page)
    if form.action and form.fields:
        return urljoin(base, form.action) + "?" + urlencode(form.fields)
    m = re.search(r'href="([^"]*confirm=[^"]+)"', page)  # the older page shape
    return urljoin(base, html.unescape(m.group(1))) if m else None


def filename_from(response: httpx.Response, url: str) -> str:
    cd = response.headers.get("content-disposition", "")
    m = re.search(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)", cd) or re.search(r'filename\s*=\s*"([^"]+)"', cd) \
        or re.search(r"filename\s*=\s*([^;]+)", cd)
    name = unquote(m.group(1).strip()) if m else unquote(Path(urlsplit(url).path).name)
    name = re.sub(r"[\x00-\x1f/\\:]", "_", name).strip(" .")[:120]
    return name or "download.zip"


def _status_error(url: str, status: int) -> NetworkError:
    short = shown(url)
    why = {404: "not found: the link is dead, mistyped or private",
           403: "forbidden: the file is not shared publicly",
           401: "needs a login: the file is not shared publicly",
           410: "gone: the file was deleted",
           429: "rate limited: try again later"}.get(status, "server error" if status >= 500 else "refused")
    return NetworkError(f"HTTP {status} for {short}: {why}")


class Downloader:
    def __init__(self, folder: Path, limits: Limits, *, progress: ByteProgress | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.folder = Path(folder)
        self.limits = limits
        self.progress = progress
        self.client = httpx.Client(
            follow_redirects=False, transport=transport or guarded_transport(), headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(limits.download_timeout_s, connect=min(15.0, limits.download_timeout_s)))

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- one link -----------------------------------------------------------------------------------
    def fetch(self, link: Link | str) -> Path:
        """Download ``link`` into the downloads folder and return the file; resumes a previous attempt."""
        link = classify(link) if isinstance(link, str) else link
        check_url(link.url)
        self.folder.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha256(link.download_url.encode()).hexdigest()[:16]
        part, meta_path = self.folder / f"{key}.part", self.folder / f"{key}.part.json"
        deadline = time.monotonic() + self.limits.max_download_seconds
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._attempt(link, part, meta_path, deadline)
            except (httpx.TransportError, _Interrupted) as exc:
                done = part.stat().st_size if part.exists() else 0
                if attempts >= 3 or time.monotonic() > deadline:
                    what = "timed out" if isinstance(exc, httpx.TimeoutException) else "interrupted"
                    raise NetworkError(f"download of {shown(link.url)} {what} after {done / 1e6:.1f} MB "
                                       f"({type(exc).__name__}); run the same command again to resume") from None
                time.sleep(min(2.0, 0.2 * attempts))

    def _attempt(self, link: Link, part: Path, meta_path: Path, deadline: float) -> Path:
        meta = {}
        if meta_path.exists():  # without its part, a resume never uses it (``have`` stays 0)
            try:
                meta = json.loads(meta_path.read_text())
            except ValueError:
                meta = {}
        have = part.stat().st_size if part.exists() and meta.get("url") == link.download_url else 0
        url = meta.get("final_url") if have and meta.get("final_url") else link.download_url
        hops = 0
        while True:
            check_url(url)
            headers = {}
            if have:
                headers["Range"] = f"bytes={have}-"
                if meta.get("etag"):
                    headers["If-Range"] = meta["etag"]
            request = self.client.build_request("GET", url, headers=headers)
            response = self.client.send(request, stream=True)
            try:
                if response.status_code in (301, 302, 303, 307, 308):
                    hops += 1
                    if hops > self.limits.max_redirects:
                        raise NetworkError(f"too many redirects for {shown(link.url)} (more than {self.limits.max_redirects})")
                    location = response.headers.get("location")
                    if not location:
                        raise NetworkError(f"HTTP {response.status_code} without a Location for {shown(url)}")
                    url = urljoin(url, location)
                    continue
                if response.status_code == 416 and have and meta.get("total") == have:
                    return self._finish(link, part, meta_path, meta)
                if response.status_code >= 400:
                    raise _status_error(link.url, response.status_code)
                ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype in ("text/html", "application/xhtml+xml"):
                    page = self._small_body(response)
                    confirm = drive_confirm_url(page, url) if link.kind == "drive" else None
                    if confirm and hops < self.limits.max_redirects:
                        hops += 1
                        url = confirm
                        continue
                    raise NetworkError(f"{shown(link.url)} returned a web page, not a file: is it a share page "
                                       "rather than a download link, or not shared publicly?")
                return self._stream(link, response, part, meta_path, have, url, deadline)
            finally:
                response.close()

    @staticmethod
    def _small_body(response: httpx.Response) -> str:
        data = bytearray()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > 2_000_000:
                break
        return bytes(data).decode("utf-8", "replace")

    def _stream(self, link, response, part: Path, meta_path: Path, have: int, url: str, deadline: float) -> Path:
        limit = self.limits.max_download_bytes
        if response.status_code == 206:
            m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("content-range", ""))
            if not m or int(m.group(1)) != have:
                have = 0  # a range we did not ask for: start again
            total = int(m.group(2)) if m and m.group(2) != "*" else None
            mode = "ab" if have else "wb"
        else:
            have, mode = 0, "wb"
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
        if total is not None and total > limit:
            raise InputError(f"{shown(link.url)} is {total / 1e9:.2f} GB, over the {limit / 1e9:.2f} GB download limit")
        meta = {"url": link.download_url, "final_url": url, "etag": response.headers.get("etag"),
                "total": total, "name": filename_from(response, url)}
        meta_path.write_text(json.dumps(meta))
        done = have
        with open(part, mode) as out:
            try:
                for chunk in response.iter_bytes():  # as it arrives, so a broken transfer keeps what came
                    out.write(chunk)
                    done += len(chunk)
                    if done > limit:
                        raise InputError(f"{shown(link.url)} is over the {limit / 1e9:.2f} GB download limit; stopped")
                    if time.monotonic() > deadline:
                        raise NetworkError(f"download of {shown(link.url)} took longer than "
                                           f"{self.limits.max_download_seconds:.0f} s; stopped (run again to resume)")
                    if self.progress:
                        self.progress(done, total)
            except InputError:
                out.close()
                self.discard(part, meta_path)
                raise
        if total is not None and done < total:
            raise _Interrupted(f"{done} of {total} bytes")
        meta["total"] = done
        meta_path.write_text(json.dumps(meta))
        return self._finish(link, part, meta_path, meta)

    def _finish(self, link, part: Path, meta_path: Path, meta: dict) -> Path:
        final_dir = self.folder / part.stem
        final_dir.mkdir(exist_ok=True)
        final = final_dir / (meta.get("name") or "download.zip")
        os.replace(part, final)
        meta_path.unlink(missing_ok=True)
        return final

    @staticmethod
    def discard(part: Path, meta_path: Path) -> None:
        part.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)


class _Interrupted(Exception):
    """The server closed the transfer before Content-Length bytes arrived."""


def is_url(text: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text))
