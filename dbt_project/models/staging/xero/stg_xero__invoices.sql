{%- set columns = dlt_columns(source('xero', 'invoices')) -%}
{%- set money = [
    'sub_total', 'total_tax', 'total', 'total_discount', 'amount_due', 'amount_paid', 'amount_credited',
] -%}
{%- set listed_contact_relation = dlt_optional_relation(source('xero', 'invoices__contact')) -%}

with

source as (

    select * from {{ source('xero', 'invoices') }}
    where {{ completed_loads('xero') }}

),

listed_contacts as (

    -- after the object_to_list drift the contact lands as a child table
    {%- if listed_contact_relation is not none %}
        select distinct on (_dlt_parent_id)
            _dlt_parent_id,
            contact_id
        from {{ source('xero', 'invoices__contact') }}
        order by _dlt_parent_id asc, _dlt_list_idx asc
    {%- else %}
        select
            cast(null as varchar) as _dlt_parent_id,
            cast(null as varchar) as contact_id
        where false
    {%- endif %}

),

renamed as (

    select
        source.invoice_id,
        source.invoice_number,
        source.type as invoice_type,
        nullif(trim(source.reference), '') as reference,
        coalesce(
            {{ dlt_column(columns, 'contact__contact_id', 'text', 'source.') }}, listed_contacts.contact_id
        ) as contact_id,
        source.status,
        upper(trim(source.currency_code)) as currency_code,
        {%- for column in money %}
            {{ dlt_column(columns, column, 'numeric(18, 2)', 'source.') }} as {{ column }},
        {%- endfor %}
        {{ dlt_column(columns, 'currency_rate', 'numeric(18, 6)', 'source.') }} as currency_rate,
        {{ dlt_column(columns, 'line_amount_types', 'text', 'source.') }} as line_amount_types,
        -- Xero dates are the organisation's calendar dates (sent as midnight UTC)
        coalesce(
            cast(substr({{ dlt_column(columns, 'date_string', 'text', 'source.') }}, 1, 10) as date),
            cast(({{ dlt_column(columns, 'date', 'timestamptz', 'source.') }}) at time zone 'UTC' as date)
        ) as invoice_date,
        coalesce(
            cast(substr({{ dlt_column(columns, 'due_date_string', 'text', 'source.') }}, 1, 10) as date),
            cast(({{ dlt_column(columns, 'due_date', 'timestamptz', 'source.') }}) at time zone 'UTC' as date)
        ) as due_date,
        cast(
            ({{ dlt_column(columns, 'fully_paid_on_date', 'timestamptz', 'source.') }})
            at time zone 'UTC' as date
        ) as fully_paid_on_date,
        {{ dlt_column(columns, 'updated_date_utc', 'timestamptz', 'source.') }} as updated_at,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean', 'source.') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz', 'source.') }} as deleted_seen_at,
        {{ dlt_variant_flag(
            columns, money + ['currency_rate', 'date', 'due_date', 'updated_date_utc'], 'source.'
        ) }}
            as has_type_drift,
        source._dlt_id as dlt_id,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join listed_contacts on source._dlt_id = listed_contacts._dlt_parent_id

)

select * from renamed
