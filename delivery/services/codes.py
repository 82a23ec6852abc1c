"""The merchant's code pool: upload (deduplicated, encrypted) and deletion of unused codes."""

from dataclasses import dataclass
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog.models import DeliveryKind, Product
from catalog.services import product_lock_owned, product_supply_units
from delivery.crypto import code_decrypt, code_encrypt, code_hint, code_lookup_hash, code_lookup_hashes, code_reencrypt
from delivery.exceptions import CodeNotFound, DeliveryKindMismatch, InvalidCodeState
from delivery.locks import code_qs_select_for_update
from delivery.models import Code, CodeStatus


@dataclass(frozen=True)
class CodesAdded:
    added: int
    skipped: int
    available_units: int


def _require_codes_product(product: Product) -> None:
    if product.delivery_kind != DeliveryKind.CODES:
        raise DeliveryKindMismatch(f"Codes belong to CODES products; this one is {product.delivery_kind}.")


def codes_add(*, product_id: UUID | str, merchant: User, codes: list[str]) -> CodesAdded:
    """Add codes (already trimmed and validated) to the pool of a CODES product and to its stock.

    A code already in the pool, or earlier in `codes`, is skipped. The codes are
    encrypted and hashed before the product's row lock is taken (the hot row of
    its sales); under the lock the pool is checked against every key's hash, and
    the codes and the units they add are written in one transaction.
    """
    unique = list(dict.fromkeys(codes))
    hashes = {code: code_lookup_hashes(code) for code in unique}
    rows = {
        code: Code(ciphertext=code_encrypt(code), lookup_hash=hashes[code][0], hint=code_hint(code)) for code in unique
    }
    with transaction.atomic():
        product = product_lock_owned(product_id=product_id, merchant=merchant)
        _require_codes_product(product)
        known = set(
            Code.objects.filter(
                product=product,
                deleted_at__isnull=True,
                lookup_hash__in=[value for values in hashes.values() for value in values],
            ).values_list("lookup_hash", flat=True)
        )
        new = [rows[code] for code in unique if known.isdisjoint(hashes[code])]
        for row in new:
            row.product = product
        Code.objects.bulk_create(new)
        if new:
            product_supply_units(product=product, quantity=len(new))
    return CodesAdded(added=len(new), skipped=len(codes) - len(new), available_units=product.available_units)


def code_delete(*, product_id: UUID | str, code_id: UUID | str, merchant: User) -> None:
    """Delete an AVAILABLE code from a product's pool (soft: the row stays) and take its unit from stock."""
    with transaction.atomic():
        product = product_lock_owned(product_id=product_id, merchant=merchant)
        code = code_qs_select_for_update().filter(id=code_id, product=product, deleted_at__isnull=True).first()
        if code is None:
            raise CodeNotFound()
        if code.status != CodeStatus.AVAILABLE:
            raise InvalidCodeState(f"This code is {code.status}; only an AVAILABLE code can be deleted.")
        code.deleted_at = timezone.now()
        code.save(update_fields=["deleted_at", "updated_at"])
        product_supply_units(product=product, quantity=-1)


@dataclass(frozen=True)
class Reencrypted:
    moved: int
    current: int


def codes_reencrypt(*, batch_size: int = 500) -> Reencrypted:
    """Move every code (deleted ones too) to the newest of `DELIVERY_ENCRYPTION_KEYS`: ciphertext and hash.

    A code's hash is written with its ciphertext, under the same key, so a code
    whose hash is already the newest key's is current and left alone: the
    command can be stopped and run again. Each code is written with a
    compare-and-set on its old ciphertext and no lock, so sales go on meanwhile.
    """
    moved = current = 0
    last_id = None
    while True:
        batch = Code.objects.order_by("id").values_list("id", "ciphertext", "lookup_hash")
        if last_id is not None:
            batch = batch.filter(id__gt=last_id)
        rows = list(batch[:batch_size])
        if not rows:
            return Reencrypted(moved=moved, current=current)
        for code_id, ciphertext, lookup_hash in rows:
            newest_hash = code_lookup_hash(code_decrypt(ciphertext))
            if newest_hash == lookup_hash:
                current += 1
                continue
            moved += Code.objects.filter(id=code_id, ciphertext=ciphertext).update(
                ciphertext=code_reencrypt(ciphertext), lookup_hash=newest_hash
            )
        last_id = rows[-1][0]
