{#- Snapshots version golden records on their `last_updated_at` (a timestamptz). dbt's Postgres
    default for "now" is a timestamp without time zone, which would close deleted versions
    (hard_deletes: invalidate) in the other kind and warns on every build: use timestamptz. -#}
{% macro postgres__snapshot_get_time() -%}
    current_timestamp
{%- endmacro %}
