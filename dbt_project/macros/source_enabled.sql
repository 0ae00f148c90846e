{#- Whether a source has landed data: Seamline passes the loaded sources as the
    `enabled_sources` var, so a retailer without, say, Finale still gets a green build. -#}
{% macro source_enabled(name) -%}
    {{ return(name in var('enabled_sources')) }}
{%- endmacro %}
