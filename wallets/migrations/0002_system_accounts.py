"""Create the system accounts (append-only ledger accounts with fixed ids)."""

import uuid

from django.db import migrations

SYSTEM_WALLETS = {
    "EXTERNAL": uuid.UUID("00000000-0000-4000-8000-000000000001"),
    "PLATFORM_REVENUE": uuid.UUID("00000000-0000-4000-8000-000000000002"),
    "GATEWAY_CLEARING": uuid.UUID("00000000-0000-4000-8000-000000000003"),
    "ADJUSTMENTS": uuid.UUID("00000000-0000-4000-8000-000000000004"),
}


def create_system_accounts(apps, schema_editor):
    Wallet = apps.get_model("wallets", "Wallet")
    for kind, wallet_id in SYSTEM_WALLETS.items():
        Wallet.objects.using(schema_editor.connection.alias).get_or_create(id=wallet_id, defaults={"kind": kind})


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]

    # Reversing leaves the rows: their entries (if any) must never be deleted.
    operations = [migrations.RunPython(create_system_accounts, migrations.RunPython.noop)]
