{%- set columns = dlt_columns(source('finale', 'products')) -%}
{%- set price_columns = dlt_columns(source('finale', 'products__price_list')) -%}
{%- set supplier_columns = dlt_columns(source('finale', 'products__supplier_list')) -%}

with

source as (

    select * from {{ source('finale', 'products') }}
    where {{ completed_loads('finale') }}

),

list_prices as (

    -- the list price per Finale unit, GST-exclusive
    select distinct on (_dlt_parent_id)
        _dlt_parent_id,
        {{ dlt_column(price_columns, 'price', 'numeric(20, 6)') }} as list_price,
        upper(trim({{ dlt_column(price_columns, 'currency_uom_id', 'text') }})) as currency,
        {{ dlt_variant_flag(price_columns, ['price']) }} as has_type_drift
    from {{ source('finale', 'products__price_list') }}
    where {{ dlt_column(price_columns, 'product_price_type_id', 'text') }} = 'LIST_PRICE'
    order by _dlt_parent_id asc, _dlt_list_idx asc

),

suppliers as (

    -- the preferred (first) supplier
    select distinct on (_dlt_parent_id)
        _dlt_parent_id,
        {{ finale_url_id(dlt_column(supplier_columns, 'supplier_party_url', 'text')) }} as supplier_id,
        {{ dlt_column(supplier_columns, 'supplier_product_id', 'text') }} as supplier_product_id,
        {{ dlt_column(supplier_columns, 'supplier_price', 'numeric(20, 6)') }} as supplier_price
    from {{ source('finale', 'products__supplier_list') }}
    order by
        _dlt_parent_id asc,
        {{ dlt_column(supplier_columns, 'supplier_pref_order_id', 'text') }} asc nulls last,
        _dlt_list_idx asc

),

renamed as (

    select
        source.product_id,
        nullif(trim(source.product_id), '') as sku,
        {{ finale_url_id(dlt_column(columns, 'product_url', 'text', 'source.')) }} as internal_product_id,
        {{ dlt_column(columns, 'internal_name', 'text', 'source.') }} as product_name,
        {{ dlt_column(columns, 'status_id', 'text', 'source.') }} as status_id,
        {{ dlt_column(columns, 'status_id', 'text', 'source.') }} = 'PRODUCT_ACTIVE' as is_active,
        {{ dlt_column(columns, 'category', 'text', 'source.') }} as category,
        -- Finale counts stock in this unit (kg, ea, bunch)
        {{ dlt_column(columns, 'quantity_uom_id', 'text', 'source.') }} as unit,
        -- "12/1": 12 units to a case
        cast(
            substring(
                {{ dlt_column(columns, 'normalized_packing_string', 'text', 'source.') }}
                from '^\s*([0-9]+(?:\.[0-9]+)?)\s*/'
            ) as numeric(18, 4)
        ) as case_quantity,
        {{ dlt_column(columns, 'cost', 'numeric(20, 6)', 'source.') }} as cost,
        list_prices.list_price,
        list_prices.currency,
        suppliers.supplier_id,
        suppliers.supplier_product_id,
        suppliers.supplier_price,
        {{ dlt_column(columns, 'created_date', 'timestamptz', 'source.') }} as created_at,
        {{ dlt_column(columns, 'last_updated_date', 'timestamptz', 'source.') }} as updated_at,
        (
            {{ dlt_variant_flag(columns, ['cost', 'last_updated_date'], 'source.') }}
            or coalesce(list_prices.has_type_drift, false)
        ) as has_type_drift,
        source._dlt_id as dlt_id,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join list_prices on source._dlt_id = list_prices._dlt_parent_id
    left join suppliers on source._dlt_id = suppliers._dlt_parent_id

)

select * from renamed
