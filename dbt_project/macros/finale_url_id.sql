{#- Finale references records by URL ("/redhillfresh/api/facility/100000"): the id is the last
    path segment. An empty or missing URL is null. -#}
{% macro finale_url_id(column) -%}
    nullif(substring(trim({{ column }}) from '([^/]+)/?$'), '')
{%- endmacro %}
