{%- set columns = dlt_columns(source('finale', 'inventory_items')) -%}
{%- set quantities = ['quantity_on_hand', 'quantity_on_order', 'quantity_reserved'] -%}

-- A snapshot: the table is replaced whole on every sync, so it is Finale's current stock.
with

source as (

    select * from {{ source('finale', 'inventory_items') }}
    where {{ completed_loads('finale') }}

),

renamed as (

    select
        {{ surrogate_key([
            'product_id',
            finale_url_id(dlt_column(columns, 'facility_url', 'text')),
            dlt_column(columns, 'lot_id', 'text'),
            finale_url_id(dlt_column(columns, 'order_url', 'text')),
        ]) }} as inventory_item_key,
        product_id,
        {{ finale_url_id(dlt_column(columns, 'facility_url', 'text')) }} as facility_id,
        {{ dlt_column(columns, 'lot_id', 'text') }} as lot_id,
        -- set on the on-order (purchase) and reserved (sales order) rows
        {{ finale_url_id(dlt_column(columns, 'order_url', 'text')) }} as order_id,
        -- in Finale units (kg, ea, bunch)
        {%- for column in quantities %}
            coalesce({{ dlt_column(columns, column, 'numeric(20, 6)') }}, 0) as {{ column }},
        {%- endfor %}
        {{ dlt_column(columns, 'last_updated_date', 'timestamptz') }} as updated_at,
        {{ dlt_variant_flag(columns, quantities + ['last_updated_date']) }} as has_type_drift,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
