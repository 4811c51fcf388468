"""V04: settings module tag and the referral-code tables."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "settings module and referral codes"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_referral_code_usage", "table dropped"),
    Loss("phoenix_kit_referral_codes", "table dropped"),
    Loss("phoenix_kit_settings", "column module dropped", "module IS NOT NULL"),
)


def up(schema: str) -> list[str]:
    return [
        f'ALTER TABLE {schema}."phoenix_kit_settings" ADD COLUMN "module" varchar(255) NULL',
        f'CREATE TABLE {schema}."phoenix_kit_referral_codes" ("id" bigserial, "code" varchar(255) NOT NULL, '
        f'"description" varchar(255) NOT NULL, "status" boolean DEFAULT true NOT NULL, '
        f'"number_of_uses" integer DEFAULT 0 NOT NULL, "max_uses" integer NOT NULL, '
        f'"created_by" integer NOT NULL, "date_created" timestamp DEFAULT NOW() NOT NULL, '
        f'"expiration_date" timestamp NOT NULL, PRIMARY KEY ("id"))',
        # code_id is created as bigint with its FK directly (upstream: integer, then ALTER).
        f'CREATE TABLE {schema}."phoenix_kit_referral_code_usage" ("id" bigserial, '
        f'"code_id" bigint NOT NULL, CONSTRAINT "phoenix_kit_referral_code_usage_code_id_fkey" '
        f'FOREIGN KEY ("code_id") REFERENCES {schema}."phoenix_kit_referral_codes"("id") ON DELETE CASCADE, '
        f'"used_by" integer NOT NULL, "date_used" timestamp DEFAULT NOW() NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_referral_codes_code_uidx" '
        f'ON {schema}."phoenix_kit_referral_codes" ("code")',
        f'CREATE INDEX "phoenix_kit_referral_code_usage_code_id_idx" '
        f'ON {schema}."phoenix_kit_referral_code_usage" ("code_id")',
        f'CREATE INDEX "phoenix_kit_referral_code_usage_used_by_idx" '
        f'ON {schema}."phoenix_kit_referral_code_usage" ("used_by")',
        f'CREATE INDEX "phoenix_kit_referral_code_usage_date_used_idx" '
        f'ON {schema}."phoenix_kit_referral_code_usage" ("date_used")',
        f'UPDATE {schema}."phoenix_kit_settings" SET "module" = \'system\' '
        f"WHERE \"key\" IN ('time_zone', 'date_format', 'time_format', 'project_title')",
    ]


def down(schema: str) -> list[str]:
    return [
        f'DROP TABLE {schema}."phoenix_kit_referral_code_usage"',
        f'DROP TABLE {schema}."phoenix_kit_referral_codes"',
        f'ALTER TABLE {schema}."phoenix_kit_settings" DROP COLUMN "module"',
    ]
