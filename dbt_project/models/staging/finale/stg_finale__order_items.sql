{%- set columns = dlt_columns(source('finale', 'orders__order_item_list')) -%}

with

source as (

    select * from {{ source('finale', 'orders__order_item_list') }}

),

orders as (

    -- child tables carry no load id: their parent order's completed load vouches for them
    select
        _dlt_id,
        order_id
    from {{ source('finale', 'orders') }}
    where {{ completed_loads('finale') }}

),

renamed as (

    select
        orders.order_id || ':' || (source._dlt_list_idx + 1) as order_item_id,
        orders.order_id,
        source._dlt_list_idx + 1 as line_number,
        {{ dlt_column(columns, 'product_id', 'text', 'source.') }} as product_id,
        -- in Finale units
        {{ dlt_column(columns, 'quantity', 'numeric(20, 6)', 'source.') }} as quantity,
        {{ dlt_column(columns, 'unit_price', 'numeric(20, 6)', 'source.') }} as unit_price,
        {{ dlt_variant_flag(columns, ['quantity', 'unit_price'], 'source.') }} as has_type_drift

    from source
    inner join orders on source._dlt_root_id = orders._dlt_id

)

select * from renamed
