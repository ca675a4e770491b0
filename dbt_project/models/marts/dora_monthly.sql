-- DORA's five software delivery metrics per calendar month (UTC): for the organization, per
-- team and per service. See macros/dora.sql and docs/metrics.md.
{{ dora_metrics('month') }}
