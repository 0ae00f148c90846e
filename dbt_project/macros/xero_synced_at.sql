{#- When Seamline last read Xero: the start of its newest completed load. An order placed or
    changed after it may already have an invoice (or a void) our copy has not seen, so the
    outbound Xero jobs leave it for the run after the next Xero sync rather than risk a second
    invoice. -#}
{% macro xero_synced_at() -%}
    (
        select max({{ dlt_loaded_at('loads.load_id') }})
        from {{ source('xero', '_dlt_loads') }} as loads
        where loads.status = 0
    )
{%- endmacro %}
