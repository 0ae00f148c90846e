{{
    config(
        materialized='incremental',
        unique_key='sale_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        enabled=source_enabled('lightspeed'),
    )
}}

-- Lines of shop sales with the SKU of the product sold. A changed sale's lines are replaced
-- whole (delete+insert on the sale), so a line removed from a sale disappears here too.
with

sales as (

    select
        sale_id,
        dlt_load_id,
        greatest(loaded_at, coalesce(deleted_seen_at, loaded_at)) as source_changed_at
    from {{ ref('stg_lightspeed__sales') }}

),

changed as (

    select * from sales
    where {{ changed_since_last_run('sales', ['sale_id', 'dlt_load_id']) }}

),

products as (

    select
        product_id,
        upper(sku) as sku,
        product_name
    from {{ ref('stg_lightspeed__products') }}

)

select
    sale_lines.line_item_id,
    sale_lines.sale_id,
    sale_lines.line_sequence,
    sale_lines.product_id,
    products.sku,
    products.product_name,
    sale_lines.quantity,
    sale_lines.price as unit_price,
    sale_lines.tax as unit_tax,
    sale_lines.discount as unit_discount,
    (sale_lines.price + coalesce(sale_lines.discount, 0)) * sale_lines.quantity as line_subtotal,
    sale_lines.total_price as line_total,
    sale_lines.total_tax as line_tax,
    sale_lines.total_price + sale_lines.total_tax as line_total_incl_tax,
    -- sale lines carry only an account-specific tax id: the tax is named by its rate, as the
    -- tax_codes seed knows Lightspeed's taxes
    case
        when sale_lines.tax = 0 then 'No Tax'
        when sale_lines.price <> 0 and round(sale_lines.tax / sale_lines.price, 3) = 0.100 then 'GST'
        when sale_lines.price <> 0 then 'rate:' || round(sale_lines.tax / sale_lines.price, 4)
    end as tax_code,
    sale_lines.line_status,
    sale_lines.is_return,
    changed.source_changed_at,
    changed.dlt_load_id,
    {{ built_at() }} as built_at
from {{ ref('stg_lightspeed__sale_line_items') }} as sale_lines
inner join changed on sale_lines.sale_id = changed.sale_id
left join products on sale_lines.product_id = products.product_id
