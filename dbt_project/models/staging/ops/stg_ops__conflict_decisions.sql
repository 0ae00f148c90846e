{#- Before the first decision the table may not exist yet: then there are no decisions. -#}
{%- set decisions_table = source('ops', 'conflict_decisions') -%}
{%- set table_exists = (load_relation(decisions_table) is not none) if execute else true -%}

with

{%- if table_exists %}

    source as (

        select * from {{ decisions_table }}

    ),
{%- else %}

    source as (

        select
            cast(null as bigint) as decision_id,
            cast(null as text) as entity,
            cast(null as text) as entity_key,
            cast(null as text) as field,
            cast(null as text) as chosen_value,
            cast(null as text) as chosen_source,
            cast(null as text) as note,
            cast(null as text) as decided_by,
            cast(null as timestamptz) as decided_at,
            cast(null as timestamptz) as source_newest_at,
            cast(null as text) as competing_values
        where false

    ),
{%- endif %}

renamed as (

    select
        decision_id,
        entity,
        entity_key,
        field,
        chosen_value,
        chosen_source,
        note as decision_note,
        decided_by,
        decided_at,
        source_newest_at,
        competing_values
    from source

)

select * from renamed
