{#- dlt load ids are the load's start time in Unix seconds. -#}
{% macro dlt_loaded_at(column='_dlt_load_id') -%}
    to_timestamp(cast({{ column }} as numeric))
{%- endmacro %}
