#!/usr/bin/env bash
# The API guide's walk-throughs, top to bottom, against a running server (`make run`):
#
#   bash docs/walkthrough.sh                                 # http://127.0.0.1:8000
#   BASE_URL=http://127.0.0.1:8001 bash docs/walkthrough.sh
#
# Every step prints its request, the status and the JSON body (tokens cut after
# their header). docs/walkthrough.md explains the steps and shows the output
# (docs/walkthrough.out, which paymentflow/tests/test_walkthrough.py compares
# with a fresh run: `make walkthrough` rewrites it). Needs bash, curl and python3.
# Each run registers new accounts, so it can run again on the same database.
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:8000}
API=$BASE_URL/api/v1
RUN=$(python3 -c 'import secrets; print(secrets.token_hex(4))')   # makes this run's emails unique
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# request METHOD PATH [curl arguments]: send it, print the request line (with its body and
# Idempotency-Key), the status and the JSON body; the body stays in $BODY, the status in $STATUS.
request() {
  local method=$1 path=$2
  shift 2
  STATUS=$(curl -sS -X "$method" "$API$path" -D "$TMP/headers" -o "$TMP/body" -w '%{http_code}' "$@")
  BODY=$(cat "$TMP/body")
  python3 - "$method" "/api/v1$path" "$STATUS" "$TMP" "$@" <<'PY'
import http, json, re, sys
method, path, status, tmp, *args = sys.argv[1:]
options = dict(zip(args, args[1:]))
line = f"{method} {path}"
for header in (value for flag, value in zip(args, args[1:]) if flag == "-H"):
    if header.lower().startswith("idempotency-key:"):
        line += f"  ({header})"
if "-d" in options:
    line += f"  {options['-d']}"
# A JWT's first part is its constant header; the rest is this run's.
line = re.sub(r"(eyJ[\w-]+)\.[\w-]+\.[\w-]+", r"\1.…", line)
print(line)
headers = open(f"{tmp}/headers").read().splitlines()
shown = [h for h in headers if h.lower().startswith(("idempotent-replayed:", "retry-after:"))]
print(f"→ {status} {http.HTTPStatus(int(status)).phrase}" + "".join(f"  ({h.strip()})" for h in shown))
raw = open(f"{tmp}/body").read()
if raw:
    def cut(value):
        if isinstance(value, dict):
            return {k: (v.split(".")[0] + ".…" if k.endswith("Token") else cut(v)) for k, v in value.items()}
        return [cut(v) for v in value] if isinstance(value, list) else value
    print(json.dumps(cut(json.loads(raw)), indent=2, ensure_ascii=False))
PY
}

# field PATH: a value of the last response's body (`user.id`, `results.0.id`).
field() {
  python3 -c 'import json, sys
value = json.loads(sys.argv[1])
for key in sys.argv[2].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value)' "$BODY" "$1"
}

# expect STATUS: stop the walk-through if the last response was not that status.
expect() {
  if [ "$STATUS" != "$1" ]; then
    echo "expected $1, got $STATUS: is the server at $BASE_URL the one \`make run\` serves?" >&2
    exit 1
  fi
}

# step TITLE: a heading in the output, a blank line before all but the first.
step() {
  [ -z "${STEPPED:-}" ] || echo
  echo "## $*"
  STEPPED=1
}

step "Health: no token needed"
request GET /health
expect 200

# --- Authentication -------------------------------------------------------------------------

step "Register (role USER by default); the email is stored lower-case"
request POST /auth/register -H 'Content-Type: application/json' \
  -d '{"email": "Ada.'"$RUN"'@Example.com", "password": "violet-anchor-meadow-42", "firstName": "Ada"}'
expect 201
EMAIL=$(field user.email)

step "Log in, the email in any case"
request POST /auth/login -H 'Content-Type: application/json' \
  -d '{"email": "ADA.'"$RUN"'@example.com", "password": "violet-anchor-meadow-42"}'
expect 200
ACCESS=$(field accessToken)
REFRESH=$(field refreshToken)

step "Call an authenticated endpoint"
request GET /auth/me -H "Authorization: Bearer $ACCESS"
expect 200

step "Rotate the pair: a new access and refresh token"
request POST /auth/refresh -H 'Content-Type: application/json' -d '{"refreshToken": "'"$REFRESH"'"}'
expect 200
OLD_REFRESH=$REFRESH
ACCESS=$(field accessToken)
REFRESH=$(field refreshToken)

step "The old refresh token is blacklisted now"
request POST /auth/refresh -H 'Content-Type: application/json' -d '{"refreshToken": "'"$OLD_REFRESH"'"}'
expect 401

