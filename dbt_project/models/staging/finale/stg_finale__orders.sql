{%- set columns = dlt_columns(source('finale', 'orders')) -%}

with

source as (

    select * from {{ source('finale', 'orders') }}
    where {{ completed_loads('finale') }}

),

parties as (

    -- the supplier of a purchase order, the customer of a sales order
    select distinct on (_dlt_parent_id)
        _dlt_parent_id,
        party_id,
        role_type_id
    from {{ source('finale', 'orders__order_role_list') }}
    order by _dlt_parent_id asc, _dlt_list_idx asc

),

renamed as (

    select
        source.order_id,
        {{ dlt_column(columns, 'order_type_id', 'text', 'source.') }} as order_type_id,
        {{ dlt_column(columns, 'status_id', 'text', 'source.') }} as status_id,
        parties.party_id,
        parties.role_type_id as party_role,
        {{ finale_url_id(dlt_column(columns, 'origin_facility_url', 'text', 'source.')) }}
            as origin_facility_id,
        {{ finale_url_id(dlt_column(columns, 'destination_facility_url', 'text', 'source.')) }}
            as destination_facility_id,
        {{ dlt_column(columns, 'order_date', 'timestamptz', 'source.') }} as ordered_at,
        {{ dlt_column(columns, 'receive_date', 'timestamptz', 'source.') }} as receive_due_at,
        {{ dlt_column(columns, 'ship_date', 'timestamptz', 'source.') }} as ship_due_at,
        {{ dlt_column(columns, 'created_date', 'timestamptz', 'source.') }} as created_at,
        {{ dlt_column(columns, 'last_updated_date', 'timestamptz', 'source.') }} as updated_at,
        {{ dlt_variant_flag(columns, ['order_date', 'last_updated_date'], 'source.') }} as has_type_drift,
        source._dlt_id as dlt_id,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join parties on source._dlt_id = parties._dlt_parent_id

)

select * from renamed
