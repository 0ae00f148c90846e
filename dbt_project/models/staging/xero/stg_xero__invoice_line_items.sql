{%- set columns = dlt_columns(source('xero', 'invoices__line_items')) -%}
{%- set amounts = ['line_amount', 'tax_amount', 'discount_amount'] -%}
{%- set units = ['quantity', 'unit_amount', 'discount_rate'] -%}

with

source as (

    select * from {{ source('xero', 'invoices__line_items') }}

),

invoices as (

    -- child tables carry no load id: their parent invoice's completed load vouches for them
    select
        _dlt_id,
        invoice_id
    from {{ source('xero', 'invoices') }}
    where {{ completed_loads('xero') }}

),

renamed as (

    select
        source.line_item_id,
        invoices.invoice_id,
        source._dlt_list_idx + 1 as line_number,
        {{ dlt_column(columns, 'description', 'text', 'source.') }} as description,
        nullif(trim({{ dlt_column(columns, 'item_code', 'text', 'source.') }}), '') as sku,
        {%- for column in units %}
            {{ dlt_column(columns, column, 'numeric(18, 4)', 'source.') }} as {{ column }},
        {%- endfor %}
        {%- for column in amounts %}
            {{ dlt_column(columns, column, 'numeric(18, 2)', 'source.') }} as {{ column }},
        {%- endfor %}
        {{ dlt_column(columns, 'tax_type', 'text', 'source.') }} as tax_type,
        {{ dlt_column(columns, 'account_code', 'text', 'source.') }} as account_code,
        {{ dlt_variant_flag(columns, amounts + units, 'source.') }} as has_type_drift

    from source
    inner join invoices on source._dlt_root_id = invoices._dlt_id

)

select * from renamed
