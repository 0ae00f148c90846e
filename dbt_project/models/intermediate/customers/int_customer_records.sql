-- Every record of a person in any system, in one shape, normalised for matching:
-- registered web customers, and web guests (a guest checkout is a customer too).
with

woocommerce_customers as (

    select
        'woocommerce' as source_system,
        'customer:' || customer_id as record_id,
        {{ normalize_email('email') }} as email,
        {{ phone_e164('phone') }} as phone,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        {{ one_line_address('address_line_1', 'city', 'postcode') }} as address,
        updated_at
    from {{ ref('stg_woocommerce__customers') }}

),

woocommerce_guests as (

    -- a guest's details as of their newest order
    select distinct on ({{ normalize_email('customer_email') }})
        'woocommerce' as source_system,
        'guest:' || {{ normalize_email('customer_email') }} as record_id,
        {{ normalize_email('customer_email') }} as email,
        {{ phone_e164('customer_phone') }} as phone,
        nullif(trim(billing_first_name), '') as first_name,
        nullif(trim(billing_last_name), '') as last_name,
        {{ one_line_address('billing_address_line_1', 'billing_city', 'billing_postcode') }} as address,
        ordered_at as updated_at
    from {{ ref('stg_woocommerce__orders') }}
    where customer_id = 0 and {{ normalize_email('customer_email') }} is not null
    order by {{ normalize_email('customer_email') }}, ordered_at desc

),

unioned as (

    select * from woocommerce_customers
    union all
    select * from woocommerce_guests

)

select * from unioned
