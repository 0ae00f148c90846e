{%- set columns = dlt_columns(source('lightspeed', 'products')) -%}
{%- set money = ['price_including_tax', 'price_excluding_tax', 'supply_price'] -%}

with

source as (

    select * from {{ source('lightspeed', 'products') }}
    where {{ completed_loads('lightspeed') }}

),

units as (

    -- the `Unit` variant option names the unit a product is sold in (kg, pack, each, bunch)
    select distinct on (_dlt_parent_id)
        _dlt_parent_id,
        nullif(trim(value), '') as unit
    from {{ source('lightspeed', 'products__variant_options') }}
    where lower(trim(name)) = 'unit'
    order by _dlt_parent_id asc, _dlt_list_idx asc

),

categories as (

    select distinct on (_dlt_parent_id)
        _dlt_parent_id,
        nullif(trim(name), '') as category
    from {{ source('lightspeed', 'products__categories') }}
    order by _dlt_parent_id asc, _dlt_list_idx asc

),

renamed as (

    select
        source.id as product_id,
        nullif(trim({{ dlt_column(columns, 'sku', 'text', 'source.') }}), '') as sku,
        {{ dlt_column(columns, 'name', 'text', 'source.') }} as product_name,
        {{ dlt_column(columns, 'handle', 'text', 'source.') }} as handle,
        units.unit,
        categories.category,
        coalesce({{ dlt_column(columns, 'is_active', 'boolean', 'source.') }}, true) as is_active,
        {{ dlt_column(columns, 'tax_id', 'text', 'source.') }} as tax_id,
        {%- for column in money %}
            {{ dlt_column(columns, column, 'numeric(20, 5)', 'source.') }} as {{ column }},
        {%- endfor %}
        {{ dlt_column(columns, 'created_at', 'timestamptz', 'source.') }} as created_at,
        {{ dlt_column(columns, 'updated_at', 'timestamptz', 'source.') }} as updated_at,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean', 'source.') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_at', 'timestamptz', 'source.') }} as deleted_at,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz', 'source.') }} as deleted_seen_at,
        {{ dlt_variant_flag(columns, money + ['updated_at'], 'source.') }} as has_type_drift,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join units on source._dlt_id = units._dlt_parent_id
    left join categories on source._dlt_id = categories._dlt_parent_id

)

select * from renamed
