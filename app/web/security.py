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

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        for name, value in BASE_HEADERS.items():
            response.headers[name] = value
        if secure_cookies:
            response.headers["Strict-Transport-Security"] = "max-age=63072000"
        return response
