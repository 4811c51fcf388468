"""V11: per-user timezone offset."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "user timezone"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_users", "column user_timezone dropped", "user_timezone IS NOT NULL"),
)


def up(schema: str) -> list[str]:
    return [f'ALTER TABLE {schema}."phoenix_kit_users" ADD COLUMN "user_timezone" varchar(3) NULL']


def down(schema: str) -> list[str]:
    return [f'ALTER TABLE {schema}."phoenix_kit_users" DROP COLUMN "user_timezone"']
