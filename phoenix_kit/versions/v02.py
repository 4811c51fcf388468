"""V02: drop the soft-delete flag from role assignments (inactive ones are deleted)."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "drop role assignment is_active"

UP_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_user_role_assignments", "inactive role assignments deleted", 'NOT "is_active"'),
)

# The assignments up deleted do not come back; down itself destroys nothing.
DOWN_LOSES: tuple[Loss, ...] = ()


def up(schema: str) -> list[str]:
    return [
        f'DELETE FROM {schema}."phoenix_kit_user_role_assignments" WHERE "is_active" = false',
        f'DROP INDEX {schema}."idx_user_role_assignments_user_active"',
        f'DROP INDEX {schema}."idx_user_role_assignments_role_active"',
        f'ALTER TABLE {schema}."phoenix_kit_user_role_assignments" DROP COLUMN "is_active"',
    ]


def down(schema: str) -> list[str]:
    # The column comes back as the last column (V01 had it before inserted_at).
    return [
        f'ALTER TABLE {schema}."phoenix_kit_user_role_assignments" '
        f'ADD COLUMN "is_active" boolean DEFAULT true NOT NULL',
        f'UPDATE {schema}."phoenix_kit_user_role_assignments" SET "is_active" = true',
        f'CREATE INDEX "idx_user_role_assignments_user_active" '
        f'ON {schema}."phoenix_kit_user_role_assignments" ("user_id", "is_active")',
        f'CREATE INDEX "idx_user_role_assignments_role_active" '
        f'ON {schema}."phoenix_kit_user_role_assignments" ("role_id", "is_active")',
    ]
