{#- Models land in their folder's schema (staging, intermediate, marts, mappings),
    with the tenant prefix when there is one, not in dbt's `<target>_<custom>` form. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ env_var('SEAMLINE_SCHEMA_PREFIX', '') ~ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
