"""V12: JSON settings values (value_json; value becomes nullable)."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "json settings values"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_settings", "column value_json dropped", "value_json IS NOT NULL"),
    Loss("phoenix_kit_settings", "NULL value set to ''", "value IS NULL"),
)


def up(schema: str) -> list[str]:
    settings = f'{schema}."phoenix_kit_settings"'
    return [
        f'ALTER TABLE {settings} ADD COLUMN "value_json" jsonb NULL',
        f'ALTER TABLE {settings} ALTER COLUMN "value" DROP NOT NULL',
        f'COMMENT ON COLUMN {settings}."value_json" IS '
        f"'JSONB storage for complex settings data. When present, takes precedence over value field.'",
        f'COMMENT ON COLUMN {settings}."value" IS '
        f"'String value for simple settings. Can be NULL when using value_json for complex data.'",
    ]


def down(schema: str) -> list[str]:
    # Every NULL value becomes '' (upstream only did so when value_json was set,
    # and then failed on SET NOT NULL); the value comment is removed as in V11.
    settings = f'{schema}."phoenix_kit_settings"'
    return [
        f"UPDATE {settings} SET \"value\" = '' WHERE \"value\" IS NULL",
        f'ALTER TABLE {settings} ALTER COLUMN "value" SET NOT NULL',
        f'ALTER TABLE {settings} DROP COLUMN "value_json"',
        f'COMMENT ON COLUMN {settings}."value" IS NULL',
    ]
