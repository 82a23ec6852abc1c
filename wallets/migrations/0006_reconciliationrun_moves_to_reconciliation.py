"""ReconciliationRun now belongs to the reconciliation app (its migration 0001).

State only: the table and its rows stay where they are, and the reconciliation
app takes the model over on that same table; nothing is dropped.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('wallets', '0005_constraints_round_to_cent'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='ReconciliationRun'),
            ],
            database_operations=[],
        ),
    ]
