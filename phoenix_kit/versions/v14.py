"""V14: compression flag for stored e-mail bodies."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "email body compression flag"

# Bodies stay compressed after down; only the flag saying so is lost.
DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_email_logs", "column body_compressed dropped", "body_compressed"),
)


def up(schema: str) -> list[str]:
    return [
        f'ALTER TABLE {schema}."phoenix_kit_email_logs" '
        f'ADD COLUMN "body_compressed" boolean DEFAULT false NOT NULL',
    ]


def down(schema: str) -> list[str]:
    return [f'ALTER TABLE {schema}."phoenix_kit_email_logs" DROP COLUMN "body_compressed"']
