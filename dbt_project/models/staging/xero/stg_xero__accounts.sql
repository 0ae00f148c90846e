{%- set columns = dlt_columns(source('xero', 'accounts')) -%}

with

source as (

    select * from {{ source('xero', 'accounts') }}
    where {{ completed_loads('xero') }}

),

renamed as (

    select
        account_id,
        code as account_code,
        name as account_name,
        type as account_type,
        {{ dlt_column(columns, 'class', 'text') }} as account_class,
        {{ dlt_column(columns, 'tax_type', 'text') }} as tax_type,
        status as account_status,
        {{ dlt_column(columns, 'currency_code', 'text') }} as currency_code,
        {{ dlt_column(columns, 'reporting_code', 'text') }} as reporting_code,
        {{ dlt_column(columns, 'updated_date_utc', 'timestamptz') }} as updated_at

    from source

)

select * from renamed
