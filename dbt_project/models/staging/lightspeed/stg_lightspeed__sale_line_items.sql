{%- set columns = dlt_columns(source('lightspeed', 'sales__line_items')) -%}
{%- set money = [
    'price', 'tax', 'discount', 'cost', 'total_price', 'total_tax', 'total_discount', 'total_cost',
] -%}

with

source as (

    select * from {{ source('lightspeed', 'sales__line_items') }}

),

sales as (

    -- child tables carry no load id: their parent sale's completed load vouches for them
    select
        _dlt_id,
        id
    from {{ source('lightspeed', 'sales') }}
    where {{ completed_loads('lightspeed') }}

),

renamed as (

    select
        source.id as line_item_id,
        sales.id as sale_id,
        {{ dlt_column(columns, 'product_id', 'text', 'source.') }} as product_id,
        {{ dlt_column(columns, 'sequence', 'integer', 'source.') }} as line_sequence,
        -- negative on a return
        {{ dlt_column(columns, 'quantity', 'numeric(18, 4)', 'source.') }} as quantity,
        -- unit amounts: price is tax-exclusive and after the unit discount
        {%- for column in money %}
            {{ dlt_column(columns, column, 'numeric(20, 5)', 'source.') }} as {{ column }},
        {%- endfor %}
        {{ dlt_column(columns, 'tax_id', 'text', 'source.') }} as tax_id,
        {{ dlt_column(columns, 'status', 'text', 'source.') }} as line_status,
        coalesce({{ dlt_column(columns, 'is_return', 'boolean', 'source.') }}, false) as is_return,
        {{ dlt_variant_flag(columns, money + ['quantity'], 'source.') }} as has_type_drift

    from source
    inner join sales on source._dlt_root_id = sales._dlt_id

)

select * from renamed
