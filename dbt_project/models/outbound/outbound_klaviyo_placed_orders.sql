{{ config(enabled=source_enabled('klaviyo')) }}

-- Web orders Klaviyo has no "Placed Order" event for (its OrderId property), as events to send:
-- the order id is the event's unique_id (as Klaviyo's WooCommerce integration sets it), so
-- Klaviyo keeps one event per order however often it is sent. Orders without an email cannot be
-- attributed to a profile and are left out.
with

orders as (

    select * from {{ ref('fct_orders') }}
    where channel = 'web' and not is_deleted and customer_email is not null

),

placed as (

    select distinct events.order_id
    from {{ ref('stg_klaviyo__events') }} as events
    inner join {{ ref('stg_klaviyo__metrics') }} as metrics on events.metric_id = metrics.metric_id
    where metrics.metric_name = 'Placed Order' and events.order_id is not null

)

select
    orders.order_key,
    orders.order_id,
    orders.order_number,
    orders.customer_email,
    orders.currency,
    orders.order_total,
    orders.line_count,
    orders.ordered_at
from orders
left join placed on orders.order_id = placed.order_id
where placed.order_id is null
