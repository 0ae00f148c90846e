{%- set columns = dlt_columns(source('klaviyo', 'campaigns')) -%}

with

source as (

    select * from {{ source('klaviyo', 'campaigns') }}
    where {{ completed_loads('klaviyo') }}

),

renamed as (

    select
        id as campaign_id,
        name as campaign_name,
        channel,
        status as campaign_status,
        {{ dlt_column(columns, 'archived', 'boolean') }} as is_archived,
        {{ dlt_column(columns, 'send_strategy__method', 'text') }} as send_strategy,
        {{ dlt_column(columns, 'scheduled_at', 'timestamptz') }} as scheduled_at,
        coalesce(
            {{ dlt_column(columns, 'send_time', 'timestamptz') }},
            {{ dlt_column(columns, 'send_strategy__datetime', 'timestamptz') }}
        ) as send_time,
        {{ dlt_column(columns, 'send_time', 'timestamptz') }} as sent_at,
        {{ dlt_column(columns, 'created_at', 'timestamptz') }} as created_at,
        {{ dlt_column(columns, 'updated_at', 'timestamptz') }} as updated_at,
        {{ dlt_variant_flag(columns, ['archived', 'send_time', 'scheduled_at', 'created_at', 'updated_at']) }}
            as has_type_drift

    from source

)

select * from renamed
