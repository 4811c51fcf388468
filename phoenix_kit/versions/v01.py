"""V01: version table, users (citext e-mail), tokens, roles and role assignments."""

from __future__ import annotations

from phoenix_kit.sqltext import do_block, quote_literal
from phoenix_kit.trust import CITEXT_FIX, UNSAFE_SQLSTATE, citext_owner_problem
from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "users, tokens and roles"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_user_role_assignments", "table dropped"),
    Loss("phoenix_kit_user_roles", "table dropped"),
    Loss("phoenix_kit_users_tokens", "table dropped"),
    Loss("phoenix_kit_users", "table dropped"),
)


def up(schema: str) -> list[str]:
    return [
        # citext is database-wide: install it (in public) only when absent, so
        # roles without CREATE on the database pass once it exists; refuse one
        # that a role we cannot trust controls (phoenix_kit.trust), before any change.
        do_block(
            "DECLARE\n"
            "  problem text;\n"
            "BEGIN\n"
            "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension\n"
            "                 WHERE extname OPERATOR(pg_catalog.=) 'citext'::pg_catalog.name) THEN\n"
            '    CREATE EXTENSION citext SCHEMA "public";\n'
            "  END IF;\n"
            f"  problem := {citext_owner_problem()};\n"
            "  IF problem IS NOT NULL THEN\n"
            f"    RAISE EXCEPTION USING ERRCODE = {quote_literal(UNSAFE_SQLSTATE)},\n"
            "      MESSAGE = 'the citext extension ' OPERATOR(pg_catalog.||) problem OPERATOR(pg_catalog.||) "
            f"{quote_literal(': ' + CITEXT_FIX + '.')};\n"
            "  END IF;\n"
            "END;"
        ),
        f'CREATE TABLE {schema}."phoenix_kit" ("id" serial, "version" integer NOT NULL, '
        f'"migrated_at" timestamp(0) DEFAULT NOW() NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_version_index" ON {schema}."phoenix_kit" ("version")',
        # citext is qualified with the schema the extension really lives in. The
        # DDL is concatenated rather than built with format(): no statement of
        # this package contains '%', so drivers that interpolate never mangle it.
        do_block(
            "DECLARE\n"
            "  citext_schema name;\n"
            "BEGIN\n"
            "  SELECT n.nspname INTO STRICT citext_schema\n"
            "    FROM pg_catalog.pg_extension e\n"
            "    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace\n"
            "   WHERE e.extname OPERATOR(pg_catalog.=) 'citext'::pg_catalog.name;\n"
            "  EXECUTE "
            + quote_literal(f'CREATE TABLE {schema}."phoenix_kit_users" ("id" bigserial, "email" ')
            + "\n    || quote_ident(citext_schema) || "
            + quote_literal(
                '."citext" NOT NULL, "hashed_password" varchar(255) NOT NULL, '
                '"first_name" varchar(100), "last_name" varchar(100), '
                '"is_active" boolean DEFAULT true NOT NULL, "confirmed_at" timestamp(0), '
                '"inserted_at" timestamp(0) NOT NULL, "updated_at" timestamp(0) NOT NULL, '
                'PRIMARY KEY ("id"))'
            )
            + ";\nEND;"
        ),
        f'CREATE UNIQUE INDEX "phoenix_kit_users_email_index" ON {schema}."phoenix_kit_users" ("email")',
        f'CREATE TABLE {schema}."phoenix_kit_users_tokens" ("id" bigserial, "user_id" bigint NOT NULL, '
        f'CONSTRAINT "phoenix_kit_users_tokens_user_id_fkey" FOREIGN KEY ("user_id") '
        f'REFERENCES {schema}."phoenix_kit_users"("id") ON DELETE CASCADE, '
        f'"token" bytea NOT NULL, "context" varchar(255) NOT NULL, "sent_to" varchar(255), '
        f'"inserted_at" timestamp(0) NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE INDEX "phoenix_kit_users_tokens_user_id_index" ON {schema}."phoenix_kit_users_tokens" ("user_id")',
        f'CREATE UNIQUE INDEX "phoenix_kit_users_tokens_context_token_index" '
        f'ON {schema}."phoenix_kit_users_tokens" ("context", "token")',
        f'CREATE TABLE {schema}."phoenix_kit_user_roles" ("id" bigserial, "name" varchar(50) NOT NULL, '
        f'"description" text, "is_system_role" boolean DEFAULT false NOT NULL, '
        f'"inserted_at" timestamp(0) NOT NULL, "updated_at" timestamp(0) NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_user_roles_name_index" ON {schema}."phoenix_kit_user_roles" ("name")',
        f'CREATE TABLE {schema}."phoenix_kit_user_role_assignments" ("id" bigserial, '
        f'"user_id" bigint NOT NULL, CONSTRAINT "phoenix_kit_user_role_assignments_user_id_fkey" '
        f'FOREIGN KEY ("user_id") REFERENCES {schema}."phoenix_kit_users"("id") ON DELETE CASCADE, '
        f'"role_id" bigint NOT NULL, CONSTRAINT "phoenix_kit_user_role_assignments_role_id_fkey" '
        f'FOREIGN KEY ("role_id") REFERENCES {schema}."phoenix_kit_user_roles"("id") ON DELETE CASCADE, '
        f'"assigned_by" bigint, CONSTRAINT "phoenix_kit_user_role_assignments_assigned_by_fkey" '
        f'FOREIGN KEY ("assigned_by") REFERENCES {schema}."phoenix_kit_users"("id") ON DELETE SET NULL, '
        f'"assigned_at" timestamp(0) DEFAULT NOW() NOT NULL, "is_active" boolean DEFAULT true NOT NULL, '
        f'"inserted_at" timestamp(0) NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE INDEX "phoenix_kit_user_role_assignments_user_id_index" '
        f'ON {schema}."phoenix_kit_user_role_assignments" ("user_id")',
        f'CREATE INDEX "phoenix_kit_user_role_assignments_role_id_index" '
        f'ON {schema}."phoenix_kit_user_role_assignments" ("role_id")',
        f'CREATE INDEX "phoenix_kit_user_role_assignments_assigned_by_index" '
        f'ON {schema}."phoenix_kit_user_role_assignments" ("assigned_by")',
        f'CREATE UNIQUE INDEX "phoenix_kit_user_role_assignments_user_id_role_id_index" '
        f'ON {schema}."phoenix_kit_user_role_assignments" ("user_id", "role_id")',
        f'CREATE INDEX "idx_user_role_assignments_user_active" '
        f'ON {schema}."phoenix_kit_user_role_assignments" ("user_id", "is_active")',
        f'CREATE INDEX "idx_user_role_assignments_role_active" '
        f'ON {schema}."phoenix_kit_user_role_assignments" ("role_id", "is_active")',
        f'CREATE INDEX "idx_users_active" ON {schema}."phoenix_kit_users" ("is_active")',
        f'INSERT INTO {schema}."phoenix_kit_user_roles" '
        f'("name", "description", "is_system_role", "inserted_at", "updated_at") VALUES '
        f"('Owner', 'System owner with full access', true, NOW(), NOW()), "
        f"('Admin', 'Administrator with elevated privileges', true, NOW(), NOW()), "
        f"('User', 'Standard user with basic access', true, NOW(), NOW())",
    ]


def down(schema: str) -> list[str]:
    # citext is left installed: it is database-wide and may serve other prefixes.
    return [
        f'DROP TABLE {schema}."phoenix_kit_user_role_assignments"',
        f'DROP TABLE {schema}."phoenix_kit_user_roles"',
        f'DROP TABLE {schema}."phoenix_kit_users_tokens"',
        f'DROP TABLE {schema}."phoenix_kit_users"',
        f'DROP TABLE {schema}."phoenix_kit"',
    ]
