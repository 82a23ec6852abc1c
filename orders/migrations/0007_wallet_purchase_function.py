"""The wallet purchase as one PostgreSQL function: one round trip instead of seven statements.

`orders.services.purchase` calls it on PostgreSQL (SQLite keeps the ORM path, and
both pass the same tests). It decides everything before it writes anything, in
the order and with the outcomes of the ORM path: a refusal returns its code with
nothing written. The table constraints (stock and balances never negative, the
balance chain, totals) and the ledger's immutability triggers still apply to
every row it writes. A later change to the purchase replaces it with CREATE OR
REPLACE in a new migration (this one's text stays as it was).
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION orders_wallet_purchase(
    p_buyer uuid,
    p_product uuid,
    p_quantity integer,
    p_fee_percent numeric,
    p_currency text,
    p_platform_wallet uuid,
    p_now timestamptz,
    p_source text,
    p_reason text,
    OUT outcome text,
    OUT available integer,
    OUT balance numeric,
    OUT order_id uuid,
    OUT merchant_id uuid,
    OUT product_name text,
    OUT unit_price numeric,
    OUT total_amount numeric,
    OUT fee_amount numeric
) LANGUAGE plpgsql AS $$
-- Inside the statements, a name that is both a column and an OUT parameter (balance …) is the column.
#variable_conflict use_column
DECLARE
    w wallets_wallet%ROWTYPE;
    buyer_wallet wallets_wallet%ROWTYPE;
    merchant_wallet wallets_wallet%ROWTYPE;
    product catalog_product%ROWTYPE;
    share numeric;
    journal_id uuid := gen_random_uuid();
    new_delivery_id uuid := gen_random_uuid();
BEGIN
    -- The merchant whose wallet to lock, read before any lock (the product lock comes after the wallets).
    SELECT p.merchant_id INTO merchant_id FROM catalog_product p WHERE p.id = p_product AND p.deleted_at IS NULL;
    IF NOT FOUND THEN
        outcome := 'product_not_found';
        RETURN;
    END IF;
    IF merchant_id = p_buyer THEN
        outcome := 'cannot_buy_own_product';
        RETURN;
    END IF;

    -- The global lock order: user wallets by id, then the product (orders/locks.py).
    FOR w IN
        SELECT * FROM wallets_wallet
        WHERE kind = 'USER' AND user_id IN (p_buyer, merchant_id)
        ORDER BY id
        FOR UPDATE
    LOOP
        IF w.user_id = p_buyer THEN
            buyer_wallet := w;
        ELSE
            merchant_wallet := w;
        END IF;
    END LOOP;
    IF buyer_wallet.id IS NULL THEN
        outcome := 'buyer_has_no_wallet';
        RETURN;
    END IF;

    SELECT * INTO product FROM catalog_product p WHERE p.id = p_product FOR NO KEY UPDATE;
    IF NOT FOUND OR product.deleted_at IS NOT NULL THEN
        outcome := 'product_not_found';
        RETURN;
    END IF;
    IF NOT product.is_active THEN
        outcome := 'product_unavailable';
        RETURN;
    END IF;
    IF product.available_units < p_quantity THEN
        outcome := 'out_of_stock';
        available := product.available_units;
        RETURN;
    END IF;
    IF merchant_wallet.id IS NULL OR product.merchant_id <> merchant_id THEN
        -- Moved to another merchant between the read above and its lock: the caller starts over.
        outcome := 'merchant_changed';
        RETURN;
    END IF;
    -- delivery_open's refusals (delivery/services/deliveries.py): a FILE product needs its file, and
    -- a CODES product as many AVAILABLE codes as units (stock and pool disagreeing is reconcile's to report).
    IF product.delivery_kind = 'FILE'
       AND NOT EXISTS (SELECT 1 FROM delivery_productfile f WHERE f.product_id = p_product) THEN
        outcome := 'product_file_missing';
        RETURN;
    END IF;
    IF product.delivery_kind = 'CODES' THEN
        SELECT count(*) INTO available FROM (
            SELECT 1 FROM delivery_code c
            WHERE c.product_id = p_product AND c.status = 'AVAILABLE' AND c.deleted_at IS NULL
            LIMIT p_quantity
        ) AS pool;
        IF available < p_quantity THEN
            outcome := 'codes_short';
            RETURN;
        END IF;
    END IF;

    -- Half-up to the cent, as core.money.quantize and percent_of (round() on numeric rounds half away from zero).
    unit_price := product.price;
    product_name := product.name;
    total_amount := round(product.price * p_quantity, 2);
    fee_amount := round(total_amount * p_fee_percent / 100, 2);
    share := total_amount - fee_amount;
    -- ledger_post's checks, leg by leg: the buyer's (frozen, then funds), then the merchant's if it has a leg.
    IF buyer_wallet.is_frozen THEN
        outcome := 'wallet_frozen';
        RETURN;
    END IF;
    IF buyer_wallet.balance - total_amount < 0 THEN
        outcome := 'insufficient_funds';
        balance := buyer_wallet.balance;
        RETURN;
    END IF;
    IF share <> 0 AND merchant_wallet.is_frozen THEN
        outcome := 'wallet_frozen';
        RETURN;
    END IF;

    -- Everything is decided: the writes. `available` returns what stock is left (a sale to 0 is an event).
    available := product.available_units - p_quantity;
    UPDATE catalog_product
    SET available_units = available_units - p_quantity, updated_at = p_now
    WHERE id = p_product AND available_units >= p_quantity;

    order_id := gen_random_uuid();
    INSERT INTO orders_order (
        id, buyer_id, merchant_id, product_id, product_name, unit_price, quantity, total_amount, fee_amount,
        currency, status, payment_method, payment_provider, payment_intent_id, payment_client_secret,
        expires_at, failure_reason, created_at, updated_at
    ) VALUES (
        order_id, p_buyer, merchant_id, p_product, product.name, product.price, p_quantity, total_amount,
        fee_amount, p_currency, 'COMPLETED', 'WALLET', '', NULL, '', NULL, '', p_now, p_now
    );

    -- The order's delivery, and a CODES product's oldest available codes, under the product lock
    -- (delivery.locks.codes_take: every allocation of a product's codes holds that lock).
    INSERT INTO delivery_delivery (
        id, order_id, buyer_id, product_id, status, downloads_used, created_at, updated_at, delivered_at, revoked_at
    ) VALUES (new_delivery_id, order_id, p_buyer, p_product, 'DELIVERED', 0, p_now, p_now, p_now, NULL);
    IF product.delivery_kind = 'CODES' THEN
        UPDATE delivery_code SET status = 'DELIVERED', delivery_id = new_delivery_id, updated_at = p_now
        WHERE id IN (
            SELECT c.id FROM delivery_code c
            WHERE c.product_id = p_product AND c.status = 'AVAILABLE' AND c.deleted_at IS NULL
            ORDER BY c.created_at, c.id
            LIMIT p_quantity
        ) AND status = 'AVAILABLE';
    END IF;

    INSERT INTO wallets_journal (id, kind, description, order_id, created_by_id, created_at)
    VALUES (journal_id, 'PURCHASE', left(p_quantity || ' x ' || product.name, 255), order_id, NULL, p_now);

    UPDATE wallets_wallet
    SET balance = CASE WHEN id = buyer_wallet.id THEN balance - total_amount ELSE balance + share END,
        entry_count = entry_count + 1,
        updated_at = p_now
    WHERE id = buyer_wallet.id OR (id = merchant_wallet.id AND share <> 0);

    -- The legs of orders.services.legs.sale_legs; no zero leg.
    INSERT INTO wallets_ledgerentry (
        id, journal_id, wallet_id, type, amount, balance_before, balance_after, sequence, description,
        order_id, created_at
    )
    SELECT gen_random_uuid(), journal_id, leg.wallet_id, leg.type, leg.amount, leg.balance_before,
           leg.balance_before + leg.amount, leg.sequence, '', order_id, p_now
    FROM (VALUES
        (1, buyer_wallet.id, 'PURCHASE', -total_amount, buyer_wallet.balance, buyer_wallet.entry_count + 1),
        (2, merchant_wallet.id, 'SALE', share, merchant_wallet.balance, merchant_wallet.entry_count + 1),
        (3, p_platform_wallet, 'FEE', fee_amount, NULL, NULL)
    ) AS leg(position, wallet_id, type, amount, balance_before, sequence)
    WHERE leg.amount <> 0
    ORDER BY leg.position;

    INSERT INTO orders_orderstatuschange (order_id, from_status, to_status, source, actor_id, reason, created_at)
    VALUES (order_id, '', 'COMPLETED', p_source, p_buyer, p_reason, p_now);

    outcome := 'ok';
END;
$$;
"""

DROP = "DROP FUNCTION IF EXISTS orders_wallet_purchase(uuid, uuid, integer, numeric, text, uuid, timestamptz, text, text);"


def create_function(apps, schema_editor):
    # SQLite, the embedded default, buys through the ORM (orders/services/purchase.py).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_deliveries_of_existing_orders"),
        ("wallets", "0008_receivables_account_row"),
        ("catalog", "0003_product_delivery_kind"),
        ("delivery", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_function, drop_function)]
