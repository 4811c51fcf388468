"""V05: beneficiary column on referral codes."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "referral code beneficiary"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_referral_codes", "column beneficiary dropped", "beneficiary IS NOT NULL"),
)


def up(schema: str) -> list[str]:
    return [f'ALTER TABLE {schema}."phoenix_kit_referral_codes" ADD COLUMN "beneficiary" integer NULL']


def down(schema: str) -> list[str]:
    return [f'ALTER TABLE {schema}."phoenix_kit_referral_codes" DROP COLUMN "beneficiary"']
