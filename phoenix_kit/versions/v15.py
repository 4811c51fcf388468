"""V15: stored e-mail templates table (no seeding hook)."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "email templates"

DOWN_LOSES: tuple[Loss, ...] = (Loss("phoenix_kit_email_templates", "table dropped"),)


def up(schema: str) -> list[str]:
    table = f'{schema}."phoenix_kit_email_templates"'
    return [
        f'CREATE TABLE {table} ("id" bigserial, "uuid" uuid NULL, "name" varchar(255) NOT NULL, '
        f'"slug" varchar(255) NOT NULL, "display_name" varchar(255) NOT NULL, "description" text NULL, '
        f'"subject" varchar(255) NOT NULL, "html_body" text NOT NULL, "text_body" text NOT NULL, '
        f'"category" varchar(255) DEFAULT \'transactional\' NOT NULL, '
        f'"status" varchar(255) DEFAULT \'draft\' NOT NULL, "variables" jsonb DEFAULT \'{{}}\' NULL, '
        f'"metadata" jsonb DEFAULT \'{{}}\' NULL, "usage_count" integer DEFAULT 0 NOT NULL, '
        f'"last_used_at" timestamp NULL, "version" integer DEFAULT 1 NOT NULL, '
        f'"is_system" boolean DEFAULT false NOT NULL, "created_by_user_id" integer NULL, '
        f'"updated_by_user_id" integer NULL, "created_by_user_uuid" uuid NULL, '
        f'"updated_by_user_uuid" uuid NULL, "inserted_at" timestamp NOT NULL, '
        f'"updated_at" timestamp NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_email_templates_name_index" ON {table} ("name")',
        f'CREATE UNIQUE INDEX "phoenix_kit_email_templates_slug_index" ON {table} ("slug")',
        f'CREATE INDEX "phoenix_kit_email_templates_category_index" ON {table} ("category")',
        f'CREATE INDEX "phoenix_kit_email_templates_status_index" ON {table} ("status")',
        f'CREATE INDEX "phoenix_kit_email_templates_is_system_index" ON {table} ("is_system")',
        f'CREATE INDEX "phoenix_kit_email_templates_usage_count_index" ON {table} ("usage_count")',
        f'CREATE INDEX "phoenix_kit_email_templates_last_used_at_index" ON {table} ("last_used_at")',
        f'CREATE INDEX "phoenix_kit_email_templates_inserted_at_index" ON {table} ("inserted_at")',
        f'CREATE INDEX "phoenix_kit_email_templates_category_status_index" ON {table} ("category", "status")',
        f'CREATE INDEX "phoenix_kit_email_templates_status_is_system_index" ON {table} ("status", "is_system")',
    ]


def down(schema: str) -> list[str]:
    return [f'DROP TABLE {schema}."phoenix_kit_email_templates"']
