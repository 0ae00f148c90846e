{%- set columns = dlt_columns(source('xero', 'items')) -%}

with

source as (

    select * from {{ source('xero', 'items') }}
    where {{ completed_loads('xero') }}

),

renamed as (

    select
        item_id,
        nullif(trim(code), '') as sku,
        name as item_name,
        {{ dlt_column(columns, 'description', 'text') }} as description,
        {{ dlt_column(columns, 'sales_details__unit_price', 'numeric(18, 4)') }} as sales_unit_price,
        {{ dlt_column(columns, 'sales_details__account_code', 'text') }} as sales_account_code,
        {{ dlt_column(columns, 'sales_details__tax_type', 'text') }} as sales_tax_type,
        {{ dlt_column(columns, 'purchase_details__unit_price', 'numeric(18, 4)') }} as purchase_unit_price,
        {{ dlt_column(columns, 'purchase_details__account_code', 'text') }} as purchase_account_code,
        {{ dlt_column(columns, 'purchase_details__tax_type', 'text') }} as purchase_tax_type,
        coalesce({{ dlt_column(columns, 'is_sold', 'boolean') }}, false) as is_sold,
        coalesce({{ dlt_column(columns, 'is_purchased', 'boolean') }}, false) as is_purchased,
        coalesce(
            {{ dlt_column(columns, 'is_tracked_as_inventory', 'boolean') }}, false
        ) as is_tracked_as_inventory,
        {{ dlt_column(columns, 'updated_date_utc', 'timestamptz') }} as updated_at,
        {{ dlt_variant_flag(columns, [
            'sales_details__unit_price', 'purchase_details__unit_price', 'updated_date_utc',
        ]) }}
            as has_type_drift

    from source

)

select * from renamed
