{%- set columns = dlt_columns(source('lightspeed', 'inventory')) -%}
{%- set quantities = ['inventory_level', 'current_amount', 'reorder_point', 'reorder_amount'] -%}

with

source as (

    select * from {{ source('lightspeed', 'inventory') }}
    where {{ completed_loads('lightspeed') }}

),

renamed as (

    select
        id as inventory_id,
        {{ dlt_column(columns, 'product_id', 'text') }} as product_id,
        {{ dlt_column(columns, 'outlet_id', 'text') }} as outlet_id,
        -- in units sold (one 2 kg bag is 1), not in Finale's units
        {%- for column in quantities %}
            {{ dlt_column(columns, column, 'numeric(18, 4)') }} as {{ column }},
        {%- endfor %}
        {{ dlt_column(columns, 'average_cost', 'numeric(20, 5)') }} as average_cost,
        {{ dlt_column(columns, 'version', 'bigint') }} as version,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz') }} as deleted_seen_at,
        {{ dlt_variant_flag(columns, quantities + ['average_cost']) }} as has_type_drift,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
