"""Codes at rest: encrypted with Fernet under `DELIVERY_ENCRYPTION_KEYS`, found by a keyed hash.

The first key encrypts, every key decrypts (`MultiFernet`), so keys rotate by
putting a new one first and running `manage.py reencrypt_codes`. A code is
never stored or indexed in clear: the pool's dedupe and the license API look it
up by an HMAC-SHA256 of the code, keyed with a key derived from each Fernet key
(never the Fernet key itself). A code's hash is written with its ciphertext,
under the same (first) key; a lookup tries the hashes under every key, so codes
written before a rotation are found until the command has moved them.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

# Domain separation: the lookup key is derived from, and never equal to, the encryption key.
_LOOKUP_KEY_LABEL = b"paymentflow.delivery.code-lookup.v1"
HINT_LENGTH = 4


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


@lru_cache(maxsize=4)
def _lookup_keys(keys: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(hmac.new(base64.urlsafe_b64decode(key), _LOOKUP_KEY_LABEL, hashlib.sha256).digest() for key in keys)


def _keys() -> tuple[str, ...]:
    # Read per call: tests override the setting, and the caches above are keyed on its value.
    return tuple(settings.DELIVERY_ENCRYPTION_KEYS)


def code_encrypt(code: str) -> str:
    """Encrypt a code under the newest key; return the Fernet token as text."""
    return _fernet(_keys()).encrypt(code.encode()).decode("ascii")


def code_decrypt(ciphertext: str) -> str:
    """Decrypt a token written under any of the configured keys."""
    return _fernet(_keys()).decrypt(ciphertext.encode("ascii")).decode()


def code_reencrypt(ciphertext: str) -> str:
    """Return the token re-encrypted under the newest key (decrypted with whichever key wrote it)."""
    return _fernet(_keys()).rotate(ciphertext.encode("ascii")).decode("ascii")


def _hash(lookup_key: bytes, code: str) -> str:
    return hmac.new(lookup_key, code.encode(), hashlib.sha256).hexdigest()


def code_lookup_hash(code: str) -> str:
    """Return the keyed hash a code is stored with (under the newest key)."""
    return _hash(_lookup_keys(_keys())[0], code)


def code_lookup_hashes(code: str) -> list[str]:
    """Return the code's keyed hash under every configured key, newest first: what a lookup matches."""
    return [_hash(lookup_key, code) for lookup_key in _lookup_keys(_keys())]


def code_hint(code: str) -> str:
    """Return what the merchant is shown of a code: its last 4 characters, and never more than half of it."""
    shown = min(HINT_LENGTH, len(code) // 2)
    return code[len(code) - shown :]
