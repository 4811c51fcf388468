"""Realistic, deterministic rows in every table of a prefix at the latest version.

Thousands of users (with usernames, registration data and time zones), their
session and confirmation tokens, pending magic-link registrations without a
user, custom roles and role assignments, settings with NULL values and JSON,
referral codes (some without expiry, some with a beneficiary) and their uses,
e-mail logs with AWS fields and compressed bodies, their events, a blocklist,
templates and OAuth links. Every optional column is sometimes NULL and
sometimes not, so every declared loss of every version affects some rows and
spares others. Built with generate_series, no randomness: two prefixes
populated with the same scale hold the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

T0 = "timestamp '2024-01-01 00:00:00'"

POPULATE = f"""
INSERT INTO {{s}}.phoenix_kit_users
  (email, hashed_password, first_name, last_name, is_active, confirmed_at, inserted_at, updated_at,
   username, registration_ip, registration_country, registration_region, registration_city, user_timezone)
SELECT 'User.' || i || '@Example.com', md5(i::text),
       CASE WHEN i % 5 <> 0 THEN 'First' || i END, CASE WHEN i % 6 <> 0 THEN 'Last' || i END,
       i % 9 <> 0, CASE WHEN i % 4 <> 0 THEN {T0} + i * interval '1 minute' END,
       {T0} + i * interval '1 hour', {T0} + i * interval '2 hours',
       CASE WHEN i % 3 <> 0 THEN 'user_' || i END,
       CASE WHEN i % 2 = 0 THEN '10.0.' || (i / 256) % 256 || '.' || i % 256 END,
       CASE WHEN i % 7 < 5 THEN (ARRAY['US', 'DE', 'FR', 'JP', 'BR'])[1 + i % 5] END,
       CASE WHEN i % 7 < 4 THEN 'Region ' || i % 50 END,
       CASE WHEN i % 7 < 3 THEN 'City ' || i % 300 END,
       CASE WHEN i % 8 < 6 THEN (ARRAY['+1', '-5', '0', '+9', '+10'])[1 + i % 5] END
FROM generate_series(1, {{users}}) AS i;

INSERT INTO {{s}}.phoenix_kit_users_tokens (user_id, token, context, sent_to, inserted_at)
SELECT u.id, decode(md5(u.id || '-' || k), 'hex'), (ARRAY['session', 'confirm', 'reset_password'])[1 + (u.id + k) % 3],
       CASE WHEN k = 2 THEN u.email::text END, u.inserted_at
FROM {{s}}.phoenix_kit_users AS u, generate_series(1, 2) AS k;

INSERT INTO {{s}}.phoenix_kit_users_tokens (user_id, token, context, sent_to, inserted_at)
SELECT NULL, decode(md5('magic-' || i), 'hex'), 'magic_link_registration', 'new' || i || '@example.com', {T0}
FROM generate_series(1, {{users}} / 30) AS i;

INSERT INTO {{s}}.phoenix_kit_user_roles (name, description, is_system_role, inserted_at, updated_at)
SELECT 'Role ' || i, CASE WHEN i % 2 = 0 THEN 'Custom role ' || i END, false, {T0}, {T0}
FROM generate_series(1, 20) AS i;

INSERT INTO {{s}}.phoenix_kit_user_role_assignments (user_id, role_id, assigned_by, assigned_at, inserted_at)
SELECT u.id, r.id, CASE WHEN u.id % 10 <> 0 THEN (SELECT min(id) FROM {{s}}.phoenix_kit_users) + u.id % 50 END,
       u.inserted_at, u.inserted_at
FROM {{s}}.phoenix_kit_users AS u
JOIN {{s}}.phoenix_kit_user_roles AS r
  ON r.name IN ((ARRAY['Owner', 'Admin', 'User'])[1 + u.id % 3], 'Role ' || (1 + u.id % 20))
WHERE u.id % 4 <> 0;

INSERT INTO {{s}}.phoenix_kit_settings (key, value, module, value_json, date_added, date_updated)
SELECT 'setting_' || i, CASE WHEN i % 4 <> 0 THEN 'value ' || i END, CASE WHEN i % 3 = 0 THEN 'module_' || i % 5 END,
       CASE WHEN i % 4 = 0 OR i % 5 = 0 THEN jsonb_build_object('n', i, 'tags', jsonb_build_array('a', i)) END, {T0}, {T0}
FROM generate_series(1, {{users}} / 8) AS i;

INSERT INTO {{s}}.phoenix_kit_referral_codes
  (code, description, status, number_of_uses, max_uses, created_by, date_created, expiration_date, beneficiary)
SELECT 'CODE' || lpad(i::text, 6, '0'), 'Code ' || i, i % 5 <> 0, i % 7, 10 + i % 90, 1 + i % 100, {T0},
       CASE WHEN i % 3 <> 0 THEN {T0} + i * interval '1 day' END, CASE WHEN i % 4 = 0 THEN 1 + i % 200 END
FROM generate_series(1, {{users}} / 8) AS i;

INSERT INTO {{s}}.phoenix_kit_referral_code_usage (code_id, used_by, date_used)
SELECT c.id, 1 + (c.id * k) % 1000, {T0} + k * interval '1 day'
FROM {{s}}.phoenix_kit_referral_codes AS c, generate_series(1, 2) AS k;

INSERT INTO {{s}}.phoenix_kit_email_logs
  ("message_id", "to", "from", subject, headers, body_preview, body_full, template_name, campaign_id,
   attachments_count, size_bytes, retry_count, error_message, status, sent_at, delivered_at, configuration_set,
   message_tags, provider, user_id, inserted_at, updated_at,
   aws_message_id, bounced_at, complained_at, opened_at, clicked_at, body_compressed)
