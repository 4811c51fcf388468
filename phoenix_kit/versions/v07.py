"""V07: e-mail log and per-e-mail event tables."""

from __future__ import annotations

from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "email logs and events"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_email_events", "table dropped"),
    Loss("phoenix_kit_email_logs", "table dropped"),
)


def up(schema: str) -> list[str]:
    logs = f'{schema}."phoenix_kit_email_logs"'
    events = f'{schema}."phoenix_kit_email_events"'
    return [
        f'CREATE TABLE {logs} ("id" bigserial, "message_id" varchar(255) NOT NULL, '
        f'"to" varchar(255) NOT NULL, "from" varchar(255) NOT NULL, "subject" varchar(255) NULL, '
        f'"headers" jsonb DEFAULT \'{{}}\' NULL, "body_preview" text NULL, "body_full" text NULL, '
        f'"template_name" varchar(255) NULL, "campaign_id" varchar(255) NULL, '
        f'"attachments_count" integer DEFAULT 0 NOT NULL, "size_bytes" integer NULL, '
        f'"retry_count" integer DEFAULT 0 NOT NULL, "error_message" text NULL, '
        f'"status" varchar(255) DEFAULT \'sent\' NOT NULL, "sent_at" timestamp DEFAULT NOW() NOT NULL, '
        f'"delivered_at" timestamp NULL, "configuration_set" varchar(255) NULL, '
        f'"message_tags" jsonb DEFAULT \'{{}}\' NULL, "provider" varchar(255) DEFAULT \'unknown\' NOT NULL, '
        f'"user_id" integer NULL, "inserted_at" timestamp NOT NULL, "updated_at" timestamp NOT NULL, '
        f'PRIMARY KEY ("id"))',
        # email_log_id is created as bigint with its FK directly (upstream: integer, then ALTER).
        f'CREATE TABLE {events} ("id" bigserial, "email_log_id" bigint NOT NULL, '
        f'CONSTRAINT "phoenix_kit_email_events_email_log_id_fkey" FOREIGN KEY ("email_log_id") '
        f'REFERENCES {logs}("id") ON DELETE CASCADE, '
        f'"event_type" varchar(255) NOT NULL, "event_data" jsonb DEFAULT \'{{}}\' NULL, '
        f'"occurred_at" timestamp DEFAULT NOW() NOT NULL, "ip_address" varchar(255) NULL, '
        f'"user_agent" varchar(255) NULL, "geo_location" jsonb DEFAULT \'{{}}\' NULL, '
        f'"link_url" varchar(255) NULL, "bounce_type" varchar(255) NULL, '
        f'"complaint_type" varchar(255) NULL, "inserted_at" timestamp NOT NULL, '
        f'"updated_at" timestamp NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE INDEX "phoenix_kit_email_logs_to_sent_at_idx" ON {logs} ("to", "sent_at")',
        f'CREATE INDEX "phoenix_kit_email_logs_status_sent_at_idx" ON {logs} ("status", "sent_at")',
        f'CREATE INDEX "phoenix_kit_email_logs_sent_at_idx" ON {logs} ("sent_at")',
        f'CREATE UNIQUE INDEX "phoenix_kit_email_logs_message_id_uidx" ON {logs} ("message_id")',
        f'CREATE INDEX "phoenix_kit_email_logs_user_id_idx" ON {logs} ("user_id")',
        f'CREATE INDEX "phoenix_kit_email_logs_campaign_id_idx" ON {logs} ("campaign_id")',
        f'CREATE INDEX "phoenix_kit_email_logs_template_name_idx" ON {logs} ("template_name")',
        f'CREATE INDEX "phoenix_kit_email_logs_provider_sent_at_idx" ON {logs} ("provider", "sent_at")',
        f'CREATE INDEX "phoenix_kit_email_events_email_log_id_idx" ON {events} ("email_log_id")',
        f'CREATE INDEX "phoenix_kit_email_events_type_occurred_at_idx" ON {events} ("event_type", "occurred_at")',
        f'CREATE INDEX "phoenix_kit_email_events_occurred_at_idx" ON {events} ("occurred_at")',
    ]


def down(schema: str) -> list[str]:
    return [
        f'DROP TABLE {schema}."phoenix_kit_email_events"',
        f'DROP TABLE {schema}."phoenix_kit_email_logs"',
    ]
