-- One row per order across channels, with canonical statuses and the golden customer.
-- The heavy lifting is incremental upstream; mappings and customer keys are joined here on
-- every build, so a seed edit or a re-match reaches every order at once.
with

web_orders as (

    select * from {{ ref('int_web_orders') }}

),

status_map as (

    select * from {{ ref('status_map') }}
    where entity = 'order'

),

customers as (

    select
        source_system,
        record_id,
        customer_key
    from {{ ref('int_customers_matched') }}

),

web as (

    select
        'woocommerce:' || web_orders.order_id as order_key,
        'web' as channel,
        'woocommerce' as source_system,
        cast(web_orders.order_id as text) as order_id,
        web_orders.order_number,
        {{ woocommerce_customer_record_id('web_orders.customer_id', 'web_orders.customer_email') }}
            as customer_record_id,
        web_orders.customer_email,
        web_orders.order_status as source_status,
        web_orders.currency,
        web_orders.items_total,
        web_orders.shipping_total,
        web_orders.tax_total,
        web_orders.discount_total,
        web_orders.order_total,
        web_orders.line_count,
        web_orders.ordered_at,
        web_orders.updated_at,
        web_orders.is_deleted
    from web_orders

),

unioned as (

    select * from web

)

select
    unioned.order_key,
    unioned.channel,
    unioned.source_system,
    unioned.order_id,
    unioned.order_number,
    customers.customer_key,
    unioned.customer_email,
    status_map.canonical_status as order_status,
    unioned.source_status,
    coalesce(status_map.counts_as_revenue, false) and not unioned.is_deleted as counts_as_revenue,
    unioned.currency,
    unioned.items_total,
    unioned.shipping_total,
    unioned.tax_total,
    unioned.discount_total,
    unioned.order_total,
    unioned.line_count,
    unioned.ordered_at,
    unioned.updated_at,
    unioned.is_deleted
from unioned
left join status_map
    on unioned.source_system = status_map.source_system and unioned.source_status = status_map.source_status
left join customers
    on unioned.source_system = customers.source_system and unioned.customer_record_id = customers.record_id
