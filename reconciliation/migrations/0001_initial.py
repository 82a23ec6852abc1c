"""Take over ReconciliationRun from wallets (its migration 0006), rows and all.

The model is created in the migration state only, on the table wallets made
(`wallets_reconciliationrun`), so a database migrated before the move keeps
every run; a fresh one gets that table from wallets 0004 first. 0002 then
gives the table this app's name.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('wallets', '0006_reconciliationrun_moves_to_reconciliation'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ReconciliationRun',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('started_at', models.DateTimeField()),
                        ('finished_at', models.DateTimeField()),
                        ('since', models.DateTimeField(blank=True, null=True)),
                        ('gateway_checked', models.BooleanField(default=False)),
                        ('clean', models.BooleanField()),
                        ('discrepancy_count', models.PositiveIntegerField(default=0)),
                        ('results', models.JSONField(default=dict)),
                    ],
                    options={
                        'ordering': ['-started_at', '-id'],
                        'db_table': 'wallets_reconciliationrun',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
