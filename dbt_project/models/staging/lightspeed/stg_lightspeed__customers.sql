{%- set columns = dlt_columns(source('lightspeed', 'customers')) -%}

with

source as (

    select * from {{ source('lightspeed', 'customers') }}
    where {{ completed_loads('lightspeed') }}

),

renamed as (

    select
        id as customer_id,
        {{ dlt_column(columns, 'customer_code', 'text') }} as customer_code,
        {{ dlt_column(columns, 'first_name', 'text') }} as first_name,
        {{ dlt_column(columns, 'last_name', 'text') }} as last_name,
        lower(trim({{ dlt_column(columns, 'email', 'text') }})) as email,
        {{ dlt_column(columns, 'phone', 'text') }} as phone,
        {{ dlt_column(columns, 'mobile', 'text') }} as mobile,
        {{ dlt_column(columns, 'physical_address_1', 'text') }} as address_line_1,
        {{ dlt_column(columns, 'physical_suburb', 'text') }} as suburb,
        {{ dlt_column(columns, 'physical_postcode', 'text') }} as postcode,
        {{ dlt_column(columns, 'physical_state', 'text') }} as state,
        {{ dlt_column(columns, 'physical_country_id', 'text') }} as country_code,
        coalesce({{ dlt_column(columns, 'do_not_email', 'boolean') }}, false) as do_not_email,
        {{ dlt_column(columns, 'created_at', 'timestamptz') }} as created_at,
        {{ dlt_column(columns, 'updated_at', 'timestamptz') }} as updated_at,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_at', 'timestamptz') }} as deleted_at,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz') }} as deleted_seen_at,
        {{ dlt_variant_flag(columns, ['balance', 'loyalty_balance', 'updated_at']) }} as has_type_drift,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
