-- DORA's five software delivery metrics per ISO week (Monday 00:00 UTC): for the
-- organization, per team and per service. See macros/dora.sql and docs/metrics.md.
{{ dora_metrics('week') }}
