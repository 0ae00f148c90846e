{%- set columns = dlt_columns(source('xero', 'payments')) -%}

with

source as (

    select * from {{ source('xero', 'payments') }}
    where {{ completed_loads('xero') }}

),

renamed as (

    select
        payment_id,
        payment_type,
        status,
        {{ dlt_column(columns, 'invoice__invoice_id', 'text') }} as invoice_id,
        {{ dlt_column(columns, 'invoice__invoice_number', 'text') }} as invoice_number,
        {{ dlt_column(columns, 'credit_note__credit_note_id', 'text') }} as credit_note_id,
        {{ dlt_column(columns, 'credit_note__credit_note_number', 'text') }} as credit_note_number,
        coalesce(
            {{ dlt_column(columns, 'invoice__contact__contact_id', 'text') }},
            {{ dlt_column(columns, 'credit_note__contact__contact_id', 'text') }}
        ) as contact_id,
        nullif(trim({{ dlt_column(columns, 'reference', 'text') }}), '') as reference,
        upper(trim(coalesce(
            {{ dlt_column(columns, 'invoice__currency_code', 'text') }},
            {{ dlt_column(columns, 'credit_note__currency_code', 'text') }}
        ))) as currency_code,
        {{ dlt_column(columns, 'amount', 'numeric(18, 2)') }} as amount,
        {{ dlt_column(columns, 'bank_amount', 'numeric(18, 2)') }} as bank_amount,
        {{ dlt_column(columns, 'currency_rate', 'numeric(18, 6)') }} as currency_rate,
        {{ dlt_column(columns, 'account__account_id', 'text') }} as account_id,
        {{ dlt_column(columns, 'account__code', 'text') }} as account_code,
        coalesce({{ dlt_column(columns, 'is_reconciled', 'boolean') }}, false) as is_reconciled,
        -- the organisation's calendar date of the payment (sent as midnight UTC)
        cast(({{ dlt_column(columns, 'date', 'timestamptz') }}) at time zone 'UTC' as date) as payment_date,
        {{ dlt_column(columns, 'updated_date_utc', 'timestamptz') }} as updated_at,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz') }} as deleted_seen_at,
        {{ dlt_variant_flag(
            columns, ['amount', 'bank_amount', 'currency_rate', 'date', 'updated_date_utc']
        ) }}
            as has_type_drift,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
