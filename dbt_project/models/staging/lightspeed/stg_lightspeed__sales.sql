{%- set columns = dlt_columns(source('lightspeed', 'sales')) -%}
{%- set money = ['total_price', 'total_tax', 'total_loyalty'] -%}

with

source as (

    select * from {{ source('lightspeed', 'sales') }}
    where {{ completed_loads('lightspeed') }}

),

renamed as (

    select
        id as sale_id,
        {{ dlt_column(columns, 'outlet_id', 'text') }} as outlet_id,
        {{ dlt_column(columns, 'register_id', 'text') }} as register_id,
        {{ dlt_column(columns, 'user_id', 'text') }} as user_id,
        {{ dlt_column(columns, 'customer_id', 'text') }} as customer_id,
        {{ dlt_column(columns, 'invoice_number', 'text') }} as invoice_number,
        {{ dlt_column(columns, 'receipt_number', 'text') }} as receipt_number,
        {{ dlt_column(columns, 'status', 'text') }} as sale_status,
        {{ dlt_column(columns, 'state', 'text') }} as sale_state,
        nullif(trim({{ dlt_column(columns, 'note', 'text') }}), '') as note,
        {{ dlt_column(columns, 'return_for', 'text') }} as return_for_sale_id,
        -- Lightspeed's arithmetic: total_price excludes tax, total_tax is apart
        {%- for column in money %}
            {{ dlt_column(columns, column, 'numeric(20, 5)') }} as {{ column }},
        {%- endfor %}
        {{ dlt_column(columns, 'sale_date', 'timestamptz') }} as sale_date,
        {{ dlt_column(columns, 'created_at', 'timestamptz') }} as created_at,
        {{ dlt_column(columns, 'updated_at', 'timestamptz') }} as updated_at,
        {{ dlt_column(columns, 'version', 'bigint') }} as version,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_at', 'timestamptz') }} as deleted_at,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz') }} as deleted_seen_at,
        {{ dlt_variant_flag(columns, money + ['sale_date', 'updated_at', 'version']) }} as has_type_drift,
        _dlt_id as dlt_id,
        _dlt_load_id as dlt_load_id,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
