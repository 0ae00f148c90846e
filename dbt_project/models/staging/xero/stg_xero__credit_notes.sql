{%- set columns = dlt_columns(source('xero', 'credit_notes')) -%}
{%- set money = ['sub_total', 'total_tax', 'total', 'remaining_credit'] -%}

with

source as (

    select * from {{ source('xero', 'credit_notes') }}
    where {{ completed_loads('xero') }}

),

renamed as (

    select
        credit_note_id,
        credit_note_number,
        type as credit_note_type,
        nullif(trim({{ dlt_column(columns, 'reference', 'text') }}), '') as reference,
        {{ dlt_column(columns, 'contact__contact_id', 'text') }} as contact_id,
        status,
        upper(trim(currency_code)) as currency_code,
        {%- for column in money %}
            {{ dlt_column(columns, column, 'numeric(18, 2)') }} as {{ column }},
        {%- endfor %}
        {{ dlt_column(columns, 'currency_rate', 'numeric(18, 6)') }} as currency_rate,
        coalesce(
            cast(substr({{ dlt_column(columns, 'date_string', 'text') }}, 1, 10) as date),
            cast(({{ dlt_column(columns, 'date', 'timestamptz') }}) at time zone 'UTC' as date)
        ) as credit_note_date,
        {{ dlt_column(columns, 'updated_date_utc', 'timestamptz') }} as updated_at,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz') }} as deleted_seen_at,
        {{ dlt_variant_flag(columns, money + ['currency_rate', 'date', 'updated_date_utc']) }}
            as has_type_drift,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
