with

source as (

    select * from {{ source('woocommerce', 'products') }}
    where {{ completed_loads('woocommerce') }}

),

renamed as (

    select
        id as product_id,
        sku,
        name as product_name,
        status as product_status,
        cast(price as numeric(18, 2)) as price,
        stock_quantity,
        tax_status,
        date_created_gmt as created_at,
        date_modified_gmt as updated_at

    from source

)

select * from renamed
