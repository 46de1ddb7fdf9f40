"""gunicorn settings for uglymugs (deploy/systemd/uglymugs-web.service uses this file).

One process, threads for concurrency: an unlocked vetting key lives only in that
process's memory, and the sign-in throttle and hashing limit are counted there. For the
same reason the process is never recycled (max_requests stays 0).
"""

bind = "127.0.0.1:8000"
workers = 1
worker_class = "gthread"
threads = 8
max_requests = 0
timeout = 60
graceful_timeout = 30
keepalive = 5

# No access log: gunicorn's would start with the client address. The app writes its own
# line per request (endpoint, status, time; app/web/logs.py) to the error log stream.
accesslog = None
errorlog = "-"
loglevel = "info"
capture_output = True

# Requests arrive from Caddy on loopback, which sets X-Forwarded-Proto. Trusting it makes
# the app see https, so Flask-WTF's strict mode also refuses any POST whose Referer is
# missing or from another origin (the pages send a Referer to themselves only:
# Referrer-Policy: same-origin), on top of CSRF tokens and SameSite=Strict cookies.
forwarded_allow_ips = "127.0.0.1,::1"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# Small requests only (the app caps bodies at 256 KiB too).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
