"""Sign-in throttling, per account and overall, held in memory only.

Built on `limits` (the library under Flask-Limiter) because the rule is about failures:
an account's failed attempts are counted, and once over the limit every attempt on that
account is refused before any hashing, right password or not, until the window passes.
An overall limit caps the hashing work across all accounts. Nothing here holds an IP
address; keys are usernames, which are generated and identify no one.
"""

from __future__ import annotations

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

PER_ACCOUNT_FAILURES = "5 per 15 minutes"
OVERALL_ATTEMPTS = "60 per minute"


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
