"""FakeGrafana and FakeKibana: protocol doubles written from Grafana's HTTP API and Kibana's saved objects
API reference, served by a real HTTP server on 127.0.0.1:0 so the code under test does real HTTP.

Grafana endpoints: GET /api/search, POST /api/dashboards/db, GET|DELETE /api/dashboards/uid/:uid,
GET /api/dashboards/uid/:uid/versions, GET|POST /api/folders, GET|PUT /api/folders/:uid,
GET|POST /api/datasources, GET|PUT /api/datasources/uid/:uid. Behaviour kept from the docs: the stored
dashboard gets `id`, `uid` and an incremented `version`; every save adds a version with its `message`;
saving with a stale `version` and `overwrite: false` answers 412; provisioned dashboards cannot be saved
(400); an unknown folder is 400; wrong credentials are 401. `requests` records (method, path) of each call.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class _Server:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with double._lock:
                    double.requests.append((method, parsed.path))
                    status, answer = double.handle(method, parsed.path, parse_qs(parsed.query), body, self.headers)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class FakeGrafana(_Server):
    def __init__(self, token: str = "secret-token", versions_wrapped: bool = False) -> None:
        self.token = token
        self.versions_wrapped = versions_wrapped
        """Grafana ≥ 12 answers the versions list as {"continueToken", "versions"}; 11 answers a bare list."""
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self._next_id = 1
        super().__init__()

    # -- helpers for tests -------------------------------------------------------------------------
    def ui_save(self, uid: str, edit: Any, message: str = "") -> None:
        """What saving in the Grafana UI does: a changed dashboard, a new version, the user's message."""
        dashboard = copy.deepcopy(self.dashboards[uid])
        edit(dashboard)
        self._save(dashboard, self.meta[uid]["folderUid"], message)

    def add_foreign(self, uid: str, title: str, folder_uid: str = "", tags: list[str] | None = None) -> None:
        self._save({"uid": uid, "title": title, "tags": tags or [], "panels": []}, folder_uid, "made by hand")

    # -- protocol ------------------------------------------------------------------------------------
    def _authorised(self, headers: Any) -> bool:
        auth = headers.get("Authorization") or ""
        if auth == f"Bearer {self.token}":
            return True
        return auth == "Basic " + base64.b64encode(b"admin:admin-password").decode()

    def _save(self, dashboard: dict[str, Any], folder_uid: str, message: str) -> dict[str, Any]:
        uid = dashboard.get("uid") or f"gen{self._next_id}"
        existing = self.dashboards.get(uid)
        stored = copy.deepcopy(dashboard)
        stored["uid"] = uid
        stored["id"] = existing["id"] if existing else self._next_id
        stored["version"] = (existing["version"] + 1) if existing else 1
        self._next_id += 1
        self.dashboards[uid] = stored
        self.meta[uid] = {"folderUid": folder_uid, "provisioned": self.meta.get(uid, {}).get("provisioned", False)}
        history = self.versions.setdefault(uid, [])
        history.append({
            "id": len(history) + 1, "dashboardId": stored["id"], "uid": uid, "parentVersion": stored["version"] - 1,
            "restoredFrom": 0, "version": stored["version"], "created": "2024-01-01T00:00:00Z",
            "createdBy": "admin", "message": message, "data": copy.deepcopy(stored),
        })
        return stored

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: Any) -> tuple[int, Any]:
        if not self._authorised(headers):
            return 401, {"message": "Unauthorized"}
        if (method, path) == ("GET", "/api/search"):
            return 200, self._search(query)
        if (method, path) == ("POST", "/api/dashboards/db"):
            return self._post_dashboard(body)
        if m := re.fullmatch(r"/api/dashboards/uid/([^/]+)/versions", path):
            if m.group(1) not in self.dashboards:
                return 404, {"message": "Dashboard not found"}
            listed = [{k: v for k, v in e.items() if k != "data"} for e in reversed(self.versions[m.group(1)])]
            return 200, {"continueToken": "", "versions": listed} if self.versions_wrapped else listed
        if m := re.fullmatch(r"/api/dashboards/uid/([^/]+)", path):
            uid = m.group(1)
            if uid not in self.dashboards:
                return 404, {"message": "Dashboard not found"}
            if method == "DELETE":
                title = self.dashboards.pop(uid)["title"]
                self.meta.pop(uid)
                return 200, {"title": title, "message": f"Dashboard {title} deleted"}
            folder = self.meta[uid]["folderUid"]
            return 200, {"dashboard": copy.deepcopy(self.dashboards[uid]), "meta": {
                "folderUid": folder, "folderTitle": self.folders.get(folder, {}).get("title", "General"),
                "provisioned": self.meta[uid]["provisioned"], "version": self.dashboards[uid]["version"]}}
        if path == "/api/folders":
            if method == "GET":
                return 200, [{"uid": f["uid"], "title": f["title"]} for f in self.folders.values()]
            if body["uid"] in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "version": 1}
            return 200, self.folders[body["uid"]]
        if m := re.fullmatch(r"/api/folders/([^/]+)", path):
            folder = self.folders.get(m.group(1))
            if folder is None:
                return 404, {"message": "folder not found"}
            if method == "PUT":
                folder.update(title=body["title"], version=folder["version"] + 1)
            return 200, folder
        if path == "/api/datasources":
            if method == "GET":
                return 200, list(self.datasources.values())
            if any(d["name"] == body["name"] for d in self.datasources.values()):
                return 409, {"message": "data source with the same name already exists"}
            return 200, {"datasource": self._store_datasource(body, None), "message": "Datasource added"}
        if m := re.fullmatch(r"/api/datasources/uid/([^/]+)", path):
            found = self.datasources.get(m.group(1))
            if found is None:
                return 404, {"message": "Data source not found"}
            if method == "PUT":
                if found.get("readOnly"):
                    return 403, {"message": "Cannot update read-only data source"}
                return 200, {"datasource": self._store_datasource(body, found), "message": "Datasource updated"}
            return 200, found
        return 404, {"message": "Not found"}

    def _search(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        tags = query.get("tag", [])
        hits = []
        for uid, d in sorted(self.dashboards.items()):
            if all(t in (d.get("tags") or []) for t in tags):
                folder = self.meta[uid]["folderUid"]
                hits.append({"id": d["id"], "uid": uid, "title": d.get("title"), "type": "dash-db",
                             "tags": d.get("tags") or [], "folderUid": folder, "url": f"/d/{uid}"})
        return hits

    def _post_dashboard(self, body: dict[str, Any]) -> tuple[int, Any]:
        dashboard, folder_uid = body.get("dashboard") or {}, body.get("folderUid") or ""
        if folder_uid and folder_uid not in self.folders:
            return 400, {"message": "folder not found", "status": "not-found"}
        uid = dashboard.get("uid")
        existing = self.dashboards.get(uid) if uid else None
        if existing is not None and self.meta[uid]["provisioned"]:
            return 400, {"message": "Cannot save provisioned dashboard"}
        if existing is not None and not body.get("overwrite") and dashboard.get("version") != existing["version"]:
            return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
        stored = self._save({k: v for k, v in dashboard.items() if k not in ("id", "version")}, folder_uid,
                            body.get("message") or "")
        return 200, {"id": stored["id"], "uid": stored["uid"], "url": f"/d/{stored['uid']}", "status": "success",
                     "version": stored["version"], "slug": stored["uid"]}

    def _store_datasource(self, body: dict[str, Any], found: dict[str, Any] | None) -> dict[str, Any]:
        stored = {k: v for k, v in body.items() if k != "secureJsonData"}
        stored["id"] = found["id"] if found else len(self.datasources) + 1
        stored["version"] = (found["version"] + 1) if found else 1
        secure = dict((found or {}).get("secureJsonFields") or {})
        secure.update({k: True for k in body.get("secureJsonData") or {}})
        stored["secureJsonFields"] = secure
        stored["readOnly"] = bool(found and found.get("readOnly"))
        self.datasources[stored["uid"]] = stored
        return stored


class FakeKibana(_Server):
    """Kibana saved objects API: GET /api/saved_objects/:type/:id, POST …?overwrite=true; needs kbn-xsrf."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        super().__init__()

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: Any) -> tuple[int, Any]:
        m = re.fullmatch(r"/api/saved_objects/([^/]+)/([^/]+)", path)
        if m is None:
            return 404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
        key = (m.group(1), m.group(2))
        if method == "GET":
            if key not in self.objects:
                return 404, {"statusCode": 404, "error": "Not Found",
                             "message": f"Saved object [{key[0]}/{key[1]}] not found"}
            return 200, self.objects[key]
        if headers.get("kbn-xsrf") is None:
            message = "Request must contain a kbn-xsrf header."
            return 400, {"statusCode": 400, "error": "Bad Request", "message": message}
        if key in self.objects and query.get("overwrite") != ["true"]:
            return 409, {"statusCode": 409, "error": "Conflict", "message": "Saved object conflict"}
        self.objects[key] = {"type": key[0], "id": key[1], "attributes": body["attributes"],
                             "references": body.get("references", []), "version": "WzEsMV0="}
        return 200, self.objects[key]
