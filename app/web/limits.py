"""Rate limits held in this process's memory: sign-in and the number checker, side by side.

Built on `limits` (the library under Flask-Limiter). Nothing here holds an IP address;
keys are generated usernames or random account ids, which identify no one, and a restart
forgets every count. One web process (README), so every request sees the same counts.

Sign-in: the rule is about failures. An account's failed attempts are counted, and once
over the limit every attempt on that account is refused before any hashing, right
password or not, until the window passes. An overall limit caps the hashing work across
all accounts.

Checker: at most `per_account` checks per account in a moving window. Every attempt
counts, valid or not, so probing formats costs the same as checking; nothing typed is kept.
"""

from __future__ import annotations

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

PER_ACCOUNT_FAILURES = "5 per 15 minutes"
OVERALL_ATTEMPTS = "60 per minute"
PER_ACCOUNT_CHECKS = "30 per hour"


class SignInThrottle:
    def __init__(self, per_account: str = PER_ACCOUNT_FAILURES,
                 overall: str = OVERALL_ATTEMPTS) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_account = parse(per_account)
        self._overall = parse(overall)

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().lower()[:128]

    def allow_attempt(self, username: str) -> bool:
        """False when the account or the service is over its limit; counts the attempt."""
        if not self._limiter.test(self._per_account, "account", self._key(username)):
            return False
        return self._limiter.hit(self._overall, "overall")

    def record_failure(self, username: str) -> None:
        self._limiter.hit(self._per_account, "account", self._key(username))

    def reset(self, username: str) -> None:
        self._limiter.clear(self._per_account, "account", self._key(username))


class CheckLimiter:
    def __init__(self, per_account: str = PER_ACCOUNT_CHECKS) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._limit = parse(per_account)

    def allow(self, account_id: str) -> bool:
        """Count one attempt; False (and nothing counted) once the account is over its limit."""
        return self._limiter.hit(self._limit, "check", account_id)

    def reset(self, account_id: str) -> None:
        self._limiter.clear(self._limit, "check", account_id)
