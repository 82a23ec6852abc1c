from datetime import date

from rest_framework import serializers

from core.money import MoneyAmountField
from core.serializers import CachedFieldsModelSerializer
from wallets.models import API_ENTRY_TYPES, LedgerEntry, Wallet

DESCRIPTION_MAX_LENGTH = 255


class WalletSerializer(CachedFieldsModelSerializer):
    class Meta:
        model = Wallet
        fields = ["id", "balance", "currency", "is_frozen", "updated_at"]
        read_only_fields = fields


class TransactionSerializer(CachedFieldsModelSerializer):
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


# The longest statement one request may ask for, in days (a leap year).
STATEMENT_MAX_DAYS = 366


class StatementQuerySerializer(serializers.Serializer):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD`: whole UTC days, both included, at most STATEMENT_MAX_DAYS of them."""

    def get_fields(self):
        # `from` is a Python keyword, so the fields cannot be class attributes.
        return {
            "from": serializers.DateField(input_formats=["%Y-%m-%d"], help_text="First day (UTC), YYYY-MM-DD."),
            "to": serializers.DateField(
                input_formats=["%Y-%m-%d"], help_text="Last day (UTC), YYYY-MM-DD, included; not before `from`."
            ),
        }

    def validate(self, data):
        first_day, last_day = data["from"], data["to"]
        if last_day < first_day:
            raise serializers.ValidationError({"to": ["Must not be before the from date."]})
        if last_day == date.max:
            # The statement ends at the start of the next day, which does not exist.
            raise serializers.ValidationError({"to": [f"Must be before {date.max.isoformat()}."]})
        if (last_day - first_day).days + 1 > STATEMENT_MAX_DAYS:
            raise serializers.ValidationError({"to": [f"A statement covers at most {STATEMENT_MAX_DAYS} days."]})
        return data
