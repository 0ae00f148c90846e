{#- Rows of a dlt load that has not finished (status 0 in `_dlt_loads`) must never reach a
    mart: filter every staging model on this. -#}
{% macro completed_loads(source_name) -%}
    _dlt_load_id in (
        select loads.load_id
        from {{ source(source_name, '_dlt_loads') }} as loads
        where loads.status = 0
    )
{%- endmacro %}
