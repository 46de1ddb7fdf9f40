"""What a channel sends, and how it says that sending failed.

A notice's recipient and text are personal data: a contact can out a member, and an
alert's title can warn an offender. Neither may reach a log line, so `repr(notice)` shows
only the idempotency key and a `DeliveryError` carries only a fixed reason and a status
code, never the recipient, the text or what a server answered (servers echo addresses).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, repr=False)
class Notice:
    """One message for one member on one channel.

    `to` is an email address or an E.164 number. `idempotency_key` names the notice
    (for example the outbox row): sending the same key twice is a re-send of the same
    notice, and channels pass it on so that the far end can recognise it.
    """

    to: str
    subject: str
    body: str
    idempotency_key: str

    def __repr__(self) -> str:
        return f"Notice(idempotency_key={self.idempotency_key!r})"

    __str__ = __repr__


class DeliveryError(Exception):
    """A notice was not delivered.

    `permanent` is True when sending the same notice again cannot succeed (the recipient
    was refused, the gateway rejected the number, text messages are not configured), and
    False when a later attempt may (connection refused, timeout, a 4xx SMTP reply, a 5xx
    or 429 HTTP answer, a configuration or credential problem the operator can fix).

    `reason` is a short fixed phrase and `status` the SMTP or HTTP code, if any; `str()`
    is made from those two alone. Channels raise it outside their `except` blocks, so it
    carries no chained exception whose text could hold an address.
    """

    def __init__(self, reason: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.status = status

    def __str__(self) -> str:
        kind = "permanent" if self.permanent else "temporary"
        if self.status is None:
            return f"{self.reason} ({kind})"
        return f"{self.reason} (status {self.status}, {kind})"

    def __reduce__(self) -> tuple[object, ...]:
        # Survives pickling (a process pool, a job store) with its attributes intact.
        return (_rebuild_error, (self.reason, self.permanent, self.status))

    def __repr__(self) -> str:
        return (f"DeliveryError({self.reason!r}, permanent={self.permanent!r}, "
                f"status={self.status!r})")


def _rebuild_error(reason: str, permanent: bool, status: int | None) -> DeliveryError:
    return DeliveryError(reason, permanent=permanent, status=status)
