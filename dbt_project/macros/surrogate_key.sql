{#- md5 of the columns joined with a separator; nulls become an explicit marker so that
    (null, 'a') and ('a', null) differ. -#}
{% macro surrogate_key(columns) -%}
    md5(
        {%- for column in columns %}
        coalesce(cast({{ column }} as text), '_null_'){% if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}
