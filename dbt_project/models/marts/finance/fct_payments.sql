{{ config(enabled=source_enabled('xero')) }}

-- One row per Xero payment: money received on sales invoices and refunds paid out on credit
-- notes (and, for a retailer that records them, supplier payments), with the canonical status
-- (status_map), the amount in AUD (currency_rates), its direction, and the web order it
-- settles (through the invoice, or the refunded order number on the credit note).
with

payments as (

    select
        *,
        -- money in: customers paying invoices, suppliers refunding; everything else goes out
        case
            when
                payment_type in (
                    'ACCRECPAYMENT', 'APCREDITPAYMENT', 'APPREPAYMENTPAYMENT', 'APOVERPAYMENTPAYMENT'
                )
                then 'in'
            else 'out'
        end as direction
    from {{ ref('stg_xero__payments') }}

),

status_map as (

    select * from {{ ref('status_map') }}
    where source_system = 'xero' and entity = 'payment'

),

currency_rates as (

    select
        upper(trim(currency)) as currency,
        rate_to_aud
    from {{ ref('currency_rates') }}

),

invoices as (

    select
        invoice_id,
        order_key,
        customer_key
    from {{ ref('fct_invoices') }}

),

credit_notes as (

    select
        credit_notes.credit_note_id,
        'woocommerce:' || web_orders.order_id as order_key
    from {{ ref('stg_xero__credit_notes') }} as credit_notes
    left join {{ ref('stg_woocommerce__orders') }} as web_orders
        on credit_notes.credit_note_type = 'ACCRECCREDIT' and credit_notes.reference = web_orders.order_number

),

contacts as (

    select
        record_id,
        customer_key
    from {{ ref('int_customers_matched') }}
    where source_system = 'xero'

),

final as (

    select
        payments.payment_id,
        payments.payment_type,
        payments.direction,
        status_map.canonical_status as payment_status,
        payments.status as source_status,
        coalesce(status_map.counts_as_revenue, false) and not payments.is_deleted as is_effective,
        payments.invoice_id,
        payments.credit_note_id,
        coalesce(invoices.order_key, credit_notes.order_key) as order_key,
        payments.contact_id,
        coalesce(invoices.customer_key, contacts.customer_key) as customer_key,
        payments.reference,
        payments.currency_code,
        currency_rates.rate_to_aud,
        payments.amount,
        round(payments.amount * currency_rates.rate_to_aud, 2) as amount_aud,
        case when payments.direction = 'in' then 1 else -1 end
        * round(payments.amount * currency_rates.rate_to_aud, 2) as net_amount_aud,
        payments.account_code,
        payments.is_reconciled,
        payments.payment_date,
        payments.updated_at,
        payments.is_deleted

    from payments
    left join status_map on payments.status = status_map.source_status
    left join currency_rates on payments.currency_code = currency_rates.currency
    left join invoices on payments.invoice_id = invoices.invoice_id
    left join credit_notes on payments.credit_note_id = credit_notes.credit_note_id
    left join contacts on contacts.record_id = 'contact:' || payments.contact_id

)

select * from final
