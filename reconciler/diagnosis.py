"""The line a request gets when the likely cause is at the user's end, the address above all: the URL it went to
(never the token, nor a password in the URL, nor the query string), what happened, the likely fix, and where the
URL is set (``GLORIA_API_URL`` or ``--api-url``). The client asks here once a request has failed for good; a
failure the address does not explain (a 5xx, a 422, a dropped connection) keeps the client's own
``METHOD /path: ...`` line. See docs/contract.md, "Connection".
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from reconciler.wire import CERTIFICATE, NO_CONNECTION, NO_TLS, REFUSED, SILENT, UNRESOLVED, Failed

CHECK = "GLORIA_API_URL or --api-url"
_HTML = {"text/html", "application/xhtml+xml"}


def shown(url: str) -> str:
    """``url`` as a message shows it: scheme, host, port and path; no user, password or query string."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, _host_port(url, default=False), parts.path, "", ""))


def unreached(method: str, base: str, path: str, failure: Failed, tries: int) -> str | None:
    """The line for a request that reached no server able to answer it, or None when the address does not
    explain ``failure``."""
    fix = _fix(failure.kind, base)
    if fix is None:
        return None
    count = f" ({tries} tries)" if tries > 1 else ""
    return f"{method} {shown(base + path)}: {failure}{count}: {fix}"


def _fix(kind: str, base: str) -> str | None:
    where = _host_port(base, default=True)
    if kind == REFUSED:
        return f"nothing listens at {where}; check {CHECK}"
    if kind == UNRESOLVED:
        return f"is the host name {urlsplit(base).hostname} right? Check {CHECK}"
    if kind == NO_CONNECTION:
        return f"is {where} reachable from here? Check {CHECK}"
    if kind == SILENT:
        return f"{where} takes connections but does not answer; is it the API? Check {CHECK}"
    if kind == NO_TLS:
        return f"is the URL {shown('http' + base.removeprefix('https'))}? Check {CHECK}"
    if kind == CERTIFICATE:
        return f"is {urlsplit(base).hostname} the API's host? Check {CHECK}"
    return None


def not_the_api(method: str, base: str, path: str, status: int, content_type: str) -> str | None:
    """The line for an answer that did not come from the API (a 404 to a read: every read is a fixed route; an
    HTML page: a login page, a proxy's, a website's), or None for an answer the API itself could give."""
    url = shown(base + path)
    if status == 404 and method == "GET":
        api = shown(base)
        missing = not urlsplit(base).path.rstrip("/").endswith("/api")
        fix = f"is /api missing from the URL ({api}/api)?" if missing else f"is {api} the API's URL?"
        return f"{method} {url}: 404, no such API route: {fix} Check {CHECK}"
    html = content_type.split(";")[0].strip().lower() in _HTML
    if html and (200 <= status < 300 or 400 <= status < 500):
        return (
            f"{method} {url}: {status} with an HTML page, not the API's JSON: a login page or a wrong URL? "
            f"Check {CHECK}"
        )
    return None


def _host_port(url: str, *, default: bool) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = parts.port or ((443 if parts.scheme == "https" else 80) if default else None)
    return f"{host}:{port}" if port else host
