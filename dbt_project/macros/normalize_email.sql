{#- Emails compare lowercased and trimmed; an empty string is no email. -#}
{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}
