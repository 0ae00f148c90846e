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

    select * from {{ ref('status_map') }}
    where source_system = 'woocommerce' and entity = 'order'

),

customers as (

    select
        source_system,
        record_id,
        customer_key
    from {{ ref('int_customers_matched') }}

),

final as (

    select
        'woocommerce:' || orders.order_id as order_key,
        'web' as channel,
        'woocommerce' as source_system,
        orders.order_id,
        orders.order_number,
        customers.customer_key,
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
    left join customers
        on
            customers.source_system = 'woocommerce'
            and customers.record_id = case
                when orders.customer_id = 0 then 'guest:' || {{ normalize_email('orders.customer_email') }}
                else 'customer:' || orders.customer_id
            end

)

select * from final
