{{ config(enabled=source_enabled('klaviyo')) }}

-- Per golden customer: their Klaviyo profile, whether their email is suppressed, the
-- campaign emails they received, opened and clicked, when they last engaged (opened or
-- clicked an email, or placed an order), and the Placed Order events Klaviyo holds with
-- their value. Customers without a profile are here too, with zeros.
with

customers as (

    select customer_key from {{ ref('dim_customers') }}

),

profiles as (

    select
        matched.customer_key,
        profiles.*
    from {{ ref('int_customers_matched') }} as matched
    inner join {{ ref('stg_klaviyo__profiles') }} as profiles
        on matched.record_id = 'profile:' || profiles.profile_id
    where matched.source_system = 'klaviyo'

),

events as (

    select
        profile_id,
        metric_name,
        occurred_at,
        value
    from {{ ref('int_klaviyo_events') }}
    where metric_name is not null

),

activity as (

    select
        profile_id,
        count(*) filter (where metric_name = 'Received Email') as emails_received,
        count(*) filter (where metric_name = 'Opened Email') as emails_opened,
        count(*) filter (where metric_name = 'Clicked Email') as emails_clicked,
        count(*) filter (where metric_name = 'Placed Order') as placed_order_events,
        sum(value) filter (where metric_name = 'Placed Order') as placed_order_value,
        max(occurred_at) filter (where metric_name = 'Received Email') as last_email_received_at,
        max(occurred_at) filter (
            where metric_name in ('Opened Email', 'Clicked Email', 'Placed Order')
        ) as last_engaged_at
    from events
    group by profile_id

),

per_customer as (

    select
        profiles.customer_key,
        count(*) as klaviyo_profiles,
        (array_agg(profiles.profile_id order by profiles.updated_at desc, profiles.profile_id asc))[1]
            as klaviyo_profile_id,
        bool_or(profiles.is_suppressed) as is_suppressed,
        bool_or(coalesce(profiles.can_receive_email_marketing, false)) as can_receive_email_marketing,
        coalesce(sum(activity.emails_received), 0) as emails_received,
        coalesce(sum(activity.emails_opened), 0) as emails_opened,
        coalesce(sum(activity.emails_clicked), 0) as emails_clicked,
        coalesce(sum(activity.placed_order_events), 0) as placed_order_events,
        coalesce(sum(activity.placed_order_value), 0) as placed_order_value,
        max(activity.last_email_received_at) as last_email_received_at,
        max(activity.last_engaged_at) as last_engaged_at
    from profiles
    left join activity on profiles.profile_id = activity.profile_id
    group by profiles.customer_key

)

select
    customers.customer_key,
    per_customer.klaviyo_profile_id,
    coalesce(per_customer.klaviyo_profiles, 0) as klaviyo_profiles,
    per_customer.customer_key is not null as has_klaviyo_profile,
    coalesce(per_customer.is_suppressed, false) as is_suppressed,
    coalesce(per_customer.can_receive_email_marketing, false) as can_receive_email_marketing,
    coalesce(per_customer.emails_received, 0) as emails_received,
    coalesce(per_customer.emails_opened, 0) as emails_opened,
    coalesce(per_customer.emails_clicked, 0) as emails_clicked,
    round(
        cast(per_customer.emails_opened as numeric) / nullif(per_customer.emails_received, 0), 4
    ) as open_rate,
    round(
        cast(per_customer.emails_clicked as numeric) / nullif(per_customer.emails_received, 0), 4
    ) as click_rate,
    per_customer.last_email_received_at,
    per_customer.last_engaged_at,
    coalesce(per_customer.placed_order_events, 0) as placed_order_events,
    coalesce(per_customer.placed_order_value, 0) as placed_order_value
from customers
left join per_customer on customers.customer_key = per_customer.customer_key
