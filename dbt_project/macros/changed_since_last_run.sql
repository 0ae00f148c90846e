{#- In an incremental run, keep rows whose `column` (when the source last changed them)
    is newer than the newest already in the model, less a lookback for safety; in a full
    run, keep everything. -#}
{% macro changed_since_last_run(column, this_column='source_changed_at') -%}
    {%- if is_incremental() -%}
        {{ column }} > (
            select coalesce(max({{ this_column }}), '-infinity'::timestamptz)
                - interval '{{ var("incremental_lookback_hours") }} hours'
            from {{ this }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
