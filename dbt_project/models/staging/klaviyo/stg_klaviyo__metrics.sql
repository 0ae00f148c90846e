{%- set columns = dlt_columns(source('klaviyo', 'metrics')) -%}

with

source as (

    select * from {{ source('klaviyo', 'metrics') }}
    where {{ completed_loads('klaviyo') }}

),

renamed as (

    select
        id as metric_id,
        name as metric_name,
        {{ dlt_column(columns, 'integration__key', 'text') }} as integration_key,
        {{ dlt_column(columns, 'integration__name', 'text') }} as integration_name,
        {{ dlt_column(columns, 'integration__category', 'text') }} as integration_category,
        {{ dlt_column(columns, 'created', 'timestamptz') }} as created_at,
        {{ dlt_column(columns, 'updated', 'timestamptz') }} as updated_at

    from source

)

select * from renamed
