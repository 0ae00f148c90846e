with

orders as (

    select * from {{ ref('stg_woocommerce__orders') }}

),

order_lines as (

    select
        order_id,
        count(*) as line_count,
        sum(line_total) as items_total

    from {{ ref('stg_woocommerce__order_lines') }}
    group by order_id

),

status_map as (

    select * from {{ ref('order_status_map') }}
    where source_system = 'woocommerce'

),

final as (

    select
        'woocommerce:' || orders.order_id as order_key,
        'web' as channel,
        'woocommerce' as source_system,
        orders.order_id,
        orders.order_number,
        orders.customer_email,
        status_map.canonical_status as order_status,
        orders.order_status as source_status,
        coalesce(status_map.counts_as_revenue, false) and not orders.is_deleted as counts_as_revenue,
        orders.currency,
        coalesce(order_lines.items_total, 0) as items_total,
        orders.shipping_total,
        orders.tax_total,
        orders.discount_total,
        orders.order_total,
        coalesce(order_lines.line_count, 0) as line_count,
        orders.ordered_at,
        orders.updated_at,
        orders.is_deleted

    from orders
    left join order_lines on orders.order_id = order_lines.order_id
    left join status_map on orders.order_status = status_map.source_status

)

select * from final
