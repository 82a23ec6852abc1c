from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.idempotency import idempotent
from core.schema import problem_responses
from core.streaming import csv_response
from core.views import FirstRendererOnNotAcceptable, OptionsWithoutCredentials
from wallets import selectors, services
from wallets.models import API_ENTRY_TYPES
from wallets.serializers import (
    STATEMENT_MAX_DAYS,
    AmountSerializer,
    StatementQuerySerializer,
    TransactionFilterSerializer,
    TransactionSerializer,
    WalletSerializer,
)
from wallets.statements import statement_rows


class WalletViewSet(OptionsWithoutCredentials, viewsets.GenericViewSet):
    """The caller's wallet: balance, deposits, withdrawals and history."""

    @extend_schema(operation_id="wallet_retrieve", tags=["wallet"], responses={200: WalletSerializer})
    def current(self, request):
        wallet = selectors.wallet_get_for_user(user=request.user)
        return Response(WalletSerializer(wallet).data)

    @extend_schema(
        operation_id="wallet_deposit",
        tags=["wallet"],
        request=AmountSerializer,
        responses={201: TransactionSerializer},
        description="Add money to the wallet (at most MAXIMUM_DEPOSIT per deposit). Returns the DEPOSIT transaction.",
    )
    @problem_responses(409)
    @action(detail=False, methods=["post"])
    @idempotent
    def deposit(self, request):
        return self._move_money(request, services.wallet_deposit)

    @extend_schema(
        operation_id="wallet_withdraw",
        tags=["wallet"],
        request=AmountSerializer,
        responses={201: TransactionSerializer},
        description=(
            "Take money out of the wallet (at least MINIMUM_WITHDRAWAL, never below a zero balance). "
            "Returns the WITHDRAWAL transaction, with a negative amount."
        ),
    )
    @problem_responses(409)
    @action(detail=False, methods=["post"])
    @idempotent
    def withdraw(self, request):
        return self._move_money(request, services.wallet_withdraw)

    @staticmethod
    def _move_money(request, service) -> Response:
        """Validate `{amount, description?}`, run the deposit or withdrawal service, answer its entry."""
        serializer = AmountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = service(user=request.user, **serializer.validated_data)
        return Response(TransactionSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="wallet_transactions",
        tags=["wallet"],
        parameters=[
            # "" is accepted (an optional query value left empty is ignored), so it is documented too.
            OpenApiParameter(
                "type", str, enum=["", *API_ENTRY_TYPES], description="Only transactions of this type; empty: all."
            )
        ],
        responses={200: TransactionSerializer(many=True)},
        description="The wallet's transactions, newest first.",
    )
    @action(detail=False, methods=["get"])
    def transactions(self, request):
        filters = TransactionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wallet = selectors.wallet_get_for_user(user=request.user)
        entries = selectors.entry_history_for_wallet(wallet=wallet, entry_type=filters.validated_data.get("type"))
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(TransactionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="wallet_statement",
        tags=["wallet"],
        parameters=[StatementQuerySerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description=(
            "The wallet's statement over whole UTC days, `from` to `to` included (at most "
            f"{STATEMENT_MAX_DAYS} days), as CSV with the columns "
            "`date,id,type,description,orderId,amount,balanceAfter`: first an `OPENING_BALANCE` row "
            "(the balance before `from`), then every entry oldest first, then a `CLOSING_BALANCE` row; "
            "opening + the sum of the amounts = closing. Streamed as it is read."
        ),
    )
    @problem_responses(400)
    # Errors stay problem+json even for a client that accepts only text/csv.
    @action(detail=False, methods=["get"], content_negotiation_class=FirstRendererOnNotAcceptable)
    def statement(self, request):
        query = StatementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        first_day, last_day = query.validated_data["from"], query.validated_data["to"]
        wallet = selectors.wallet_get_for_user(user=request.user)
        return csv_response(
            rows=statement_rows(wallet=wallet, first_day=first_day, last_day=last_day),
            filename=f"statement-{first_day.isoformat()}-{last_day.isoformat()}.csv",
        )
