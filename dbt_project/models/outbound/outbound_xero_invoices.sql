{{ config(enabled=source_enabled('xero')) }}

-- Web orders that should have a Xero invoice and have none (fct_order_invoice_reconciliation
-- says missing_invoice): one row per order with its lines as JSON, the customer to invoice and
-- the Xero contact that already carries the customer's email, if any. Cancelled, failed,
-- refunded and trashed orders are invoiced too (the bookkeeping rule: every order has one
-- invoice); outbound_xero_voids then voids them. Our copy of Xero may be older than an invoice
-- someone else made since: the job asks Xero by Reference before creating one.
with

missing as (

    select * from {{ ref('fct_order_invoice_reconciliation') }}
    where reconciliation_status = 'missing_invoice'

),

orders as (

    select * from {{ ref('stg_woocommerce__orders') }}

),

customers as (

    select
        fct_orders.order_key,
        dim_customers.customer_key,
        dim_customers.email,
        dim_customers.first_name,
        dim_customers.last_name
    from {{ ref('fct_orders') }} as fct_orders
    inner join {{ ref('dim_customers') }} as dim_customers
        on fct_orders.customer_key = dim_customers.customer_key
    where fct_orders.channel = 'web'

),

contacts as (

    -- one live Xero contact per email: the most recently updated
    select distinct on (email)
        email,
        contact_id
    from {{ ref('stg_xero__contacts') }}
    where email is not null and not is_deleted
    order by email asc, updated_at desc

),

lines as (

    select
        order_id,
        jsonb_agg(
            jsonb_build_object(
                'sku', sku,
                'description', product_name,
                'quantity', quantity,
                'unit_price', unit_price,
                'line_subtotal', line_subtotal,
                'line_total', line_total,
                'line_tax', line_tax
            )
            order by order_line_id
        ) as lines
    from {{ ref('stg_woocommerce__order_lines') }}
    group by order_id

)

select
    missing.order_key,
    missing.order_id,
    missing.order_number,
    orders.order_status,
    missing.order_currency as currency,
    missing.order_total,
    orders.shipping_total,
    orders.ordered_at,
    customers.customer_key,
    coalesce(customers.email, orders.customer_email) as customer_email,
    coalesce(customers.first_name, orders.billing_first_name) as first_name,
    coalesce(customers.last_name, orders.billing_last_name) as last_name,
    contacts.contact_id,
    coalesce(lines.lines, '[]'::jsonb) as lines
from missing
inner join orders on missing.order_id = orders.order_id
left join customers on missing.order_key = customers.order_key
left join contacts on coalesce(customers.email, orders.customer_email) = contacts.email
left join lines on missing.order_id = lines.order_id
