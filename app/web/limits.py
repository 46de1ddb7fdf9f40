"""Rate limits held in this process's memory: sign-in, password reset and the number checker.

Nothing here holds an IP address; keys are typed usernames, random account ids and hashes
of device tokens, which identify no one, and a restart forgets every count. One web
process (README), so every request sees the same counts. Every method takes `now`, so the
app's clock (and a test's) decides what time it is.

Sign-in follows OWASP's "device cookie" pattern
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies):

* A browser that has signed in to an account before shows that account's device token
  (app/auth/devices.py). Its failures are counted against that token alone, so nobody
  else's attempts, however many, ever slow it down; past DEVICE_FREE_FAILURES its own
  attempts wait, as below.
* Any other attempt is "untrusted". Untrusted failures are counted per typed username:
  the first FREE_FAILURES cost nothing, then each attempt waits FIRST_DELAY after the last
  failure, doubling with each further failure up to MAX_DELAY. Never a long hard lock:
  once an attack stops, the owner on a new browser waits at most MAX_DELAY. Attempts that
  are refused are not failures, so the delay grows only as fast as hashing is spent.
* All untrusted attempts together draw on one bucket of OVERALL_BURST attempts, refilled
  at OVERALL_PER_MINUTE. That caps the Argon2id work strangers can cause below what the
  hashing slots (app/common/passwords.py, still the guard of memory) serve, so a known
  browser finds a slot free.

Password reset has its own limits (ResetLimiter), separate from sign-in's: asking for
codes, or guessing them, never slows anyone's sign-in.

Checker: at most `per_account` checks per account in a moving window. Every attempt
counts, valid or not, so probing formats costs the same as checking; nothing typed is kept.
The same kind of limit, with its own counts, caps the reports one account sends
(PER_ACCOUNT_REPORTS).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from limits import parse

FREE_FAILURES = 5
FIRST_DELAY = timedelta(seconds=15)
MAX_DELAY = timedelta(minutes=5)
# A key with no failure for this long is forgotten (and so starts again with free tries).
FORGET_AFTER = timedelta(hours=1)
DEVICE_FREE_FAILURES = 10
OVERALL_BURST = 10
OVERALL_PER_MINUTE = 60
# Bounds memory whatever is typed: the oldest-touched keys go first. The overall bucket
# lets at most OVERALL_PER_MINUTE new usernames in a minute, so well under this many keys
# are live within FORGET_AFTER.
MAX_KEYS = 100_000

RESET_REQUESTS_PER_ACCOUNT = 3
RESET_CODE_TRIES_PER_ACCOUNT = 10
RESET_WINDOW = timedelta(hours=1)
RESET_BURST = 10
RESET_PER_MINUTE = 30

PER_ACCOUNT_CHECKS = "30 per hour"
# Reports: enough for an organisation entering a drop-in session's reports in one day,
# few enough that one login (an offender's, say) cannot bury the coordinators' queue.
PER_ACCOUNT_REPORTS = "20 per day"


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may go ahead; if not, how long until one may."""

    allowed: bool
    retry_after: timedelta = timedelta(0)

    @property
    def minutes(self) -> int:
        """The wait in whole minutes, rounded up, for a page to show (at least 1)."""
        return max(1, -(-int(self.retry_after.total_seconds()) // 60))


ALLOWED = Verdict(True)


def _username_key(username: str) -> str:
    return username.strip().lower()[:128]


class GrowingDelay:
    """Failures per key: after `free` of them, each attempt waits a doubling delay."""

    def __init__(self, *, free: int, first: timedelta, cap: timedelta,
                 forget_after: timedelta = FORGET_AFTER, max_keys: int = MAX_KEYS) -> None:
        self._free, self._first, self._cap = free, first, cap
        self._forget_after, self._max_keys = forget_after, max_keys
        # key -> (failures, time of the last one); oldest-touched first.
        self._failures: OrderedDict[str, tuple[int, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _current(self, key: str, now: datetime) -> tuple[int, datetime] | None:
        found = self._failures.get(key)
        if found is not None and now - found[1] > self._forget_after:
            del self._failures[key]
            return None
        return found

    def delay_after(self, failures: int) -> timedelta:
        if failures < self._free:
            return timedelta(0)
        return min(self._cap, self._first * 2 ** min(failures - self._free, 32))

    def wait(self, key: str, now: datetime) -> timedelta:
        """How long `key` must still wait before its next attempt (zero: go ahead)."""
        with self._lock:
            found = self._current(key, now)
        if found is None:
            return timedelta(0)
        failures, last = found
        return max(timedelta(0), last + self.delay_after(failures) - now)

    def fail(self, key: str, now: datetime) -> None:
        with self._lock:
            found = self._current(key, now)
            self._failures[key] = ((found[0] if found else 0) + 1, now)
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class Bucket:
    """A token bucket: `burst` attempts at once, refilled at `per_minute`."""

    def __init__(self, *, burst: int, per_minute: int) -> None:
        self._burst, self._per_second = float(burst), per_minute / 60
        self._tokens = float(burst)
        self._at: datetime | None = None
        self._lock = threading.Lock()

    def take(self, now: datetime) -> Verdict:
        with self._lock:
            if self._at is not None:
                elapsed = max(0.0, (now - self._at).total_seconds())
                self._tokens = min(self._burst, self._tokens + elapsed * self._per_second)
            self._at = now if self._at is None else max(self._at, now)
            if self._tokens >= 1:
                self._tokens -= 1
                return ALLOWED
            return Verdict(False, timedelta(seconds=(1 - self._tokens) / self._per_second))


class SignInThrottle:
    """Sign-in limits by the device-cookie pattern (the module's docstring says how)."""

    def __init__(self, *, free_failures: int = FREE_FAILURES,
                 first_delay: timedelta = FIRST_DELAY, max_delay: timedelta = MAX_DELAY,
                 device_free_failures: int = DEVICE_FREE_FAILURES,
                 overall_burst: int = OVERALL_BURST,
                 overall_per_minute: int = OVERALL_PER_MINUTE,
                 max_keys: int = MAX_KEYS) -> None:
        self.max_delay = max_delay
        self._accounts = GrowingDelay(free=free_failures, first=first_delay, cap=max_delay,
                                      max_keys=max_keys)
        self._devices = GrowingDelay(free=device_free_failures, first=first_delay,
                                     cap=max_delay, max_keys=max_keys)
        self._overall = Bucket(burst=overall_burst, per_minute=overall_per_minute)

    def check(self, username: str, device: str | None, now: datetime) -> Verdict:
        """May this attempt go ahead? `device`: the known browser's token key, or None.

        An untrusted attempt that is let through is counted against the overall bucket.
        """
        if device is not None:
            wait = self._devices.wait(device, now)
            return Verdict(False, wait) if wait else ALLOWED
        wait = self._accounts.wait(_username_key(username), now)
        if wait:
            return Verdict(False, wait)
        return self._overall.take(now)

    def failed(self, username: str, device: str | None, now: datetime) -> None:
        if device is not None:
            self._devices.fail(device, now)
        else:
            self._accounts.fail(_username_key(username), now)

    def succeeded(self, username: str, device: str | None) -> None:
        if device is not None:
            self._devices.clear(device)
        else:
            self._accounts.clear(_username_key(username))


class MovingCount:
    """At most `limit` events per key in a moving `window`."""

    def __init__(self, *, limit: int, window: timedelta, max_keys: int = MAX_KEYS) -> None:
        self._limit, self._window, self._max_keys = limit, window, max_keys
        self._events: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: datetime) -> Verdict:
        """Count one event unless the key is at its limit."""
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= self._window:
                events.popleft()
            if len(events) >= self._limit:
                return Verdict(False, events[0] + self._window - now)
            events.append(now)
            self._events.move_to_end(key)
            while len(self._events) > self._max_keys:
                self._events.popitem(last=False)
            return ALLOWED

    def forget(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


class ResetLimiter:
    """Password reset: asking for codes and trying them, per typed username and overall.

    Kept apart from SignInThrottle, so a reset request is never a sign-in failure and
    nothing done here slows a sign-in.
    """

    def __init__(self, *, requests_per_account: int = RESET_REQUESTS_PER_ACCOUNT,
                 code_tries_per_account: int = RESET_CODE_TRIES_PER_ACCOUNT,
                 window: timedelta = RESET_WINDOW, burst: int = RESET_BURST,
                 per_minute: int = RESET_PER_MINUTE) -> None:
        self._requests = MovingCount(limit=requests_per_account, window=window)
        self._tries = MovingCount(limit=code_tries_per_account, window=window)
        self._overall = Bucket(burst=burst, per_minute=per_minute)

    def allow_request(self, username: str, now: datetime) -> Verdict:
        verdict = self._requests.hit(_username_key(username), now)
        return verdict if not verdict.allowed else self._overall.take(now)

    def allow_code_try(self, username: str, now: datetime) -> Verdict:
        verdict = self._tries.hit(_username_key(username), now)
        return verdict if not verdict.allowed else self._overall.take(now)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CheckLimiter:
    """At most so many per account in a moving window ("30 per hour"), held in memory.

    A MovingCount rather than the limits package's MemoryStorage: that starts a timer
    thread to expire entries on almost every hit, which under load was a thread start per
    check. The limit string is still parsed by `limits`.
    """

    def __init__(self, per_account: str = PER_ACCOUNT_CHECKS,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        limit = parse(per_account)
        self._count = MovingCount(limit=limit.amount,
                                  window=timedelta(seconds=limit.get_expiry()))
        self._clock = clock

    def allow(self, account_id: str) -> bool:
        """Count one attempt; False (and nothing counted) once the account is over its limit."""
        return self._count.hit(account_id, self._clock()).allowed

    def reset(self, account_id: str) -> None:
        self._count.forget(account_id)
