{{ config(enabled=source_enabled('finale')) }}

-- Stock per SKU for the web store, where Finale and WooCommerce disagree. Which side wins is
-- the setting SEAMLINE_STOCK_AUTHORITY (an environment variable, default finale): under
-- `finale` the warehouse's stock on hand in Finale (fct_inventory) is what WooCommerce should
-- show, in the units the store sells (a 2 kg bag of potatoes is one). Under `woocommerce` no
-- stock is pushed (the store's count is left alone). Web sales reach Finale as sales orders
-- (outbound_finale_sales_orders) either way, so Finale's count includes them.
with

warehouse as (

    select
        sku,
        quantity_on_hand,
        base_unit,
        source_quantity,
        source_unit
    from {{ ref('fct_inventory') }}
    where source_system = 'finale' and location_type = 'warehouse'

),

web_products as (

    select
        products.product_id,
        products.sku as source_sku,
        products.stock_quantity,
        records.base_unit,
        records.base_units_per_unit
    from {{ ref('stg_woocommerce__products') }} as products
    inner join {{ ref('int_product_records') }} as records
        on records.source_system = 'woocommerce' and 'product:' || products.product_id = records.record_id
    where records.sku is not null

),

targets as (

    -- same base unit: Finale's base quantity in the store's units; Finale counting packs (ea)
    -- of a product the store sells by weight: one pack is one unit sold
    select
        web_products.product_id,
        warehouse.sku,
        web_products.stock_quantity as woocommerce_stock,
        warehouse.source_quantity as finale_quantity,
        warehouse.source_unit as finale_unit,
        greatest(
            0,
            floor(
                case
                    when warehouse.base_unit = web_products.base_unit
                        then warehouse.quantity_on_hand / nullif(web_products.base_units_per_unit, 0)
                    when warehouse.base_unit = 'ea' then warehouse.source_quantity
                end
            )
        ) as target_stock
    from warehouse
    inner join web_products on upper(trim(web_products.source_sku)) = warehouse.sku

)

select
    sku,
    product_id,
    woocommerce_stock,
    finale_quantity,
    finale_unit,
    cast(target_stock as integer) as target_stock,
    '{{ env_var("SEAMLINE_STOCK_AUTHORITY", "finale") | lower }}' as stock_authority
from targets
where
    '{{ env_var("SEAMLINE_STOCK_AUTHORITY", "finale") | lower }}' = 'finale'
    and target_stock is not null
    and target_stock is distinct from woocommerce_stock
