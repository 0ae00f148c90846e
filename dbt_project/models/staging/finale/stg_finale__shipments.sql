{%- set columns = dlt_columns(source('finale', 'shipments')) -%}

with

source as (

    select * from {{ source('finale', 'shipments') }}
    where {{ completed_loads('finale') }}

),

renamed as (

    select
        shipment_id,
        {{ dlt_column(columns, 'shipment_type_id', 'text') }} as shipment_type_id,
        {{ dlt_column(columns, 'status_id', 'text') }} as status_id,
        {{ finale_url_id(dlt_column(columns, 'primary_order_url', 'text')) }} as order_id,
        {{ finale_url_id(dlt_column(columns, 'origin_facility_url', 'text')) }} as origin_facility_id,
        {{ finale_url_id(dlt_column(columns, 'destination_facility_url', 'text')) }}
            as destination_facility_id,
        {{ dlt_column(columns, 'ship_date', 'timestamptz') }} as shipped_at,
        {{ dlt_column(columns, 'receive_date', 'timestamptz') }} as received_at,
        {{ dlt_column(columns, 'created_date', 'timestamptz') }} as created_at,
        {{ dlt_column(columns, 'last_updated_date', 'timestamptz') }} as updated_at,
        {{ dlt_variant_flag(columns, ['ship_date', 'receive_date', 'last_updated_date']) }} as has_type_drift,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