step "Log out: revoke the current refresh token (the access token lives on until it expires)"
request POST /auth/logout -H 'Content-Type: application/json' -d '{"refreshToken": "'"$REFRESH"'"}'
expect 204

# --- Wallets and the ledger -----------------------------------------------------------------

step "The wallet every account has"
request GET /wallet -H "Authorization: Bearer $ACCESS"
expect 200

step "Deposit with an Idempotency-Key (a fresh UUID per intended operation)"
DEPOSIT_KEY=$(python3 -c 'import uuid; print(uuid.uuid4())')
request POST /wallet/deposit -H "Authorization: Bearer $ACCESS" -H "Idempotency-Key: $DEPOSIT_KEY" \
  -H 'Content-Type: application/json' -d '{"amount": 100.50, "description": "Top-up"}'
expect 201

step "The same request again: the stored answer, replayed; no second deposit"
request POST /wallet/deposit -H "Authorization: Bearer $ACCESS" -H "Idempotency-Key: $DEPOSIT_KEY" \
  -H 'Content-Type: application/json' -d '{"amount": 100.50, "description": "Top-up"}'
expect 201

step "The same key with another body"
request POST /wallet/deposit -H "Authorization: Bearer $ACCESS" -H "Idempotency-Key: $DEPOSIT_KEY" \
  -H 'Content-Type: application/json' -d '{"amount": 200}'
expect 422

step "Withdraw: the amount is signed, money out is negative"
request POST /wallet/withdraw -H "Authorization: Bearer $ACCESS" \
  -H 'Content-Type: application/json' -d '{"amount": "30.00"}'
expect 201

step "Withdraw more than the balance"
request POST /wallet/withdraw -H "Authorization: Bearer $ACCESS" \
  -H 'Content-Type: application/json' -d '{"amount": "500.00"}'
expect 409

step "The history, one type of entry"
request GET '/wallet/transactions?limit=20&type=WITHDRAWAL' -H "Authorization: Bearer $ACCESS"
expect 200

# --- Products -------------------------------------------------------------------------------

step "A merchant account: register with \"role\": \"MERCHANT\""
request POST /auth/register -H 'Content-Type: application/json' \
  -d '{"email": "shop.'"$RUN"'@example.com", "password": "amber-harbour-lantern-7", "role": "MERCHANT"}'
expect 201
MERCHANT_ACCESS=$(field accessToken)
MERCHANT_ID=$(field user.id)

step "The merchant creates a product (and, quietly, two more for the filters below)"
request POST /products -H "Authorization: Bearer $MERCHANT_ACCESS" -H 'Content-Type: application/json' \
  -d '{"name": "Field guide ebook", "description": "Every bird of the valley.", "price": "12.50", "availableUnits": 100}'
expect 201
PRODUCT_ID=$(field id)
request POST /products -H "Authorization: Bearer $MERCHANT_ACCESS" -H 'Content-Type: application/json' \
  -d '{"name": "Knots ebook", "price": "4.00", "availableUnits": 10}' >/dev/null
expect 201
request POST /products -H "Authorization: Bearer $MERCHANT_ACCESS" -H 'Content-Type: application/json' \
  -d '{"name": "Field guide, printed", "price": "25.00", "availableUnits": 0}' >/dev/null
expect 201

step "A restock: set availableUnits"
request PATCH "/products/$PRODUCT_ID" -H "Authorization: Bearer $MERCHANT_ACCESS" \
  -H 'Content-Type: application/json' -d '{"availableUnits": 150, "isActive": true}'
expect 200

step "A USER account cannot list products"
request POST /products -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
  -d '{"name": "Mine", "price": "1.00", "availableUnits": 1}'
expect 403

step "Browse (no token): this merchant's ebooks from 5.00 to 20.50, in stock, cheapest first"
request GET "/products?merchantId=$MERCHANT_ID&search=ebook&minPrice=5&maxPrice=20.50&inStock=true&ordering=price&limit=10"
expect 200

step "A bad filter: the errors name the parameter"
request GET '/products?minPrice=cheap'
expect 400

# --- Orders and payments --------------------------------------------------------------------

step "Buy two units from the wallet"
request POST /orders -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" \
  -d '{"productId": "'"$PRODUCT_ID"'", "paymentMethod": "WALLET", "quantity": 2}'
expect 201
ORDER_ID=$(field id)

step "The buyer's wallet after the purchase"
request GET /wallet -H "Authorization: Bearer $ACCESS"
expect 200

step "The merchant's sales"
request GET /orders/merchant/sales -H "Authorization: Bearer $MERCHANT_ACCESS"
expect 200

