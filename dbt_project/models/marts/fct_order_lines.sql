-- One row per product line of an order, across channels.
with

web_lines as (

    select * from {{ ref('int_web_order_lines') }}

),

web as (

    select
        'woocommerce:' || web_lines.order_line_id as order_line_key,
        'woocommerce:' || web_lines.order_id as order_key,
        'web' as channel,
        web_lines.sku,
        web_lines.product_name,
        web_lines.quantity,
        web_lines.unit_price,
        web_lines.line_subtotal,
        web_lines.line_total,
        web_lines.line_tax
    from web_lines

)

select * from web
