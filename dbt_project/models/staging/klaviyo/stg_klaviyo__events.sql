{%- set columns = dlt_columns(source('klaviyo', 'events')) -%}
{%- set profile_lists = dlt_optional_relation(source('klaviyo', 'events__profile_ids')) -%}

with

source as (

    select * from {{ source('klaviyo', 'events') }}
    where {{ completed_loads('klaviyo') }}

),

listed_profiles as (

    -- after the object_to_list drift the profile relationship lands as a child table
    {%- if profile_lists is not none %}
        select distinct on (_dlt_parent_id)
            _dlt_parent_id,
            value as profile_id
        from {{ source('klaviyo', 'events__profile_ids') }}
        order by _dlt_parent_id asc, _dlt_list_idx asc
    {%- else %}
        select
            cast(null as varchar) as _dlt_parent_id,
            cast(null as varchar) as profile_id
        where false
    {%- endif %}

),

renamed as (

    select
        source.id as event_id,
        coalesce(
            {{ dlt_column(columns, 'profile_id', 'text', 'source.') }}, listed_profiles.profile_id
        ) as profile_id,
        {{ dlt_column(columns, 'metric_id', 'text', 'source.') }} as metric_id,
        coalesce(
            {{ dlt_column(columns, 'datetime', 'timestamptz', 'source.') }},
            to_timestamp({{ dlt_column(columns, 'timestamp', 'bigint', 'source.') }})
        ) as occurred_at,
        {{ dlt_column(columns, 'event_properties___value', 'numeric(18, 2)', 'source.') }} as value,
        nullif(
            trim({{ dlt_column(columns, 'event_properties__order_id', 'text', 'source.') }}), ''
        ) as order_id,
        {{ dlt_column(columns, 'event_properties__discount_code', 'text', 'source.') }} as discount_code,
        {{ dlt_column(columns, 'event_properties__discount_value', 'numeric(18, 2)', 'source.') }}
            as discount_value,
        {{ dlt_column(columns, 'event_properties__campaign_name', 'text', 'source.') }} as campaign_name,
        {{ dlt_column(columns, 'event_properties__subject', 'text', 'source.') }} as email_subject,
        {{ dlt_column(columns, 'event_properties___message', 'text', 'source.') }} as message_id,
        {{ dlt_column(columns, 'event_properties__url', 'text', 'source.') }} as clicked_url,
        {{ dlt_column(columns, 'uuid', 'text', 'source.') }} as event_uuid,
        {{ dlt_variant_flag(columns, ['datetime', 'timestamp', 'event_properties___value'], 'source.') }}
            as has_type_drift,
        source._dlt_load_id as dlt_load_id,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join listed_profiles on source._dlt_id = listed_profiles._dlt_parent_id

)

select * from renamed
