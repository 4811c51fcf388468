"""V16: OAuth provider links and user-less magic-link registration tokens."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "oauth providers and magic-link registration"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_user_oauth_providers", "table dropped"),
    Loss(
        "phoenix_kit_users_tokens",
        "pending magic-link registration tokens deleted",
        # Counted by the confirmation prompt: exact types and a qualified operator,
        # so no operator planted on the search_path can run (varchar has no "=").
        '"user_id" IS NULL AND "context"::pg_catalog.text '
        "OPERATOR(pg_catalog.=) 'magic_link_registration'::pg_catalog.text",
    ),
)


def up(schema: str) -> list[str]:
    tokens = f'{schema}."phoenix_kit_users_tokens"'
    oauth = f'{schema}."phoenix_kit_user_oauth_providers"'
    return [
        f'ALTER TABLE {tokens} ALTER COLUMN "user_id" DROP NOT NULL',
        f'ALTER TABLE {tokens} ADD CONSTRAINT "user_id_required_for_non_registration_tokens" '
        f"CHECK (CASE WHEN \"context\" = 'magic_link_registration' THEN true ELSE \"user_id\" IS NOT NULL END)",
        f'CREATE TABLE {oauth} ("id" bigserial, "user_id" bigint NOT NULL, '
        f'CONSTRAINT "phoenix_kit_user_oauth_providers_user_id_fkey" FOREIGN KEY ("user_id") '
        f'REFERENCES {schema}."phoenix_kit_users"("id") ON DELETE CASCADE ON UPDATE CASCADE, '
        f'"provider" varchar(255) NOT NULL, "provider_uid" varchar(255) NOT NULL, '
        f'"provider_email" varchar(255) NULL, "access_token" text NULL, "refresh_token" text NULL, '
        f'"token_expires_at" timestamp NULL, "raw_data" jsonb DEFAULT \'{{}}\' NULL, '
        f'"inserted_at" timestamp NOT NULL, "updated_at" timestamp NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_oauth_providers_user_provider_idx" ON {oauth} ("user_id", "provider")',
        f'CREATE UNIQUE INDEX "phoenix_kit_oauth_providers_provider_uid_idx" ON {oauth} ("provider", "provider_uid")',
        f'CREATE INDEX "phoenix_kit_user_oauth_providers_provider_email_index" ON {oauth} ("provider_email")',
        f'CREATE INDEX "phoenix_kit_user_oauth_providers_provider_index" ON {oauth} ("provider")',
        f'CREATE INDEX "phoenix_kit_user_oauth_providers_user_id_index" ON {oauth} ("user_id")',
    ]


def down(schema: str) -> list[str]:
    tokens = f'{schema}."phoenix_kit_users_tokens"'
    return [
        f'DROP TABLE {schema}."phoenix_kit_user_oauth_providers"',
        f'ALTER TABLE {tokens} DROP CONSTRAINT "user_id_required_for_non_registration_tokens"',
        f"DELETE FROM {tokens} WHERE \"user_id\" IS NULL AND \"context\" = 'magic_link_registration'",
        f'ALTER TABLE {tokens} ALTER COLUMN "user_id" SET NOT NULL',
    ]
