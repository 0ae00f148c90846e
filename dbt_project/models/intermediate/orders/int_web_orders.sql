{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

-- Web orders with their line totals, rebuilt only for orders that changed since the last
-- run: a new load of the order, or a deletion flagged by key reconciliation.
with

orders as (

    select
        *,
        greatest(loaded_at, coalesce(deleted_seen_at, loaded_at)) as source_changed_at
    from {{ ref('stg_woocommerce__orders') }}

),

changed as (

    select * from orders
    where {{ changed_since_last_run('orders', ['order_id', 'dlt_load_id', 'is_deleted']) }}

),

order_lines as (

    select
        order_lines.order_id,
        count(*) as line_count,
        sum(order_lines.line_total) as items_total
    from {{ ref('stg_woocommerce__order_lines') }} as order_lines
    inner join changed on order_lines.order_id = changed.order_id
    group by order_lines.order_id

)

select
    changed.order_id,
    changed.order_number,
    changed.order_status,
    changed.currency,
    changed.customer_id,
    changed.customer_email,
    coalesce(order_lines.items_total, 0) as items_total,
    changed.shipping_total,
    changed.tax_total,
    changed.discount_total,
    changed.order_total,
    coalesce(order_lines.line_count, 0) as line_count,
    changed.ordered_at,
    changed.updated_at,
    changed.is_deleted,
    changed.source_changed_at,
    changed.dlt_load_id,
    {{ built_at() }} as built_at
from changed
left join order_lines on changed.order_id = order_lines.order_id
