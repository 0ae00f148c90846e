{%- set columns = dlt_columns(source('lightspeed', 'outlets')) -%}

with

source as (

    select * from {{ source('lightspeed', 'outlets') }}
    where {{ completed_loads('lightspeed') }}

),

renamed as (

    select
        id as outlet_id,
        trim({{ dlt_column(columns, 'name', 'text') }}) as outlet_name,
        upper(trim({{ dlt_column(columns, 'currency', 'text') }})) as currency,
        {{ dlt_column(columns, 'time_zone', 'text') }} as time_zone,
        {{ dlt_column(columns, 'display_prices', 'text') }} as display_prices,
        {{ dlt_column(columns, 'default_tax_id', 'text') }} as default_tax_id,
        {{ dlt_column(columns, 'physical_address_1', 'text') }} as address_line_1,
        {{ dlt_column(columns, 'physical_suburb', 'text') }} as suburb,
        {{ dlt_column(columns, 'physical_postcode', 'text') }} as postcode,
        {{ dlt_column(columns, 'physical_state', 'text') }} as state,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz') }} as deleted_seen_at,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
