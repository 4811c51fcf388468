"""V13: AWS SES message id and event timestamps on e-mail logs, extra event fields."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "aws ses email fields"

_LOG_COLUMNS: tuple[str, ...] = ("aws_message_id", "bounced_at", "complained_at", "opened_at", "clicked_at")
_EVENT_COLUMNS: tuple[str, ...] = ("reject_reason", "delay_type", "subscription_type", "failure_reason")

DOWN_LOSES: tuple[Loss, ...] = (
    Loss(
        "phoenix_kit_email_logs",
        f"columns {', '.join(_LOG_COLUMNS)} dropped",
        " OR ".join(f"{c} IS NOT NULL" for c in _LOG_COLUMNS),
    ),
    Loss(
        "phoenix_kit_email_events",
        f"columns {', '.join(_EVENT_COLUMNS)} dropped",
        " OR ".join(f"{c} IS NOT NULL" for c in _EVENT_COLUMNS),
    ),
)


def up(schema: str) -> list[str]:
    logs = f'{schema}."phoenix_kit_email_logs"'
    events = f'{schema}."phoenix_kit_email_events"'
    return [
        f'ALTER TABLE {logs} ADD COLUMN "aws_message_id" varchar(255) NULL, '
        f'ADD COLUMN "bounced_at" timestamp NULL, ADD COLUMN "complained_at" timestamp NULL, '
        f'ADD COLUMN "opened_at" timestamp NULL, ADD COLUMN "clicked_at" timestamp NULL',
        f'CREATE UNIQUE INDEX "phoenix_kit_email_logs_aws_message_id_index" ON {logs} ("aws_message_id") '
        f'WHERE "aws_message_id" IS NOT NULL',
        f'ALTER TABLE {events} ADD COLUMN "reject_reason" varchar(255) NULL, '
        f'ADD COLUMN "delay_type" varchar(255) NULL, ADD COLUMN "subscription_type" varchar(255) NULL, '
        f'ADD COLUMN "failure_reason" varchar(255) NULL',
    ]


def down(schema: str) -> list[str]:
    # The aws_message_id index goes with its column.
    return [
        f'ALTER TABLE {schema}."phoenix_kit_email_logs" DROP COLUMN "aws_message_id", '
        f'DROP COLUMN "bounced_at", DROP COLUMN "complained_at", DROP COLUMN "opened_at", '
        f'DROP COLUMN "clicked_at"',
        f'ALTER TABLE {schema}."phoenix_kit_email_events" DROP COLUMN "reject_reason", '
        f'DROP COLUMN "delay_type", DROP COLUMN "subscription_type", DROP COLUMN "failure_reason"',
    ]
