"""Baseline web hardening applied to every response, from the first page on."""

from __future__ import annotations

from flask import Flask, Response

# No inline script or style anywhere: templates link /static files only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

BASE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: behind TLS Flask-WTF refuses a POST without a same-origin
    # Referer, and with no-referrer browsers send none (and Origin: null). Other sites still
    # get nothing.
    "Referrer-Policy": "same-origin",
    # Pages can hold alerts or contact details: nothing may sit in a browser or proxy cache.
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def install(app: Flask, *, secure_cookies: bool) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="__Host-session" if secure_cookies else "session",
        WTF_CSRF_SSL_STRICT=secure_cookies,
    )

    headers = dict(BASE_HEADERS)
    if secure_cookies:
        headers["Strict-Transport-Security"] = "max-age=63072000"
    ours = {name.lower() for name in headers}
    pairs = list(headers.items())

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        # Ours replace any a view or Flask set (a static file's Cache-Control, say); done
        # as one pass and one extend rather than a search of the list per header.
        kept = [(k, v) for k, v in response.headers.items() if k.lower() not in ours]
        response.headers.clear()
        response.headers.extend(kept + pairs)
        return response
