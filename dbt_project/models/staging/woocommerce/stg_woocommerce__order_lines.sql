with

source as (

    select * from {{ source('woocommerce', 'orders__line_items') }}

),

orders as (

    -- child tables carry no load id: their parent order's completed load vouches for them
    select
        _dlt_id,
        id
    from {{ source('woocommerce', 'orders') }}
    where {{ completed_loads('woocommerce') }}

),

renamed as (

    select
        source.id as order_line_id,
        orders.id as order_id,
        source.product_id,
        source.sku,
        source.name as product_name,
        source.quantity,
        cast(source.price as numeric(18, 4)) as unit_price,
        cast(source.subtotal as numeric(18, 2)) as line_subtotal,
        cast(source.total as numeric(18, 2)) as line_total,
        cast(source.total_tax as numeric(18, 2)) as line_tax,
        -- WooCommerce sends the default (standard) tax class as an empty string
        coalesce(nullif(trim(source.tax_class), ''), 'standard') as tax_class

    from source
    inner join orders on source._dlt_root_id = orders._dlt_id

)

select * from renamed
