"""V06: permanent referral codes (nullable expiration_date)."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "permanent referral codes"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss(
        "phoenix_kit_referral_codes",
        "NULL expiration_date set to 2099-12-31 23:59:59",
        "expiration_date IS NULL",
    ),
)


def up(schema: str) -> list[str]:
    return [f'ALTER TABLE {schema}."phoenix_kit_referral_codes" ALTER COLUMN "expiration_date" DROP NOT NULL']


def down(schema: str) -> list[str]:
    return [
        f'UPDATE {schema}."phoenix_kit_referral_codes" '
        f"SET \"expiration_date\" = '2099-12-31 23:59:59'::timestamp WHERE \"expiration_date\" IS NULL",
        f'ALTER TABLE {schema}."phoenix_kit_referral_codes" ALTER COLUMN "expiration_date" SET NOT NULL',
    ]