step "The buyer cannot refund"
request POST "/orders/$ORDER_ID/refund" -H "Authorization: Bearer $ACCESS"
expect 403

step "The merchant refunds part of it: 10.00 back to the buyer, the order PARTIALLY_REFUNDED"
request POST "/orders/$ORDER_ID/refund" -H "Authorization: Bearer $MERCHANT_ACCESS" \
  -H 'Content-Type: application/json' -d '{"amount": "10.00", "reason": "One copy was never opened"}'
expect 200

step "More than is left to refund"
request POST "/orders/$ORDER_ID/refund" -H "Authorization: Bearer $MERCHANT_ACCESS" \
  -H 'Content-Type: application/json' -d '{"amount": "20.00"}'
expect 400

step "No amount refunds all that is left: the order REFUNDED, its units back in stock"
request POST "/orders/$ORDER_ID/refund" -H "Authorization: Bearer $MERCHANT_ACCESS"
expect 200

step "A refunded order cannot be refunded again"
request POST "/orders/$ORDER_ID/refund" -H "Authorization: Bearer $MERCHANT_ACCESS"
expect 409

step "The buyer's wallet history: deposit, withdrawal, purchase, two refunds (newest first)"
request GET /wallet/transactions -H "Authorization: Bearer $ACCESS"
expect 200

step "The stock is back"
request GET "/products/$PRODUCT_ID"
expect 200

# --- Errors ---------------------------------------------------------------------------------

step "No token"
request GET /wallet
expect 401

step "An order that does not exist (another user's order is the same 404, never a 403)"
request GET "/orders/$(python3 -c 'import uuid; print(uuid.uuid4())')" -H "Authorization: Bearer $ACCESS"
expect 404

step "A password the validators refuse"
request POST /auth/register -H 'Content-Type: application/json' \
  -d '{"email": "bob.'"$RUN"'@example.com", "password": "short"}'
expect 400

step "A wrong password (an unknown email gets the same answer)"
request POST /auth/login -H 'Content-Type: application/json' \
  -d '{"email": "'"$EMAIL"'", "password": "not-the-password-1"}'
expect 401

if [ -z "${LOCALSTRIPE_URL:-}" ]; then
  step "A card order on a server without Stripe keys (\`make run\`): nothing is reserved"
  request POST /orders -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
    -d '{"productId": "'"$PRODUCT_ID"'", "paymentMethod": "GATEWAY"}'
  expect 503
  exit 0
fi

# --- Paying by card, against localstripe (LOCALSTRIPE_URL; docs/walkthrough.md#paying-by-card) --
# The server runs with STRIPE_API_BASE=$LOCALSTRIPE_URL and these two keys (its .env).
STRIPE_SECRET_KEY=${STRIPE_SECRET_KEY:-sk_test_local}
STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-whsec_local}

step "Let localstripe deliver its webhooks to the server, signed with the server's secret"
curl -sS -X POST "$LOCALSTRIPE_URL/_config/webhooks/walkthrough" \
  -d url="$API/payments/stripe/webhook" -d secret="$STRIPE_WEBHOOK_SECRET"
echo "webhooks → $API/payments/stripe/webhook"

step "A card order: the units are reserved, the order PENDING until Stripe says it is paid"
request POST /orders -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
  -d '{"productId": "'"$PRODUCT_ID"'", "paymentMethod": "GATEWAY"}'
expect 201
CARD_ORDER_ID=$(field id)
PAYMENT_INTENT=$(field payment.paymentIntentId)

step "Pay it with a test card, as Stripe.js would in the buyer's browser"
curl -sS -X POST "$LOCALSTRIPE_URL/v1/payment_intents/$PAYMENT_INTENT" -u "$STRIPE_SECRET_KEY:" \
  -d payment_method=pm_card_visa >/dev/null
curl -sS -X POST "$LOCALSTRIPE_URL/v1/payment_intents/$PAYMENT_INTENT/confirm" -u "$STRIPE_SECRET_KEY:" \
  | python3 -c 'import json, sys; print("PaymentIntent:", json.load(sys.stdin)["status"])'

step "Stripe's payment_intent.succeeded webhook completes the order (about a second later)"
for _ in $(seq 1 40); do
  request GET "/orders/$CARD_ORDER_ID" -H "Authorization: Bearer $ACCESS" >/dev/null
  [ "$(field status)" = PENDING ] || break
  sleep 0.5
done
request GET "/orders/$CARD_ORDER_ID" -H "Authorization: Bearer $ACCESS"
if [ "$(field status)" != COMPLETED ]; then
  echo "the order is still $(field status): did the webhook reach $API/payments/stripe/webhook?" >&2
  exit 1
fi
