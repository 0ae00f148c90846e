-- One row per order across channels, with canonical statuses and the golden customer: web
-- orders (WooCommerce) and shop sales (Lightspeed, when it has landed; a return is a sale with
-- negative amounts). Revenue is gross_revenue_aud (what the customer paid, GST included) or
-- net_revenue_aud (GST excluded), in AUD, and 0 for an order that does not count as revenue.
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

currency_rates as (

    select
        upper(trim(currency)) as currency,
        rate_to_aud
    from {{ ref('currency_rates') }}

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
        web_orders.is_deleted,
        cast(null as text) as outlet_name,
        cast(web_orders.ordered_at at time zone '{{ var("reporting_timezone") }}' as date) as order_date
    from web_orders

),

{%- if source_enabled('lightspeed') %}

    shop_sales as (

        select * from {{ ref('int_shop_sales') }}

    ),

    shop as (

        -- Lightspeed's amounts keep its 5 decimals: round sums, not sales
        select
            'lightspeed:' || shop_sales.sale_id as order_key,
            'shop' as channel,
            'lightspeed' as source_system,
            shop_sales.sale_id as order_id,
            shop_sales.invoice_number as order_number,
            'customer:' || shop_sales.customer_id as customer_record_id,
            cast(null as text) as customer_email,
            shop_sales.sale_status as source_status,
            shop_sales.currency,
            shop_sales.total_price as items_total,
            cast(0 as numeric) as shipping_total,
            shop_sales.total_tax as tax_total,
            shop_sales.total_discount as discount_total,
            shop_sales.total_incl_tax as order_total,
            shop_sales.line_count,
            shop_sales.sale_date as ordered_at,
            shop_sales.updated_at,
            shop_sales.is_deleted,
            shop_sales.outlet_name,
            shop_sales.sale_day as order_date
        from shop_sales

    ),
{%- endif %}

unioned as (

    select * from web
    {%- if source_enabled('lightspeed') %}
        union all
        select * from shop
    {%- endif %}

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
    cast(
        case
            when coalesce(status_map.counts_as_revenue, false) and not unioned.is_deleted
                then unioned.order_total * currency_rates.rate_to_aud
            else 0
        end as numeric(20, 5)
    ) as gross_revenue_aud,
    cast(
        case
            when coalesce(status_map.counts_as_revenue, false) and not unioned.is_deleted
                then (unioned.order_total - unioned.tax_total) * currency_rates.rate_to_aud
            else 0
        end as numeric(20, 5)
    ) as net_revenue_aud,
    unioned.line_count,
    unioned.outlet_name,
    unioned.ordered_at,
    unioned.order_date,
    unioned.updated_at,
    unioned.is_deleted
from unioned
left join status_map
    on unioned.source_system = status_map.source_system and unioned.source_status = status_map.source_status
left join customers
    on unioned.source_system = customers.source_system and unioned.customer_record_id = customers.record_id
left join currency_rates on upper(trim(unioned.currency)) = currency_rates.currency
