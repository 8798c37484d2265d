"""Servers on 127.0.0.1 for the submission channel: plain files (Range, ETag, redirects, failures),
a Google-Drive-shaped download with its virus-scan confirmation page, and a GitHub REST API with issues,
comments (paginated with Link headers like the real API) and comment posting.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.httpfake import JsonHandler

DRIVE_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
<p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="{action}" method="get">
<input type="submit" id="uc-download-link" value="Download anyway"/>
<input type="hidden" name="id" value="{id}"><input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="{uuid}">
</form></body></html>"""


@dataclass
class File:
    data: bytes
    content_type: str = "application/zip"
    filename: str | None = None
    fail_after: list[int] = field(default_factory=list)  # queued: close the connection after N bytes
    status: int | None = None  # answer this status instead
    stall: float = 0.0  # seconds of silence after the headers


class FakeWeb:
    def __init__(self, *, page_size: int = 2, token: str | None = None):
        self.files: dict[str, File] = {}
        self.redirects: dict[str, str] = {}
        self.drive: dict[str, tuple[str, bytes, bool]] = {}  # id -> (filename, data, large)
        self.issues: dict[str, list[dict]] = {}  # "owner/repo" -> issues (GitHub JSON shape)
        self.comments: dict[tuple[str, int], list[dict]] = {}
        self.posted: list[tuple[str, int, str]] = []
        self.page_size = page_size
        self.token = token
        self.requests: list[tuple[str, str, dict]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # a client that hangs up early (a refused or failed download) is not the CLI's traceback: the
        # server's thread must not print one into the stderr a test is capturing
        self.server.handle_error = lambda *a: None
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- content ----------------------------------------------------------------------------------
    def add_file(self, path: str, data: bytes, **kw) -> str:
        self.files[path] = File(data, **kw)
        return self.url + path

    def add_issue(self, repo: str, number: int, title: str, body: str, user: str = "alice",
                  comments: list[tuple[str, str]] = (), labels: list[str] = (), pull: bool = False) -> dict:
        issue = {"number": number, "title": title, "body": body, "user": {"login": user}, "state": "open",
                 "html_url": f"https://github.com/{repo}/issues/{number}",
                 "url": f"{self.url}/repos/{repo}/issues/{number}",
                 "comments_url": f"{self.url}/repos/{repo}/issues/{number}/comments",
                 "labels": [{"name": n} for n in labels], "comments": len(comments)}
        if pull:
            issue["pull_request"] = {"url": "x"}
        self.issues.setdefault(repo, []).insert(0, issue)  # newest first, like the API
        self.comments[(repo, number)] = [{"id": i, "body": b, "user": {"login": u}} for i, (u, b) in enumerate(comments)]
        return issue

    def _handler(web):  # noqa: N805
        class Handler(JsonHandler):
            def do_GET(self):
                self._route()

            def do_POST(self):
                self._route()

            def _route(self):
                parts = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                self.body = self.rfile.read(n) if n else b""
                web.requests.append((self.command, self.path, dict(self.headers)))
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                path = parts.path
                if path in web.redirects:  # a location (302), or (status, location or None)
                    target = web.redirects[path]
                    status, location = target if isinstance(target, tuple) else (302, target)
                    return self._send(status, b"", {"Location": location} if location else {})
                if path == "/uc" or path == "/download":
                    return self.drive(path, q)
                m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues", path)
                if m:
                    return self.list_issues(m.group(1), q)
                m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path)
                if m:
                    return self.issue_comments(m.group(1), int(m.group(2)), q)
                if path in web.files:
                    return self.file(web.files[path])
                self._send(404, {"message": "Not Found"})

            # -- files ------------------------------------------------------------------------------
            def file(self, f: File, extra: dict | None = None):
                if f.status:
                    return self._send(f.status, b"<html>error</html>", {"Content-Type": "text/html"})
                etag = '"' + hashlib.sha1(f.data).hexdigest() + '"'
                headers = {"Content-Type": f.content_type, "ETag": etag, "Accept-Ranges": "bytes", **(extra or {})}
                if f.content_type is None:  # a server that does not say
                    del headers["Content-Type"]
                if f.filename:
                    headers["Content-Disposition"] = f'attachment; filename="{f.filename}"'
                data, status = f.data, 200
                rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if rng and self.headers.get("If-Range", etag) == etag:
                    start = int(rng.group(1))
                    if start >= len(f.data):
                        return self._send(416, b"", {"Content-Range": f"bytes */{len(f.data)}"})
                    data, status = f.data[start:], 206
                    headers["Content-Range"] = f"bytes {start}-{len(f.data) - 1}/{len(f.data)}"
                cut = f.fail_after.pop(0) if f.fail_after else None
                if f.stall:
                    import time

                    time.sleep(f.stall)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if cut is not None:
                    self.wfile.write(data[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data)

            # -- Google Drive -----------------------------------------------------------------------
            def drive(self, path, q):
                entry = web.drive.get(q.get("id", ""))
                if entry is None:
                    return self._send(404, b"<html>Sorry, the file does not exist</html>", {"Content-Type": "text/html"})
                name, data, large = entry
                if path == "/uc":
                    if large:
                        page = DRIVE_PAGE.format(action=f"{web.url}/download", id=q["id"], uuid="0f3c")
                        return self._send(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
                    return self._send(303, b"", {"Location": f"{web.url}/download?id={q['id']}&export=download"})
                if large and not (q.get("confirm") == "t" and q.get("uuid") == "0f3c"):
                    return self._send(200, b"<html>confirm first</html>", {"Content-Type": "text/html"})
                self.file(File(data, "application/octet-stream", name))

            # -- GitHub REST API --------------------------------------------------------------------
            def _auth_ok(self) -> bool:
                if web.token and self.headers.get("Authorization") != f"Bearer {web.token}":
                    self._send(401, {"message": "Bad credentials"})
                    return False
                return True

            def _page(self, items, q, base):
                per = min(int(q.get("per_page", web.page_size)), web.page_size)
                page = int(q.get("page", 1))
                chunk = items[(page - 1) * per: page * per]
                headers = {}
                if page * per < len(items):
                    extra = "".join(f"&{k}={v}" for k, v in q.items() if k not in ("page", "per_page"))
                    headers["Link"] = (f'<{web.url}{base}?per_page={per}&page={page + 1}{extra}>; rel="next", '
                                       f'<{web.url}{base}?per_page={per}&page={-(-len(items) // per)}{extra}>; rel="last"')
                self._send(200, chunk, headers)

            def list_issues(self, repo, q):
                if not self._auth_ok():
                    return
                if self.command != "GET":
                    return self._send(405, {"message": "nope"})
                if repo not in web.issues:
                    return self._send(404, {"message": "Not Found"})
                items = [i for i in web.issues[repo] if i["state"] == q.get("state", "open")]
                if q.get("direction") == "asc":
                    items = items[::-1]
                if q.get("labels"):
                    items = [i for i in items if q["labels"] in {lb["name"] for lb in i["labels"]}]
                self._page(items, q, f"/repos/{repo}/issues")

            def issue_comments(self, repo, number, q):
                if not self._auth_ok():
                    return
                if self.command == "POST":
                    body = json.loads(self.body)["body"]
                    web.posted.append((repo, number, body))
                    return self._send(201, {"id": 999, "body": body})
                self._page(web.comments.get((repo, number), []), q, f"/repos/{repo}/issues/{number}/comments")

        return Handler
