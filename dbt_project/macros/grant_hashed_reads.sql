{#- After each build of a mart, the tenant's hashed analyst role (seamline db grant) may read its
    documented columns except those marked `meta: {pii: true}`: hashed identifiers, amounts and
    dates, never an email, phone, name or address. Column grants, so Postgres itself refuses the
    rest; re-applied every build because dbt replaces the table. Undocumented columns stay closed. The schema's USAGE is granted once by
    `db grant` (two dbt threads granting it at once collide on the schema's ACL). -#}
{% macro grant_hashed_reads() -%}
    {%- set role = env_var('SEAMLINE_HASHED_ROLE', '') -%}
    {%- if execute and role -%}
        {%- set found = run_query("select 1 from pg_roles where rolname = '" ~ role ~ "'") -%}
        {%- if found.rows | length > 0 -%}
            {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
            {%- set readable = [] -%}
            {%- for name, column in model.columns.items() -%}
                {%- if name in present and not column.meta.get('pii', false) -%}
                    {%- do readable.append(adapter.quote(name)) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if readable -%}
                grant select ({{ readable | join(', ') }}) on {{ this }} to {{ adapter.quote(role) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
