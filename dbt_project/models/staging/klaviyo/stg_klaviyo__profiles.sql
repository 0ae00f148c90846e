{%- set columns = dlt_columns(source('klaviyo', 'profiles')) -%}
{%- set email_marketing = 'subscriptions__email__marketing__' -%}
{%- set suppression_table = 'profiles__subscriptions__email__marketing__suppression' -%}
{%- set suppressions = dlt_optional_relation(source('klaviyo', suppression_table)) -%}

with

source as (

    select * from {{ source('klaviyo', 'profiles') }}
    where {{ completed_loads('klaviyo') }}

),

suppressions as (

    -- the newest suppression per profile (the child table exists once one has landed)
    {%- if suppressions is not none %}
        select distinct on (_dlt_root_id)
            _dlt_root_id,
            reason as suppression_reason,
            {{ dlt_column(dlt_columns(suppressions), 'timestamp', 'timestamptz') }} as suppressed_at
        from {{ source('klaviyo', suppression_table) }}
        order by _dlt_root_id asc, suppressed_at desc nulls last
    {%- else %}
        select
            cast(null as varchar) as _dlt_root_id,
            cast(null as varchar) as suppression_reason,
            cast(null as timestamptz) as suppressed_at
        where false
    {%- endif %}

),

renamed as (

    select
        source.id as profile_id,
        lower(trim({{ dlt_column(columns, 'email', 'text', 'source.') }})) as email,
        {{ dlt_column(columns, 'phone_number', 'text', 'source.') }} as phone_number,
        {{ dlt_column(columns, 'first_name', 'text', 'source.') }} as first_name,
        {{ dlt_column(columns, 'last_name', 'text', 'source.') }} as last_name,
        {{ dlt_column(columns, 'location__address1', 'text', 'source.') }} as address_line_1,
        {{ dlt_column(columns, 'location__address2', 'text', 'source.') }} as address_line_2,
        {{ dlt_column(columns, 'location__city', 'text', 'source.') }} as city,
        {{ dlt_column(columns, 'location__region', 'text', 'source.') }} as region,
        {{ dlt_column(columns, 'location__zip', 'text', 'source.') }} as postcode,
        {{ dlt_column(columns, 'location__country', 'text', 'source.') }} as country,
        {{ dlt_column(columns, 'location__latitude', 'numeric', 'source.') }} as latitude,
        {{ dlt_column(columns, 'location__longitude', 'numeric', 'source.') }} as longitude,
        {{ dlt_column(columns, 'properties__source', 'text', 'source.') }} as signup_source,
        {{ dlt_column(columns, email_marketing ~ 'consent', 'text', 'source.') }} as email_consent,
        {{ dlt_column(columns, email_marketing ~ 'can_receive_email_marketing', 'boolean', 'source.') }}
            as can_receive_email_marketing,
        {{ dlt_column(columns, 'subscriptions__sms__marketing__consent', 'text', 'source.') }} as sms_consent,
        suppressions.suppression_reason is not null as is_suppressed,
        suppressions.suppression_reason,
        suppressions.suppressed_at,
        {{ dlt_column(columns, 'last_event_date', 'timestamptz', 'source.') }} as last_event_at,
        {{ dlt_column(columns, 'created', 'timestamptz', 'source.') }} as created_at,
        {{ dlt_column(columns, 'updated', 'timestamptz', 'source.') }} as updated_at,
        {{ dlt_variant_flag(columns, [
            'location__latitude', 'location__longitude', 'created', 'updated', 'last_event_date',
            email_marketing ~ 'can_receive_email_marketing',
        ], 'source.') }} as has_type_drift,
        source._dlt_id as dlt_id,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join suppressions on source._dlt_id = suppressions._dlt_root_id

)

select * from renamed
