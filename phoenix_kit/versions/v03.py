"""V03: key/value settings table seeded with three system settings."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "settings table"

DOWN_LOSES: tuple[Loss, ...] = (Loss("phoenix_kit_settings", "table dropped"),)


def up(schema: str) -> list[str]:
    return [
        f'CREATE TABLE {schema}."phoenix_kit_settings" ("id" bigserial, "key" varchar(255) NOT NULL, '
        f'"value" varchar(255) NOT NULL, "date_added" timestamp DEFAULT NOW() NOT NULL, '
        f'"date_updated" timestamp DEFAULT NOW() NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_settings_key_uidx" ON {schema}."phoenix_kit_settings" ("key")',
        f'INSERT INTO {schema}."phoenix_kit_settings" ("key", "value", "date_added", "date_updated") VALUES '
        f"('time_zone', '0', NOW(), NOW()), "
        f"('date_format', 'Y-m-d', NOW(), NOW()), "
        f"('time_format', 'H:i', NOW(), NOW())",
    ]


def down(schema: str) -> list[str]:
    return [f'DROP TABLE {schema}."phoenix_kit_settings"']
