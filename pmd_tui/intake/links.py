"""Recognising submission links: Google Drive, Dropbox, Hugging Face and GitHub attachments, or direct files.

Share links are turned into their direct-download form; the download itself (and its safety checks)
is ``intake/download.py``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")
ARCHIVE_SUFFIXES = (".zip",)
_URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+", re.I)


@dataclass(frozen=True)
class Link:
    kind: str  # drive | dropbox | huggingface | github-attachment | direct
    url: str  # what the contributor wrote
    download_url: str  # where the bytes come from
    drive_id: str | None = None


def drive_endpoint() -> str:
    """Where Drive downloads start (overridable for a Drive-shaped test server)."""
    return os.environ.get("PMD_DRIVE_ENDPOINT", "https://drive.google.com").rstrip("/")


def drive_file_id(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.hostname not in DRIVE_HOSTS:
        return None
    m = re.search(r"/(?:file/)?d/([A-Za-z0-9_-]{10,})", parts.path)
    if m:
        return m.group(1)
    ids = parse_qs(parts.query).get("id")
    return ids[0] if ids and re.fullmatch(r"[A-Za-z0-9_-]{10,}", ids[0]) else None


def classify(url: str) -> Link:
    url = url.strip().rstrip(".,;:!?)")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in DRIVE_HOSTS:
        fid = drive_file_id(url)
        if fid:
            return Link("drive", url, f"{drive_endpoint()}/uc?{urlencode({'export': 'download', 'id': fid})}", fid)
    if host.endswith("dropbox.com"):
        query = parse_qs(parts.query, keep_blank_values=True)
        query.pop("dl", None)
        query["dl"] = ["1"]
        direct = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, doseq=True), ""))
        return Link("dropbox", url, direct)
    if host in ("huggingface.co", "hf.co"):
        return Link("huggingface", url, re.sub(r"/blob/", "/resolve/", url, count=1))
    if host == "github.com" and ("/user-attachments/files/" in parts.path or re.search(r"^/[^/]+/[^/]+/files/", parts.path)):
        return Link("github-attachment", url, url)
    return Link("direct", url, url)


def find_links(text: str | None) -> list[Link]:
    """Submission links in an issue body or comment, best first (archives and share links)."""
    if not text:
        return []
    seen, links = set(), []
    for raw in _URL.findall(text):
        link = classify(raw)
        if link.download_url in seen:
            continue
        seen.add(link.download_url)
        path = urlsplit(link.url).path.lower()
        if link.kind == "direct" and not path.endswith(ARCHIVE_SUFFIXES):
            continue  # pages, images shown inline, profile links
        if link.kind == "github-attachment" and not path.endswith(ARCHIVE_SUFFIXES):
            continue
        if link.kind == "huggingface" and not path.endswith(ARCHIVE_SUFFIXES):
            continue
        links.append(link)
    order = {"github-attachment": 0, "direct": 1, "huggingface": 1, "drive": 2, "dropbox": 2}
    return sorted(links, key=lambda lk: order[lk.kind])
