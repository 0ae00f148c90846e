{{ config(enabled=source_enabled('xero')) }}

-- Web orders that did not happen (cancelled, failed, refunded, trashed) whose Xero invoice is
-- still live, and orders of outbound_xero_invoices in those states (their invoice is about to be
-- created; the job finds its id in ops.outbound_map). An unpaid invoice is voided; a paid one
-- cannot be, so it gets a credit note for what its credit notes (by Reference) do not yet give back.
with

reconciliation as (

    select * from {{ ref('fct_order_invoice_reconciliation') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

credit_notes as (

    -- what the order's credit notes (Reference = the order number) already give back
    select
        reference as order_number,
        sum(total) as credited
    from {{ ref('stg_xero__credit_notes') }}
    where
        credit_note_type = 'ACCRECCREDIT'
        and not is_deleted
        and coalesce(status, '') not in ('VOIDED', 'DELETED')
    group by reference

),

live as (

    select
        reconciliation.order_key,
        reconciliation.order_id,
        reconciliation.order_number,
        reconciliation.order_source_status as order_status,
        reconciliation.invoice_id,
        invoices.currency_code as currency,
        invoices.total,
        coalesce(invoices.amount_paid, 0) as amount_paid,
        greatest(
            coalesce(invoices.amount_credited, 0), coalesce(credit_notes.credited, 0)
        ) as amount_credited
    from reconciliation
    inner join invoices on reconciliation.invoice_id = invoices.invoice_id
    inner join {{ ref('stg_woocommerce__orders') }} as orders on reconciliation.order_id = orders.order_id
    left join credit_notes on reconciliation.order_number = credit_notes.order_number
    where
        -- changed after the last Xero sync: Xero may have voided it already (xero_synced_at)
        orders.updated_at < {{ xero_synced_at() }}
        and reconciliation.reconciliation_status in ('matched', 'amount_mismatch')
        and (
            reconciliation.order_source_status in ('cancelled', 'failed', 'refunded')
            or reconciliation.is_trashed
        )

),

to_be_created as (

    select
        order_key,
        order_id,
        order_number,
        order_status,
        cast(null as text) as invoice_id,
        currency,
        order_total as total,
        cast(0 as numeric) as amount_paid,
        cast(0 as numeric) as amount_credited
    from {{ ref('outbound_xero_invoices') }}
    where order_status in ('cancelled', 'failed', 'refunded', 'trash')

),

unioned as (

    select * from live
    union all
    select * from to_be_created

)

select
    order_key,
    order_id,
    order_number,
    order_status,
    invoice_id,
    currency,
    total,
    amount_paid,
    amount_credited,
    case when amount_paid = 0 then 'void' else 'credit_note' end as action,
    total - amount_credited as amount_to_credit
from unioned
where amount_paid = 0 or total - amount_credited > 0
