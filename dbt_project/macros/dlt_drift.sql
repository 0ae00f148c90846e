{#- Staging that survives dlt's schema evolution.

    dlt only creates a column once it has seen a non-null value for it, and when a value can
    no longer be coerced into its column's type it lands in a variant column
    `<column>__v_<type>` (the sync run reports it as a `type_change`). So staging models read
    their raw columns through these macros:

    - `dlt_columns(relation)`: the relation's column names (none while parsing);
    - `dlt_column(columns, name, data_type)`: the column cast to `data_type`, coalesced with
      any variant of it (text variants of numbers are cast only when they look like a number);
      null when neither exists yet;
    - `dlt_variant_flag(columns, names)`: true when a row's value for any of `names` came from a
      variant column (false when there are none);
    - `dlt_optional_relation(relation)`: the relation if it exists (dlt creates child tables
      and drift tables only once it sees data for them), else none. -#}

{% macro dlt_columns(relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}

{% macro dlt_variants(columns, name) -%}
    {%- set found = [] -%}
    {%- for column in columns or [] -%}
        {%- if column.startswith(name ~ '__v_') -%}
            {%- do found.append(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found | sort) }}
{%- endmacro %}

{% macro dlt_variant_cast(column, data_type) -%}
    {%- set numeric = data_type.startswith('numeric') or data_type in ['bigint', 'integer', 'double precision'] -%}
    {%- if numeric -%}
        case
            when trim(cast({{ column }} as text)) ~ '^[-+]?[0-9]+(\.[0-9]+)?$'
                then cast(trim(cast({{ column }} as text)) as {{ data_type }})
        end
    {%- elif data_type == 'boolean' -%}
        case
            when lower(trim(cast({{ column }} as text))) in ('true', 't', '1', 'yes') then true
            when lower(trim(cast({{ column }} as text))) in ('false', 'f', '0', 'no') then false
        end
    {%- else -%}
        cast({{ column }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro dlt_column(columns, name, data_type, prefix='') -%}
    {%- if columns is none -%}
        cast({{ prefix }}{{ name }} as {{ data_type }})
    {%- else -%}
        {%- set parts = [] -%}
        {%- if name in columns -%}
            {%- do parts.append('cast(' ~ prefix ~ name ~ ' as ' ~ data_type ~ ')') -%}
        {%- endif -%}
        {%- for variant in dlt_variants(columns, name) -%}
            {%- do parts.append(dlt_variant_cast(prefix ~ variant, data_type)) -%}
        {%- endfor -%}
        {%- if parts | length == 0 -%}
            cast(null as {{ data_type }})
        {%- elif parts | length == 1 -%}
            {{ parts[0] }}
        {%- else -%}
            coalesce({{ parts | join(', ') }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro dlt_variant_flag(columns, names, prefix='') -%}
    {%- set checks = [] -%}
    {%- for name in names -%}
        {%- for variant in dlt_variants(columns, name) -%}
            {%- do checks.append(prefix ~ variant ~ ' is not null') -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if checks | length == 0 -%}
        false
    {%- else -%}
        ({{ checks | join(' or ') }})
    {%- endif -%}
{%- endmacro %}

{% macro dlt_optional_relation(relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(load_relation(relation)) }}
{%- endmacro %}
