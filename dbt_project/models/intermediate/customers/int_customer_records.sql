-- Every record of a person in any system, in one shape, normalised for matching:
-- registered web customers, web guests (a guest checkout is a customer too), Klaviyo
-- profiles and Xero contacts that are customers (a contact marked customer, or any contact
-- that is not a supplier). Archived Xero contacts stay: they are still the person's record.
-- Lightspeed shop customers (mobile, else phone), deleted ones included.
-- Each system's part is there only when its source has landed.
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

{%- if source_enabled('klaviyo') %}

    klaviyo_profiles as (

        select
            'klaviyo' as source_system,
            'profile:' || profile_id as record_id,
            {{ normalize_email('email') }} as email,
            {{ phone_e164('phone_number') }} as phone,
            nullif(trim(first_name), '') as first_name,
            nullif(trim(last_name), '') as last_name,
            {{ one_line_address('address_line_1', 'city', 'postcode') }} as address,
            updated_at
        from {{ ref('stg_klaviyo__profiles') }}

    ),
{%- endif %}

{%- if source_enabled('xero') %}

    xero_contacts as (

        select
            'xero' as source_system,
            'contact:' || contact_id as record_id,
            {{ normalize_email('email') }} as email,
            {{ phone_e164('phone') }} as phone,
            nullif(trim(first_name), '') as first_name,
            nullif(trim(last_name), '') as last_name,
            {{ one_line_address('address_line_1', 'city', 'postcode') }} as address,
            updated_at
        from {{ ref('stg_xero__contacts') }}
        where is_customer or not is_supplier

    ),
{%- endif %}

{%- if source_enabled('lightspeed') %}

    lightspeed_customers as (

        -- deleted shop customers stay: their sales still point to them
        select
            'lightspeed' as source_system,
            'customer:' || customer_id as record_id,
            {{ normalize_email('email') }} as email,
            {{ phone_e164("coalesce(nullif(trim(mobile), ''), phone)") }} as phone,
            nullif(trim(first_name), '') as first_name,
            nullif(trim(last_name), '') as last_name,
            {{ one_line_address('address_line_1', 'suburb', 'postcode') }} as address,
            updated_at
        from {{ ref('stg_lightspeed__customers') }}

    ),
{%- endif %}

unioned as (

    select * from woocommerce_customers
    union all
    select * from woocommerce_guests
    {%- if source_enabled('klaviyo') %}
        union all
        select * from klaviyo_profiles
    {%- endif %}
    {%- if source_enabled('xero') %}
        union all
        select * from xero_contacts
    {%- endif %}
    {%- if source_enabled('lightspeed') %}
        union all
        select * from lightspeed_customers
    {%- endif %}

)

select * from unioned
