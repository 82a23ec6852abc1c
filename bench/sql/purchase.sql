-- The baseline of the purchase benchmarks: one WALLET purchase of one unit, as bare SQL.
--
-- The same transaction the app runs (orders/services/purchase.py), statement for
-- statement: look up who buys what (outside the transaction, like the app's auth and
-- merchant reads), then lock both wallets in id order, take the unit with a
-- conditional UPDATE … RETURNING (locks the product), write the delivery (a product with
-- nothing to deliver: no codes), the order, the journal,
-- both balances in one UPDATE, both ledger entries in one INSERT and the first status
-- change, and commit. It writes exactly what the app writes, so `reconcile` stays clean.
--
-- pgbench -D variables: bmin/bmax (bench_buyer.n range), pmin/pmax (bench_product.n range).
\set b random(:bmin, :bmax)
\set p random(:pmin, :pmax)
SELECT user_id AS buyer, wallet_id AS buyer_wallet FROM bench_buyer WHERE n = :b \gset
SELECT product_id AS product, merchant_id AS merchant, merchant_wallet_id AS merchant_wallet FROM bench_product WHERE n = :p \gset
BEGIN;
SELECT id, balance, entry_count, is_frozen FROM wallets_wallet WHERE id IN (':buyer_wallet', ':merchant_wallet') AND kind = 'USER' ORDER BY id FOR UPDATE;
UPDATE catalog_product SET available_units = available_units - 1, updated_at = now() WHERE id = ':product' AND available_units >= 1 AND is_active AND deleted_at IS NULL RETURNING price, name \gset
INSERT INTO delivery_delivery (id, order_id, buyer_id, product_id, status, downloads_used, created_at, updated_at, delivered_at, revoked_at) VALUES (gen_random_uuid(), gen_random_uuid(), ':buyer', ':product', 'DELIVERED', 0, now(), now(), now(), NULL) RETURNING order_id \gset
INSERT INTO orders_order (id, buyer_id, merchant_id, product_id, product_name, unit_price, quantity, total_amount, fee_amount, currency, status, payment_method, payment_provider, payment_intent_id, payment_client_secret, expires_at, failure_reason, created_at, updated_at) VALUES (':order_id', ':buyer', ':merchant', ':product', ':name', :price, 1, :price, 0, 'USD', 'COMPLETED', 'WALLET', '', NULL, '', NULL, '', now(), now());
INSERT INTO wallets_journal (id, kind, description, order_id, created_by_id, created_at) VALUES (gen_random_uuid(), 'PURCHASE', '1 x :name', ':order_id', NULL, now()) RETURNING id AS journal_id \gset
WITH moved AS (UPDATE wallets_wallet w SET balance = w.balance + d.amount, entry_count = w.entry_count + 1, updated_at = now() FROM (VALUES (':buyer_wallet'::uuid, -:price::numeric), (':merchant_wallet'::uuid, :price::numeric)) AS d(id, amount) WHERE w.id = d.id RETURNING w.id, w.balance, w.entry_count) SELECT max(balance) FILTER (WHERE id = ':buyer_wallet') AS buyer_after, max(entry_count) FILTER (WHERE id = ':buyer_wallet') AS buyer_seq, max(balance) FILTER (WHERE id = ':merchant_wallet') AS merchant_after, max(entry_count) FILTER (WHERE id = ':merchant_wallet') AS merchant_seq FROM moved \gset
INSERT INTO wallets_ledgerentry (id, journal_id, wallet_id, type, amount, balance_before, balance_after, sequence, description, order_id, created_at) VALUES (gen_random_uuid(), ':journal_id', ':buyer_wallet', 'PURCHASE', -:price, :buyer_after + :price, :buyer_after, :buyer_seq, '', ':order_id', now()), (gen_random_uuid(), ':journal_id', ':merchant_wallet', 'SALE', :price, :merchant_after - :price, :merchant_after, :merchant_seq, '', ':order_id', now());
INSERT INTO orders_orderstatuschange (order_id, from_status, to_status, source, actor_id, reason, created_at) VALUES (':order_id', '', 'COMPLETED', 'API', ':buyer', 'Paid from wallet', now());
COMMIT;
