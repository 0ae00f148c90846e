{{
    config(
        enabled=source_enabled('klaviyo'),
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

-- Klaviyo events with their metric's name; the largest table of the store, so each build
-- adds only events of loads it has not built yet (events are immutable; a re-sent event
-- replaces its earlier copy by id).
with

staged as (

    select * from {{ ref('stg_klaviyo__events') }}

),

events as (

    select * from staged
    where {{ changed_since_last_run('staged', ['event_id', 'dlt_load_id']) }}

),

metrics as (

    select * from {{ ref('stg_klaviyo__metrics') }}

)

select
    events.event_id,
    events.profile_id,
    events.metric_id,
    metrics.metric_name,
    events.occurred_at,
    events.value,
    events.loaded_at as source_changed_at,
    events.dlt_load_id,
    {{ built_at() }} as built_at
from events
left join metrics on events.metric_id = metrics.metric_id
