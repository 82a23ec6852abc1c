"""The license API: delivered codes of CODES products as license keys, with a per-product activation limit.

A key is found by its keyed hash among the codes a buyer has seen (DELIVERED
or REVOKED); any other code, deleted or not, is unknown. Activations of one key
serialize on the code's row lock, so the limit holds under any concurrency.
"""

from dataclasses import dataclass
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from delivery.crypto import code_lookup_hashes
from delivery.exceptions import ActivationLimitReached, InstanceNotFound, LicenseNotFound, LicenseRevoked
from delivery.locks import code_qs_select_for_update
from delivery.models import SHOWN_CODE_STATUSES, Code, CodeStatus, LicenseActivation


@dataclass(frozen=True)
class LicenseState:
    """What `POST /licenses/validate` answers."""

    code: Code
    valid: bool
    activations: int
    instance: LicenseActivation | None

    @property
    def status(self) -> str:
        return "REVOKED" if self.code.status == CodeStatus.REVOKED else "ACTIVE"


@dataclass(frozen=True)
class Activated:
    activation: LicenseActivation
    activations: int
    activation_limit: int | None


def _license(*, key: str, for_update: bool = False) -> Code:
    """Return the delivered code that is this key (locked if `for_update`), or raise `LicenseNotFound`.

    The hashes under every configured key are tried, so keys written before a
    rotation are found until `reencrypt_codes` has moved them. One code can be in
    the pools of two products; the oldest delivered one is the license then.
    """
    codes = code_qs_select_for_update() if for_update else Code.objects.all()
    code = (
        codes.filter(lookup_hash__in=code_lookup_hashes(key), status__in=SHOWN_CODE_STATUSES)
        .select_related("product")
        .order_by("created_at", "id")
        .first()
    )
    if code is None:
        raise LicenseNotFound()
    return code


def _active(code: Code):
    return code.activations.filter(deactivated_at__isnull=True)


def license_validate(*, key: str, instance_id: UUID | None = None) -> LicenseState:
    """Say whether a key is valid, and, given `instance_id`, whether that instance is active on it."""
    code = _license(key=key)
    instance = _active(code).filter(id=instance_id).first() if instance_id is not None else None
    valid = code.status != CodeStatus.REVOKED and (instance_id is None or instance is not None)
    return LicenseState(code=code, valid=valid, activations=_active(code).count(), instance=instance)


@transaction.atomic
def license_activate(*, key: str, instance_name: str) -> Activated:
    """Activate a new instance on a key, within its product's activation limit."""
    code = _license(key=key, for_update=True)
    if code.status == CodeStatus.REVOKED:
        raise LicenseRevoked()
    # Counted under the code's row lock: concurrent activations of this key wait here one by one.
    active = _active(code).count()
    limit = code.product.activation_limit
    if limit is not None and active >= limit:
        raise ActivationLimitReached(f"This key allows {limit} active instances.")
    activation = LicenseActivation.objects.create(code=code, instance_name=instance_name)
    return Activated(activation=activation, activations=active + 1, activation_limit=limit)


@transaction.atomic
def license_deactivate(*, key: str, instance_id: UUID) -> None:
    """End an active instance of a key, freeing its place under the limit."""
    code = _license(key=key, for_update=True)
    ended = _active(code).filter(id=instance_id).update(deactivated_at=timezone.now())
    if not ended:
        raise InstanceNotFound()
