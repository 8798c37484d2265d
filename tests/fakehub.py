"""A small Hugging Face Hub on 127.0.0.1 that speaks the HTTP API the real ``huggingface_hub`` client uses.

It keeps dataset repos as lists of commits (path -> bytes), stores LFS objects by sha256 and answers:
whoami-v2, repo info, repos/create, tree listing (paginated like the Hub), validate-yaml, preupload,
the LFS batch API with a basic PUT upload, the NDJSON commit endpoint (with ``parentCommit`` checking:
412 on mismatch) and resolve (HEAD/GET). Failures are injected per endpoint: an HTTP status, or a
connection dropped before (``drop``) or after (``drop-after``) the change is applied.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from tests.httpfake import JsonHandler

LFS_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".zip", ".bin")
GITATTRIBUTES = b"*.jpg filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\n"
            f"size {len(data)}\n").encode()


@dataclass
class Commit:
    oid: str
    message: str
    description: str
    files: dict[str, bytes]
    lfs: set[str]


@dataclass
class Repo:
    commits: list[Commit] = field(default_factory=list)

    @property
    def head(self) -> Commit:
        return self.commits[-1]


class FakeHub:
    def __init__(self, tokens: dict[str, tuple[str, str]] | None = None, page_size: int = 50):
        #: token -> (user name, role "write" | "read")
        self.tokens = tokens or {"hf_write": ("maintainer", "write"), "hf_read": ("reader", "read")}
        self.page_size = page_size
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.failures: dict[str, list[str]] = {}  # endpoint name -> queued failure modes
        self.before_commit = None  # callable(hub, repo_id), e.g. to land a concurrent commit
        self.retry_after = "1"  # the Retry-After header of an injected 429 (the Hub's commit rate limit)
        self.lock = threading.RLock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.handle_error = lambda *a: None  # a client hanging up is no traceback in a test's stderr
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- control from tests -----------------------------------------------------------------------
    def start(self) -> "FakeHub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, endpoint: str, *modes: str) -> None:
        """Queue failures for ``endpoint`` (commit, preupload, lfs-batch, lfs-upload, tree, resolve, info)."""
        self.failures.setdefault(endpoint, []).extend(modes)

    def push(self, repo_id: str, files: dict[str, bytes | None], message: str = "external change") -> str:
        """Commit directly (another maintainer, or the web UI); ``None`` deletes a path."""
        with self.lock:
            repo = self.repos[repo_id]
            new = dict(repo.head.files)
            for path, data in files.items():
                if data is None:
                    new.pop(path, None)
                else:
                    new[path] = data
            return self._commit(repo, message, "", new, set(repo.head.lfs) | {p for p in files if self._is_lfs(p, files[p] or b"")})

    def files(self, repo_id: str) -> dict[str, bytes]:
        return dict(self.repos[repo_id].head.files)

    def commits(self, repo_id: str) -> list[Commit]:
        return list(self.repos.get(repo_id, Repo()).commits)

    # -- model ------------------------------------------------------------------------------------
    @staticmethod
    def _is_lfs(path: str, sample: bytes) -> bool:
        return path.lower().endswith(LFS_SUFFIXES) or b"\0" in sample[:512]

    def _commit(self, repo: Repo, message, description, files, lfs) -> str:
        oid = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
        repo.commits.append(Commit(oid, message, description, files, {p for p in lfs if p in files}))
        return oid

    def create(self, repo_id: str) -> None:
        with self.lock:
            if repo_id not in self.repos:
                repo = Repo()
                self._commit(repo, "initial commit", "", {".gitattributes": GITATTRIBUTES}, set())
                self.repos[repo_id] = repo

    def entry(self, repo: Repo, path: str) -> dict:
        data = repo.head.files[path]
        if path in repo.head.lfs:
            return {"type": "file", "oid": git_sha1(lfs_pointer(data)), "size": len(data), "path": path,
                    "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": len(lfs_pointer(data))}}
        return {"type": "file", "oid": git_sha1(data), "size": len(data), "path": path}

    def _handler(hub):  # noqa: N805 - the closure gives the handler its hub
        class Handler(JsonHandler):
            # -- plumbing -----------------------------------------------------------------------
            def _error(self, status: int, message: str, code: str | None = None):
                headers = {"X-Error-Message": message}
                if code:
                    headers["X-Error-Code"] = code
                self._send(status, {"error": message}, headers)

            def _body(self) -> bytes:
                return self.raw_body

            def _drop(self):
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass

            def _injected(self, endpoint: str, *, phase: str = "before") -> bool:
                """Apply a queued failure; True when the request must not be answered normally."""
                with hub.lock:
                    queue = hub.failures.get(endpoint) or []
                    if not queue:
                        return False
                    mode = queue[0]
                    if phase == "before" and mode == "drop-after":
                        return False
                    if phase == "after" and mode != "drop-after":
                        return False
                    queue.pop(0)
                if mode in ("drop", "drop-after"):
                    self._drop()
                elif mode == "429":
                    self._send(429, {"error": "You have exceeded the rate limit for repository commits (128 per hour)."},
                               {"Retry-After": hub.retry_after,
                                "X-Error-Message": "You have exceeded the rate limit for repository commits (128 per hour)."})
                else:
                    self._error(int(mode), f"injected failure {mode}")
                return True

            def _user(self, *, write: bool = False):
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ").strip()
                if token not in hub.tokens:
                    self._error(401, "Invalid credentials in Authorization header")
                    return None
                name, role = hub.tokens[token]
                if write and role != "write":
                    self._error(403, "You don't have the rights to create content under this namespace")
                    return None
                return name

            def _repo(self, repo_id: str):
                repo = hub.repos.get(repo_id)
                if repo is None:
                    self._error(404, "Repository not found", "RepoNotFound")
                return repo

            # -- routing ------------------------------------------------------------------------
            def do_HEAD(self):
                self._route("HEAD")

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def do_PUT(self):
                self._route("PUT")

            def _route(self, method: str):
                parts = urlsplit(self.path)
                path, query = unquote(parts.path), parse_qs(parts.query)
                hub.requests.append((method, path))
                n = int(self.headers.get("Content-Length") or 0)
                self.raw_body = self.rfile.read(n) if n else b""  # read first: errors keep the connection usable
                routes = [
                    ("GET", r"/api/whoami-v2", self.whoami),
                    ("POST", r"/api/repos/create", self.create_repo),
                    ("POST", r"/api/validate-yaml", self.validate_yaml),
                    ("GET", r"/api/datasets/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?", self.tree),
                    ("POST", r"/api/datasets/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)", self.preupload),
                    ("POST", r"/api/datasets/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)", self.commit),
                    ("GET", r"/api/datasets/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?", self.info),
                    ("POST", r"/datasets/(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", self.lfs_batch),
                    ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", self.lfs_put),
                    ("HEAD", r"/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)", self.resolve),
                    ("GET", r"/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)", self.resolve),
                ]
                for m, pattern, fn in routes:
                    match = re.fullmatch(pattern, path)
                    if m == method and match:
                        return fn(query=query, **{k: v for k, v in match.groupdict().items()})
                self._error(404, f"no route for {method} {path}")

            # -- endpoints ----------------------------------------------------------------------
            def whoami(self, query):
                name = self._user()
                if name is None:
                    return
                token = self.headers["Authorization"].removeprefix("Bearer ").strip()
                role = hub.tokens[token][1]
                self._send(200, {"type": "user", "name": name, "orgs": [],
                                 "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": role}}})

            def create_repo(self, query):
                name = self._user(write=True)
                if name is None:
                    return
                body = json.loads(self._body() or b"{}")
                repo_id = f"{body.get('organization') or name}/{body['name']}"
                if repo_id in hub.repos:
                    return self._error(409, "You already created this dataset repo")
                hub.create(repo_id)
                self._send(200, {"url": f"{hub.url}/datasets/{repo_id}", "name": repo_id})

            def validate_yaml(self, query):
                content = json.loads(self._body())["content"]
                match = re.match(r"^---\n(.*?)\n---\n", content, re.S)
                errors = []
                if not match:
                    errors.append({"message": "no YAML metadata block"})
                else:
                    try:
                        meta = yaml.safe_load(match.group(1))
                        for cfg in meta.get("configs") or []:
                            if not isinstance(cfg.get("config_name"), str) or not cfg.get("data_files"):
                                errors.append({"message": f"bad configs entry {cfg!r}"})
                    except yaml.YAMLError as exc:
                        errors.append({"message": f"invalid YAML: {exc}"})
                self._send(400 if errors else 200, {"errors": errors, "warnings": []})

            def info(self, query, repo, rev=None):
                if self._injected("info") or self._user() is None:
                    return
                r = self._repo(repo)
                if r is None:
                    return
                self._send(200, {"id": repo, "sha": r.head.oid, "private": False,
                                 "siblings": [{"rfilename": p} for p in sorted(r.head.files)]})

            def tree(self, query, repo, rev, sub=None):
                if self._injected("tree") or self._user() is None:
                    return
                r = self._repo(repo)
                if r is None:
                    return
                sub = (sub or "").strip("/")
                prefix = sub + "/" if sub else ""
                paths = [p for p in sorted(r.head.files) if p.startswith(prefix)]
                if sub and not paths:
                    return self._error(404, f"{sub} does not exist on {rev}", "EntryNotFound")
                recursive = query.get("recursive", ["False"])[0].lower() == "true"
                entries, dirs = [], set()
                for p in paths:
                    rest = p[len(prefix):]
                    if recursive or "/" not in rest:
                        entries.append(hub.entry(r, p))
                    else:
                        dirs.add(prefix + rest.split("/", 1)[0])
                    if recursive:
                        parents = rest.split("/")[:-1]
                        for i in range(1, len(parents) + 1):
                            dirs.add(prefix + "/".join(parents[:i]))
                entries += [{"type": "directory", "oid": git_sha1(d.encode()), "size": 0, "path": d} for d in sorted(dirs)]
                start = int(query.get("cursor", ["0"])[0])
                page = entries[start:start + hub.page_size]
                headers = {}
                if start + hub.page_size < len(entries):
                    base = f"{hub.url}{urlsplit(self.path).path}"
                    headers["Link"] = f'<{base}?recursive={recursive}&cursor={start + hub.page_size}>; rel="next"'
                self._send(200, page, headers)

            def preupload(self, query, repo, rev):
                if self._injected("preupload") or self._user(write=True) is None:
                    return
                r = self._repo(repo)
                if r is None:
                    return
                files = []
                for f in json.loads(self._body())["files"]:
                    sample = base64.b64decode(f["sample"])
                    lfs = hub._is_lfs(f["path"], sample) and f["size"] > 0
                    oid = None
                    if f["path"] in r.head.files:
                        e = hub.entry(r, f["path"])
                        oid = e["lfs"]["oid"] if "lfs" in e else e["oid"]
                    files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular",
                                  "shouldIgnore": False, "oid": oid})
                self._send(200, {"files": files, "commitOid": r.head.oid})

            def lfs_batch(self, query, repo):
                if self._injected("lfs-batch") or self._user(write=True) is None:
                    return
                if self._repo(repo) is None:
                    return
                body = json.loads(self._body())
                objects = []
                for o in body["objects"]:
                    entry = {"oid": o["oid"], "size": o["size"]}
                    if o["oid"] not in hub.lfs_objects:
                        entry["actions"] = {"upload": {"href": f"{hub.url}/lfs-upload/{o['oid']}", "header": {}}}
                    objects.append(entry)
                self._send(200, {"transfer": "basic", "objects": objects}, {"Content-Type": "application/vnd.git-lfs+json"})

            def lfs_put(self, query, oid):
                if self._injected("lfs-upload"):
                    return
                data = self._body()
                if hashlib.sha256(data).hexdigest() != oid:
                    return self._error(400, "sha256 mismatch")
                hub.lfs_objects[oid] = data
                self._send(200, b"")

            def commit(self, query, repo, rev):
                if self._injected("commit") or self._user(write=True) is None:
                    return
                r = self._repo(repo)
                if r is None:
                    return
                lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
                if hub.before_commit is not None:
                    hook, hub.before_commit = hub.before_commit, None
                    hook(hub, repo)
                with hub.lock:
                    header = next(x["value"] for x in lines if x["key"] == "header")
                    parent = header.get("parentCommit")
                    if parent and parent != r.head.oid:
                        return self._error(412, "A commit has happened since. Please refresh and try again.")
                    files, lfs = dict(r.head.files), set(r.head.lfs)
                    for item in lines:
                        key, value = item["key"], item["value"]
                        if key == "file":
                            files[value["path"]] = base64.b64decode(value["content"])
                            lfs.discard(value["path"])
                        elif key == "lfsFile":
                            data = hub.lfs_objects.get(value["oid"])
                            if data is None:
                                return self._error(422, f"LFS object {value['oid']} was never uploaded")
                            files[value["path"]] = data
                            lfs.add(value["path"])
                        elif key == "deletedFile":
                            if value["path"] not in files:
                                return self._error(404, f"{value['path']} does not exist", "EntryNotFound")
                            files.pop(value["path"])
                        elif key == "deletedFolder":
                            files = {p: d for p, d in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
                    oid = hub._commit(r, header["summary"], header.get("description", ""), files, lfs)
                if self._injected("commit", phase="after"):
                    return
                self._send(200, {"success": True, "commitOid": oid,
                                 "commitUrl": f"{hub.url}/datasets/{repo}/commit/{oid}", "hookOutput": ""})

            def resolve(self, query, repo, rev, file):
                if self._injected("resolve"):
                    return
                r = self._repo(repo)
                if r is None:
                    return
                if file not in r.head.files:
                    return self._error(404, f"{file} does not exist", "EntryNotFound")
                data = r.head.files[file]
                etag = hashlib.sha256(data).hexdigest() if file in r.head.lfs else git_sha1(data)
                headers = {"X-Repo-Commit": r.head.oid, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                           "Content-Type": "application/octet-stream"}
                self._send(200, data, headers)

        return Handler
