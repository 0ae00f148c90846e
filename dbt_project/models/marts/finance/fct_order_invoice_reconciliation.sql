{{ config(enabled=source_enabled('xero')) }}

-- Web orders against their Xero invoices. The bookkeeping integration copies every
-- WooCommerce order into Xero as one ACCREC invoice whose Reference is the order number,
-- whatever the order's status (pending orders as DRAFT; cancelled, failed and trashed orders
-- get their invoice VOIDED, or DELETED while it was a draft). So every web order WooCommerce
-- still holds, trashed ones included, should have an invoice. Orders force-deleted in
-- WooCommerce (flagged deleted while not in the trash) are gone from the store and are left
-- out; their invoices stay in fct_invoices.
--
-- One row per such order, classified in this order:
--   missing_invoice  no ACCREC invoice carries the order number;
--   voided           its invoice is voided or deleted (canonical status, or Xero's DELETED flag);
--   amount_mismatch  the invoice total differs from the order total by more than 0.01
--                    (compared in AUD when the currencies differ, or when it cannot be compared);
--   matched          otherwise.
-- When several invoices carry one order number, a live invoice wins over a voided one, then
-- the newest; invoice_count says how many there were.
with

orders as (

    select
        order_id,
        order_number,
        order_status,
        upper(trim(currency)) as currency,
        order_total,
        ordered_at,
        is_deleted,
        order_status = 'trash' as is_trashed
    from {{ ref('stg_woocommerce__orders') }}
    where not (is_deleted and order_status <> 'trash')

),

invoices as (

    select
        *,
        coalesce(invoice_status in ('voided', 'deleted'), false) or is_deleted as is_void
    from {{ ref('fct_invoices') }}
    where invoice_type = 'ACCREC' and order_key is not null

),

ranked as (

    select
        *,
        count(*) over (partition by order_key) as invoice_count,
        row_number() over (
            partition by order_key
            order by is_void asc, updated_at desc, invoice_id asc
        ) as invoice_rank
    from invoices

),

currency_rates as (

    select
        upper(trim(currency)) as currency,
        rate_to_aud
    from {{ ref('currency_rates') }}

),

compared as (

    select
        'woocommerce:' || orders.order_id as order_key,
        orders.order_id,
        orders.order_number,
        orders.order_status as order_source_status,
        orders.is_trashed,
        orders.currency as order_currency,
        orders.order_total,
        orders.ordered_at,
        ranked.invoice_id,
        ranked.invoice_number,
        ranked.invoice_status,
        ranked.currency_code as invoice_currency,
        ranked.total as invoice_total,
        ranked.is_void,
        coalesce(ranked.invoice_count, 0) as invoice_count,
        case
            when ranked.invoice_id is null then null
            when ranked.currency_code = orders.currency then ranked.total - orders.order_total
            else ranked.total_aud - round(orders.order_total * order_rates.rate_to_aud, 2)
        end as amount_difference

    from orders
    left join ranked
        on ranked.order_key = 'woocommerce:' || orders.order_id and ranked.invoice_rank = 1
    left join currency_rates as order_rates on orders.currency = order_rates.currency

)

select
    order_key,
    order_id,
    order_number,
    order_source_status,
    is_trashed,
    order_currency,
    order_total,
    ordered_at,
    invoice_id,
    invoice_number,
    invoice_status,
    invoice_currency,
    invoice_total,
    invoice_count,
    amount_difference,
    case
        when invoice_id is null then 'missing_invoice'
        when is_void then 'voided'
        when amount_difference is null or abs(amount_difference) > 0.01 then 'amount_mismatch'
        else 'matched'
    end as reconciliation_status
from compared
