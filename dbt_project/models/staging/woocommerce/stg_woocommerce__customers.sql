with

source as (

    select * from {{ source('woocommerce', 'customers') }}
    where {{ completed_loads('woocommerce') }}

),

renamed as (

    select
        id as customer_id,
        lower(trim(email)) as email,
        first_name,
        last_name,
        billing__phone as phone,
        billing__address_1 as address_line_1,
        billing__city as city,
        billing__postcode as postcode,
        billing__country as country_code,
        is_paying_customer,
        date_created_gmt as created_at,
        date_modified_gmt as updated_at

    from source

)

select * from renamed
