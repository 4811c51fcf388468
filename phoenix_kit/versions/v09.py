"""V09: e-mail blocklist table."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "email blocklist"

DOWN_LOSES: tuple[Loss, ...] = (Loss("phoenix_kit_email_blocklist", "table dropped"),)


def up(schema: str) -> list[str]:
    table = f'{schema}."phoenix_kit_email_blocklist"'
    return [
        f'CREATE TABLE {table} ("id" bigserial, "email" varchar(255) NOT NULL, '
        f'"reason" varchar(255) NOT NULL, "expires_at" timestamp NULL, "user_id" integer NULL, '
        f'"inserted_at" timestamp DEFAULT NOW() NOT NULL, "updated_at" timestamp DEFAULT NOW() NOT NULL, '
        f'PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_email_blocklist_email_uidx" ON {table} ("email")',
        f'CREATE INDEX "phoenix_kit_email_blocklist_expires_at_idx" ON {table} ("expires_at")',
        f'CREATE INDEX "phoenix_kit_email_blocklist_user_inserted_idx" ON {table} ("user_id", "inserted_at")',
        f'CREATE INDEX "phoenix_kit_email_blocklist_reason_inserted_idx" ON {table} ("reason", "inserted_at")',
        f'CREATE INDEX "phoenix_kit_email_blocklist_email_expires_idx" ON {table} ("email", "expires_at")',
    ]


def down(schema: str) -> list[str]:
    return [f'DROP TABLE {schema}."phoenix_kit_email_blocklist"']
