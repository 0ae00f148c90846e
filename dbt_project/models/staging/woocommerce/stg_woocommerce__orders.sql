with

source as (

    select * from {{ source('woocommerce', 'orders') }}
    where {{ completed_loads('woocommerce') }}

),

renamed as (

    select
        id as order_id,
        number as order_number,
        status as order_status,
        currency,
        customer_id,
        lower(trim(billing__email)) as customer_email,
        billing__phone as customer_phone,
        billing__first_name as billing_first_name,
        billing__last_name as billing_last_name,
        billing__address_1 as billing_address_line_1,
        billing__city as billing_city,
        billing__postcode as billing_postcode,
        cast(total as numeric(18, 2)) as order_total,
        cast(total_tax as numeric(18, 2)) as tax_total,
        cast(shipping_total as numeric(18, 2)) as shipping_total,
        cast(discount_total as numeric(18, 2)) as discount_total,
        payment_method,
        date_created_gmt as ordered_at,
        date_modified_gmt as updated_at,
        date_paid_gmt as paid_at,
        date_completed_gmt as completed_at,
        coalesce(is_deleted, false) as is_deleted,
        deleted_seen_at,
        _dlt_id as dlt_id,
        _dlt_load_id as dlt_load_id,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
