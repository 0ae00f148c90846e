{%- set columns = dlt_columns(source('lightspeed', 'sales__payments')) -%}

with

source as (

    select * from {{ source('lightspeed', 'sales__payments') }}

),

sales as (

    -- child tables carry no load id: their parent sale's completed load vouches for them
    select
        _dlt_id,
        id
    from {{ source('lightspeed', 'sales') }}
    where {{ completed_loads('lightspeed') }}

),

renamed as (

    select
        source.id as payment_id,
        sales.id as sale_id,
        {{ dlt_column(columns, 'register_id', 'text', 'source.') }} as register_id,
        {{ dlt_column(columns, 'retailer_payment_type_id', 'text', 'source.') }} as retailer_payment_type_id,
        {{ dlt_column(columns, 'payment_type_id', 'text', 'source.') }} as payment_type_id,
        {{ dlt_column(columns, 'name', 'text', 'source.') }} as payment_name,
        {{ dlt_column(columns, 'amount', 'numeric(20, 5)', 'source.') }} as amount,
        {{ dlt_column(columns, 'payment_date', 'timestamptz', 'source.') }} as paid_at,
        {{ dlt_column(columns, 'deleted_at', 'timestamptz', 'source.') }} as deleted_at,
        {{ dlt_column(columns, 'deleted_at', 'timestamptz', 'source.') }} is not null as is_deleted,
        {{ dlt_variant_flag(columns, ['amount', 'payment_date'], 'source.') }} as has_type_drift

    from source
    inner join sales on source._dlt_root_id = sales._dlt_id

)

select * from renamed
