"""V10: registration IP and geolocation columns on users."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "registration analytics"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss(
        "phoenix_kit_users",
        "columns registration_ip, registration_country, registration_region, registration_city dropped",
        "registration_ip IS NOT NULL OR registration_country IS NOT NULL"
        " OR registration_region IS NOT NULL OR registration_city IS NOT NULL",
    ),
)


def up(schema: str) -> list[str]:
    users = f'{schema}."phoenix_kit_users"'
    return [
        f'ALTER TABLE {users} ADD COLUMN "registration_ip" varchar(45) NULL, '
        f'ADD COLUMN "registration_country" varchar(2) NULL, '
        f'ADD COLUMN "registration_region" varchar(100) NULL, '
        f'ADD COLUMN "registration_city" varchar(100) NULL',
        f'CREATE INDEX "phoenix_kit_users_reg_country_date_idx" ON {users} ("registration_country", "inserted_at")',
        f'CREATE INDEX "phoenix_kit_users_reg_region_date_idx" ON {users} ("registration_region", "inserted_at")',
        f'CREATE INDEX "phoenix_kit_users_reg_city_date_idx" ON {users} ("registration_city", "inserted_at")',
        f'CREATE INDEX "phoenix_kit_users_reg_ip_date_idx" ON {users} ("registration_ip", "inserted_at")',
        f'CREATE INDEX "phoenix_kit_users_reg_geo_idx" '
        f'ON {users} ("registration_country", "registration_region", "registration_city")',
    ]


def down(schema: str) -> list[str]:
    # The five indexes go with the columns.
    return [
        f'ALTER TABLE {schema}."phoenix_kit_users" DROP COLUMN "registration_city", '
        f'DROP COLUMN "registration_region", DROP COLUMN "registration_country", '
        f'DROP COLUMN "registration_ip"',
    ]
