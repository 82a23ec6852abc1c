from rest_framework import serializers

from core.money import MoneyAmountField
from wallets.models import API_ENTRY_TYPES, LedgerEntry, Wallet

DESCRIPTION_MAX_LENGTH = 255


class WalletSerializer(serializers.ModelSerializer):
    class Meta:
        model = Wallet
        fields = ["id", "balance", "currency", "is_frozen", "updated_at"]
        read_only_fields = fields


class TransactionSerializer(serializers.ModelSerializer):
    """One ledger entry of the caller's wallet; `amount` is signed and balanceAfter = balanceBefore + amount."""

    type = serializers.ChoiceField(choices=API_ENTRY_TYPES, read_only=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "type", "amount", "balance_before", "balance_after", "description", "order_id", "created_at"]
        read_only_fields = fields


class AmountSerializer(serializers.Serializer):
    amount = MoneyAmountField(help_text="Positive, at most 2 decimal places; a JSON number or a string.")
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True, default="")


class TransactionFilterSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=API_ENTRY_TYPES, required=False)
