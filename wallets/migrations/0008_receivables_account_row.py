"""Create the merchant receivables account (a system account with a fixed id).

Apart from 0007 (the constraint that admits its kind): PostgreSQL cannot alter a
table in the transaction that deleted a row of it, as reversing both at once would.
"""

import uuid

from django.db import migrations

RECEIVABLES_ID = uuid.UUID("00000000-0000-4000-8000-000000000005")


def remove_unused_receivables_account(apps, schema_editor):
    # Only an account nothing was ever booked on can go; otherwise the rollback fails, as it must.
    Wallet = apps.get_model("wallets", "Wallet")
    Wallet.objects.using(schema_editor.connection.alias).filter(id=RECEIVABLES_ID, entries__isnull=True).delete()


def create_receivables_account(apps, schema_editor):
    Wallet = apps.get_model("wallets", "Wallet")
    Wallet.objects.using(schema_editor.connection.alias).get_or_create(
        id=RECEIVABLES_ID, defaults={"kind": "RECEIVABLES"}
    )


class Migration(migrations.Migration):
    dependencies = [("wallets", "0007_receivables_account")]

    operations = [migrations.RunPython(create_receivables_account, remove_unused_receivables_account)]
