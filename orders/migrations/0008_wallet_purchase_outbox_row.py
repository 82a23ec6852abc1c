"""The wallet purchase function renders the new order and writes its order.completed outbox row; codes found once.

Replaces the function of 0007 (whose text stays as it was): the outbox row was a
second statement, an ORM INSERT after the call, with its payload rendered by the
serializer in Python, and the answer was rendered by the serializer again (a
round trip and about a third of the purchase's CPU, bench/RESULTS.md); the codes
were scanned twice, to count them and to take them. Three parameters more: the
timestamp as the API renders it, and the outbox row's request id and due time
(core.outbox.outbox_emit_in_sql); one result more, `api_order`, the API's object
of the new order (the answer, and the event's payload).
"""

from importlib import import_module

from django.db import migrations

PREVIOUS = import_module("orders.migrations.0007_wallet_purchase_function")

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
    p_now_api text,
    p_request_id text,
    p_event_due timestamptz,
    OUT outcome text,
    OUT available integer,
    OUT balance numeric,
    OUT order_id uuid,
    OUT merchant_id uuid,
    OUT product_name text,
    OUT unit_price numeric,
    OUT total_amount numeric,
    OUT fee_amount numeric,
    OUT api_order json
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
    code_ids uuid[];
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
        -- The oldest available codes, found once: counted here, taken below.
        SELECT array_agg(pool.id ORDER BY pool.created_at, pool.id) INTO code_ids FROM (
            SELECT c.id, c.created_at FROM delivery_code c
            WHERE c.product_id = p_product AND c.status = 'AVAILABLE' AND c.deleted_at IS NULL
            ORDER BY c.created_at, c.id
            LIMIT p_quantity
        ) AS pool;
        available := coalesce(array_length(code_ids, 1), 0);
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
        WHERE id = ANY(code_ids) AND status = 'AVAILABLE';
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

    -- The API's order object, as orders.serializers.OrderSerializer renders a new wallet order, key for
    -- key in its field order (no payment, no refunds; money as strings with two decimals, which
    -- numeric(·, 2) prints; the timestamps rendered by the caller). It is the purchase's answer and its
    -- order.completed event's payload; orders/tests compare it with OrderSerializer's rendering.
    api_order := json_build_object(
        'id', order_id, 'productId', p_product, 'productName', product.name, 'quantity', p_quantity,
        'unitPrice', product.price::text, 'totalAmount', total_amount::text, 'currency', p_currency,
        'status', 'COMPLETED', 'paymentMethod', 'WALLET', 'buyerId', p_buyer, 'merchantId', merchant_id,
        'createdAt', p_now_api, 'updatedAt', p_now_api, 'payment', NULL, 'refundedAmount', '0.00',
        'refunds', '[]'::json
    );
    INSERT INTO core_outboxevent (
        id, type, payload, request_id, created_at, published_at, attempts, next_attempt_at, last_error
    ) VALUES (
        gen_random_uuid(), 'order.completed', jsonb_build_object('order', api_order::jsonb),
        p_request_id, p_now, NULL, 0, p_event_due, ''
    );

    outcome := 'ok';
END;
$$;
"""

DROP = (
    "DROP FUNCTION IF EXISTS orders_wallet_purchase("
    "uuid, uuid, integer, numeric, text, uuid, timestamptz, text, text, text, text, timestamptz);"
)


def create_function(apps, schema_editor):
    # SQLite, the embedded default, buys through the ORM (orders/services/purchase.py).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS.DROP, params=None)
        schema_editor.execute(CREATE, params=None)


def restore_previous(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)
        schema_editor.execute(PREVIOUS.CREATE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_wallet_purchase_function"),
        ("core", "0002_outbox_event"),
    ]

    operations = [migrations.RunPython(create_function, restore_previous)]