SELECT '<msg-' || i || '@example.com>', 'user' || i % 500 || '@example.com', 'noreply@example.com', 'Subject ' || i,
       jsonb_build_object('X-Id', i), left(md5(i::text), 20), repeat(md5(i::text), 3),
       CASE WHEN i % 3 = 0 THEN 'welcome' END, CASE WHEN i % 4 = 0 THEN 'spring' END,
       i % 3, 1000 + i, i % 2, CASE WHEN i % 17 = 0 THEN 'timeout' END,
       (ARRAY['sent', 'delivered', 'bounced', 'opened'])[1 + i % 4], {T0} + i * interval '1 minute',
       CASE WHEN i % 2 = 0 THEN {T0} + i * interval '2 minutes' END, CASE WHEN i % 5 = 0 THEN 'default' END,
       jsonb_build_object('tag', i % 7), (ARRAY['aws_ses', 'smtp'])[1 + i % 2], CASE WHEN i % 3 <> 0 THEN i END,
       {T0}, {T0},
       CASE WHEN i % 2 = 0 THEN 'aws-' || i END, CASE WHEN i % 11 = 0 THEN {T0} END,
       CASE WHEN i % 13 = 0 THEN {T0} END, CASE WHEN i % 5 = 0 THEN {T0} END, CASE WHEN i % 7 = 0 THEN {T0} END,
       i % 6 = 0
FROM generate_series(1, {{users}}) AS i;

INSERT INTO {{s}}.phoenix_kit_email_events
  (email_log_id, event_type, event_data, occurred_at, ip_address, user_agent, geo_location, link_url, bounce_type,
   complaint_type, inserted_at, updated_at, reject_reason, delay_type, subscription_type, failure_reason)
SELECT l.id, (ARRAY['send', 'delivery', 'open', 'click', 'bounce'])[1 + (l.id + k) % 5], jsonb_build_object('k', k),
       {T0} + k * interval '1 hour', CASE WHEN k = 2 THEN '192.0.2.' || l.id % 250 END, 'Agent/' || k,
       jsonb_build_object('country', 'DE'), CASE WHEN (l.id + k) % 5 = 3 THEN 'https://example.com/' || l.id END,
       CASE WHEN (l.id + k) % 5 = 4 THEN 'Permanent' END, NULL, {T0}, {T0},
       CASE WHEN (l.id + k) % 9 = 0 THEN 'rejected' END, CASE WHEN (l.id + k) % 10 = 0 THEN 'transient' END,
       CASE WHEN (l.id + k) % 11 = 0 THEN 'unsubscribe' END, CASE WHEN (l.id + k) % 12 = 0 THEN 'fail' END
FROM {{s}}.phoenix_kit_email_logs AS l, generate_series(1, 2) AS k;

INSERT INTO {{s}}.phoenix_kit_email_blocklist (email, reason, expires_at, user_id, inserted_at, updated_at)
SELECT 'blocked' || i || '@spam.example', (ARRAY['bounce', 'complaint', 'manual'])[1 + i % 3],
       CASE WHEN i % 2 = 0 THEN {T0} + i * interval '1 day' END, CASE WHEN i % 3 = 0 THEN i END, {T0}, {T0}
FROM generate_series(1, {{users}} / 8) AS i;

INSERT INTO {{s}}.phoenix_kit_email_templates
  (uuid, name, slug, display_name, description, subject, html_body, text_body, category, status, variables, metadata,
   usage_count, last_used_at, version, is_system, created_by_user_id, inserted_at, updated_at)
SELECT md5('template' || i)::uuid, 'template_' || i, 'template-' || i, 'Template ' || i,
       CASE WHEN i % 2 = 0 THEN 'About ' || i END, 'Hello {{{{name}}}} ' || i, '<p>' || i || '</p>', 'Text ' || i,
       (ARRAY['transactional', 'marketing', 'system'])[1 + i % 3], (ARRAY['draft', 'active'])[1 + i % 2],
       jsonb_build_object('name', 'string'), '{{{{}}}}'::jsonb, i * 3, CASE WHEN i % 3 = 0 THEN {T0} END, 1 + i % 4,
       i % 10 = 0, CASE WHEN i % 2 = 0 THEN i END, {T0}, {T0}
FROM generate_series(1, 40) AS i;

INSERT INTO {{s}}.phoenix_kit_user_oauth_providers
  (user_id, provider, provider_uid, provider_email, access_token, refresh_token, token_expires_at, raw_data,
   inserted_at, updated_at)
SELECT u.id, p.provider, p.provider || '-' || u.id, CASE WHEN u.id % 2 = 0 THEN u.email::text END,
       md5('access' || u.id), CASE WHEN u.id % 3 = 0 THEN md5('refresh' || u.id) END,
       CASE WHEN u.id % 5 = 0 THEN {T0} END, jsonb_build_object('id', u.id), {T0}, {T0}
FROM {{s}}.phoenix_kit_users AS u
JOIN (VALUES ('google', 4), ('github', 6)) AS p (provider, every) ON u.id % p.every = 0;
"""


@dataclass(frozen=True)
class Scale:
    users: int = 2000


def populate(conn: psycopg.Connection[Any], prefix: str, scale: Scale = Scale()) -> None:
    """Fill every table of ``prefix`` (at the latest version) with rows."""
    schema = sql.Identifier(prefix).as_string(conn)
    with conn.transaction():
        conn.execute(POPULATE.format(s=schema, users=scale.users))
