"""The docs page needs nothing the edge's CSP forbids: no inline script or style, no other origin."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from svc_common.docs import install_docs


def test_docs_page_loads_only_same_origin_files_and_has_no_inline_code() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url="/svc/openapi.json")
    install_docs(app, "/svc", "svc <test>")
    client = TestClient(app)
    page = client.get("/svc/docs")
    assert page.status_code == 200
    html = page.text
    assert "<title>svc &lt;test&gt; - API docs</title>" in html
    assert 'data-openapi-url="/svc/openapi.json"' in html
    # script-src 'self' and style-src 'self': every script is a file, no inline code or style.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    assert all('src="/svc/' in attrs and not body.strip() for attrs, body in scripts), scripts
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"\son\w+=", html), "inline event handlers are scripts too"
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(u.startswith("/svc/docs/") for u in urls), urls
    kinds = {"js": "javascript", "css": "text/css", "png": "image/png"}
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        assert kinds[url.rsplit(".", 1)[1]] in r.headers["content-type"], (url, r.headers["content-type"])
        assert len(r.content) > 100
    assert "SwaggerUIBundle(" in client.get("/svc/docs/init.js").text
    assert client.get("/svc/docs/assets/../docs.py").status_code == 404
