{#- In an incremental run, keep the rows of `alias` that this model has not yet built as they
    are now: no row of the model has the same `columns` (the key, the load that brought the
    row's current version, its deletion flag). Exact and clock-free: a load that started before
    the last build and completed after it is still new here, and a build after a quiet hour
    redoes nothing. In a full run (or before the model has these columns), keep everything. -#}
{% macro changed_since_last_run(alias, columns) -%}
    {%- set built = adapter.get_columns_in_relation(this) | map(attribute='name') | list
        if is_incremental() else [] -%}
    {%- if is_incremental() and columns | reject('in', built) | list | length == 0 -%}
        not exists (
            select 1
            from {{ this }} as built
            where
                {%- for column in columns %}
                    {% if not loop.first %}and {% endif %}built.{{ column }} = {{ alias }}.{{ column }}
                {%- endfor %}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The start of this dbt invocation (UTC), kept on every row an incremental model writes:
    when the row was last rebuilt. -#}
{% macro built_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00' as timestamptz)
{%- endmacro %}
