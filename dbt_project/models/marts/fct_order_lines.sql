-- One row per product line of an order, across channels (shop lines when Lightspeed has landed).
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

),

{%- if source_enabled('lightspeed') %}

    shop_lines as (

        select * from {{ ref('int_shop_sale_lines') }}

    ),

    shop as (

        select
            'lightspeed:' || shop_lines.line_item_id as order_line_key,
            'lightspeed:' || shop_lines.sale_id as order_key,
            'shop' as channel,
            shop_lines.sku,
            shop_lines.product_name,
            shop_lines.quantity,
            shop_lines.unit_price,
            shop_lines.line_subtotal,
            shop_lines.line_total,
            shop_lines.line_tax
        from shop_lines

    ),
{%- endif %}

unioned as (

    select * from web
    {%- if source_enabled('lightspeed') %}
        union all
        select * from shop
    {%- endif %}

)

select * from unioned
