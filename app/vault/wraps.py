"""Who can open a member's contact envelope: the delivery wrap, added and removed.

Contacts are sealed to the vetting key alone when someone applies. The worker's delivery
key gets a wrap only while the member is active and wants push alerts: it is added at
approval (which needs the vetting key, unlocked by a coordinator, to reach the data key)
and taken away when they leave, are revoked or rejected, or choose no alerts. Taking a
wrap away needs no key at all (crypto.envelope.without_recipients), so it can happen
whenever the decision does. No plaintext leaves here: only the 32-byte data key is
unwrapped, inside crypto.envelope.rewrap, and wrapped again.
"""

from __future__ import annotations

from app.vault.sealing import associated_data
from crypto import envelope
from crypto.keys import BoxPrivateKey, PublicKey


def carries(sealed: bytes, key_id: bytes) -> bool:
    return key_id in envelope.recipients_of(sealed)


def with_delivery(sealed: bytes, member_id: str, vetting_key: BoxPrivateKey,
                  delivery: PublicKey) -> bytes:
    """The contact envelope with a wrap for the delivery key (unchanged if it has one)."""
    if carries(sealed, delivery.key_id):
        return sealed
    return envelope.rewrap(sealed, vetting_key, add=[delivery],
                           associated_data=associated_data("members", "contact", member_id))


def without_delivery(sealed: bytes, delivery_key_id: bytes) -> bytes:
    """The contact envelope with no wrap for the delivery key; needs no key."""
    if not carries(sealed, delivery_key_id):
        return sealed
    return envelope.without_recipients(sealed, [delivery_key_id])
