-- The golden customer: one row per person across the systems, each field chosen by the
-- survivorship rules in seeds/survivorship_rules.csv (see golden_field_audit for why).
with

matched as (

    select * from {{ ref('int_customers_matched') }}

),

fields as (

    select * from {{ ref('int_customer_fields_resolved') }}

),

people as (

    select
        customer_key,
        count(*) as source_records,
        string_agg(distinct source_system, ',' order by source_system) as source_systems,
        min(updated_at) as first_seen_at,
        max(updated_at) as last_updated_at,
        min(matched_on) as matched_on
    from matched
    group by customer_key

),

pivoted as (

    select
        entity_key as customer_key,
        max(value) filter (where field = 'email') as email,
        max(value) filter (where field = 'phone') as phone,
        max(value) filter (where field = 'first_name') as first_name,
        max(value) filter (where field = 'last_name') as last_name,
        max(value) filter (where field = 'address') as address,
        bool_or(needs_review) as has_open_conflicts
    from fields
    group by entity_key

)

select
    people.customer_key,
    pivoted.email,
    md5(pivoted.email) as email_hash,
    pivoted.phone,
    pivoted.first_name,
    pivoted.last_name,
    pivoted.address,
    people.source_systems,
    people.source_records,
    people.matched_on,
    coalesce(pivoted.has_open_conflicts, false) as has_open_conflicts,
    people.first_seen_at,
    people.last_updated_at
from people
left join pivoted on people.customer_key = pivoted.customer_key
