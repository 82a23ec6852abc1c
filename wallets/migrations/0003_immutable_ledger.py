"""Make journals and ledger entries immutable in the database itself.

A trigger rejects every UPDATE and DELETE on them, whatever the client: the
ORM, the admin, a psql session. Corrections are new journals (adjustments,
reversals). TRUNCATE is not covered: it is a DBA's tool, and the test suite's
flush between transactional tests relies on it.
"""

from django.db import migrations

TABLES = ("wallets_journal", "wallets_ledgerentry")

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION wallets_reject_ledger_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: % on % rejected', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION wallets_reject_ledger_change();"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            for operation in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'ledger rows are immutable: {operation} on {table} rejected'); END;"
                )
    else:
        raise NotImplementedError(f"No immutability trigger for the {vendor} database backend.")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};")
        schema_editor.execute("DROP FUNCTION IF EXISTS wallets_reject_ledger_change();")
    elif vendor == "sqlite":
        for table in TABLES:
            for operation in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation};")


class Migration(migrations.Migration):
    dependencies = [("wallets", "0002_system_accounts")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
