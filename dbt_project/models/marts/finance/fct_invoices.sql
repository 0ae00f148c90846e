{{ config(enabled=source_enabled('xero')) }}

-- One row per Xero invoice: its canonical status (status_map), its amounts in AUD
-- (currency_rates), the web order it was made from (Reference = the order number) and the
-- golden customer of its contact.
with

invoices as (

    select * from {{ ref('stg_xero__invoices') }}

),

line_items as (

    -- what the lines' tax codes say the tax should be (tax_codes), next to what Xero charged
    select
        line_items.invoice_id,
        count(*) as line_count,
        coalesce(
            sum(line_items.line_amount) filter (where tax_codes.canonical_tax_code = 'gst_free'), 0
        ) as gst_free_amount,
        sum(
            case
                when invoices.line_amount_types = 'Inclusive'
                    then round(line_items.line_amount * tax_codes.rate / (1 + tax_codes.rate), 2)
                when invoices.line_amount_types = 'NoTax' then 0
                else round(line_items.line_amount * tax_codes.rate, 2)
            end
        ) as expected_total_tax
    from {{ ref('stg_xero__invoice_line_items') }} as line_items
    inner join invoices on line_items.invoice_id = invoices.invoice_id
    left join {{ ref('tax_codes') }} as tax_codes
        on tax_codes.source_system = 'xero' and line_items.tax_type = tax_codes.source_code
    group by line_items.invoice_id

),

status_map as (

    select * from {{ ref('status_map') }}
    where source_system = 'xero' and entity = 'invoice'

),

currency_rates as (

    select
        upper(trim(currency)) as currency,
        rate_to_aud
    from {{ ref('currency_rates') }}

),

web_orders as (

    select
        order_id,
        order_number
    from {{ ref('stg_woocommerce__orders') }}

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
        invoices.invoice_id,
        invoices.invoice_number,
        invoices.invoice_type,
        invoices.reference,
        'woocommerce:' || web_orders.order_id as order_key,
        invoices.contact_id,
        contacts.customer_key,
        status_map.canonical_status as invoice_status,
        invoices.status as source_status,
        coalesce(status_map.counts_as_revenue, false) and not invoices.is_deleted as counts_as_revenue,
        invoices.currency_code,
        currency_rates.rate_to_aud,
        invoices.sub_total,
        invoices.total_tax,
        invoices.total,
        invoices.amount_due,
        invoices.amount_paid,
        invoices.amount_credited,
        round(invoices.sub_total * currency_rates.rate_to_aud, 2) as sub_total_aud,
        round(invoices.total_tax * currency_rates.rate_to_aud, 2) as total_tax_aud,
        round(invoices.total * currency_rates.rate_to_aud, 2) as total_aud,
        round(invoices.amount_due * currency_rates.rate_to_aud, 2) as amount_due_aud,
        round(invoices.amount_paid * currency_rates.rate_to_aud, 2) as amount_paid_aud,
        round(invoices.amount_credited * currency_rates.rate_to_aud, 2) as amount_credited_aud,
        coalesce(line_items.line_count, 0) as line_count,
        coalesce(line_items.gst_free_amount, 0) as gst_free_amount,
        line_items.expected_total_tax,
        invoices.invoice_date,
        invoices.due_date,
        invoices.fully_paid_on_date,
        invoices.updated_at,
        invoices.is_deleted

    from invoices
    left join line_items on invoices.invoice_id = line_items.invoice_id
    left join status_map on invoices.status = status_map.source_status
    left join currency_rates on invoices.currency_code = currency_rates.currency
    left join web_orders
        on invoices.invoice_type = 'ACCREC' and invoices.reference = web_orders.order_number
    left join contacts on contacts.record_id = 'contact:' || invoices.contact_id

)

select * from final
