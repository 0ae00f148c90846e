{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

-- Lines of web orders. A changed order's lines are replaced whole (delete+insert on the
-- order), so a line removed from an order disappears here too.
with

orders as (

    select
        order_id,
        dlt_load_id,
        greatest(loaded_at, coalesce(deleted_seen_at, loaded_at)) as source_changed_at
    from {{ ref('stg_woocommerce__orders') }}

),

changed as (

    select * from orders
    where {{ changed_since_last_run('orders', ['order_id', 'dlt_load_id']) }}

)

select
    order_lines.order_line_id,
    order_lines.order_id,
    order_lines.product_id,
    order_lines.sku,
    order_lines.product_name,
    order_lines.quantity,
    order_lines.unit_price,
    order_lines.line_subtotal,
    order_lines.line_total,
    order_lines.line_tax,
    changed.source_changed_at,
    changed.dlt_load_id,
    {{ built_at() }} as built_at
from {{ ref('stg_woocommerce__order_lines') }} as order_lines
inner join changed on order_lines.order_id = changed.order_id
