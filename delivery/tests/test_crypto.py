"""Codes at rest: Fernet under the configured keys, rotation, the keyed lookup hash, the hint."""

import base64
import hashlib

import pytest
from cryptography.fernet import InvalidToken

from delivery.crypto import (
    code_decrypt,
    code_encrypt,
    code_hint,
    code_lookup_hash,
    code_lookup_hashes,
    code_reencrypt,
)

OLD_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()


def test_a_code_round_trips_and_its_token_does_not_contain_it():
    token = code_encrypt("GIFT-1234-ABCD")

    assert "GIFT-1234-ABCD" not in token
    assert code_decrypt(token) == "GIFT-1234-ABCD"
    # Fernet is randomised: the same code never gives the same token twice.
    assert code_encrypt("GIFT-1234-ABCD") != token


def test_the_first_key_encrypts_and_every_key_decrypts(settings):
    settings.DELIVERY_ENCRYPTION_KEYS = [OLD_KEY]
    old_token = code_encrypt("LICENSE-1")
    settings.DELIVERY_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    new_token = code_encrypt("LICENSE-1")

    assert code_decrypt(old_token) == code_decrypt(new_token) == "LICENSE-1"
    settings.DELIVERY_ENCRYPTION_KEYS = [OLD_KEY]
    with pytest.raises(InvalidToken):
        code_decrypt(new_token)


def test_reencrypting_moves_a_token_to_the_newest_key(settings):
    settings.DELIVERY_ENCRYPTION_KEYS = [OLD_KEY]
    old_token = code_encrypt("LICENSE-2")
    settings.DELIVERY_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    moved = code_reencrypt(old_token)

    settings.DELIVERY_ENCRYPTION_KEYS = [NEW_KEY]
    assert code_decrypt(moved) == "LICENSE-2"


def test_the_lookup_hash_is_keyed_and_tried_under_every_key(settings):
    settings.DELIVERY_ENCRYPTION_KEYS = [OLD_KEY]
    old_hash = code_lookup_hash("LICENSE-3")
    settings.DELIVERY_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    assert code_lookup_hashes("LICENSE-3") == [code_lookup_hash("LICENSE-3"), old_hash]
    assert old_hash != code_lookup_hash("LICENSE-3")
    # Not a plain digest of the code: without the key it cannot be computed (or brute-forced from a dump).
    assert old_hash != hashlib.sha256(b"LICENSE-3").hexdigest()


@pytest.mark.parametrize(
    ("code", "hint"), [("ABCD-EFGH-1234", "1234"), ("ABCDEFGH", "EFGH"), ("ABCDE", "DE"), ("ABC", "C"), ("A", "")]
)
def test_the_hint_is_the_last_four_characters_and_never_more_than_half_the_code(code, hint):
    assert code_hint(code) == hint
