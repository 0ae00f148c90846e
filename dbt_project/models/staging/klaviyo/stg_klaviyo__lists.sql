{%- set columns = dlt_columns(source('klaviyo', 'lists')) -%}

with

source as (

    select * from {{ source('klaviyo', 'lists') }}
    where {{ completed_loads('klaviyo') }}

),

renamed as (

    select
        id as list_id,
        name as list_name,
        {{ dlt_column(columns, 'opt_in_process', 'text') }} as opt_in_process,
        {{ dlt_column(columns, 'created', 'timestamptz') }} as created_at,
        {{ dlt_column(columns, 'updated', 'timestamptz') }} as updated_at

    from source

)

select * from renamed
