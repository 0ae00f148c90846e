-- Golden fields the rules cannot decide: a last-write-wins tie, a `manual` field where the
-- systems disagree, or an operator's decision that a newer source value has outdated. Each row
-- shows the competing values (with their sources and times); the provisional value stays in
-- the golden record until an operator decides in the dashboard's review page.
with

resolved as (

    select
        'customer' as entity,
        *
    from {{ ref('int_customer_fields_resolved') }}

    union all

    select
        'product' as entity,
        *
    from {{ ref('int_product_fields_resolved') }}

),

open_items as (

    select * from resolved
    where needs_review

),

candidates as (

    select
        'customer' as entity,
        *
    from {{ ref('int_customer_field_candidates') }}

    union all

    select
        'product' as entity,
        *
    from {{ ref('int_product_field_candidates') }}

),

candidate_lists as (

    -- every source record's value, newest first, for the operator to choose from
    select
        candidates.entity,
        candidates.entity_key,
        candidates.field,
        jsonb_agg(
            jsonb_build_object(
                'source_system', candidates.source_system,
                'record_id', candidates.record_id,
                'value', candidates.value,
                'updated_at', candidates.updated_at
            )
            order by candidates.updated_at desc, candidates.source_system asc, candidates.record_id asc
        ) as candidates
    from candidates
    inner join open_items
        on
            candidates.entity = open_items.entity
            and candidates.entity_key = open_items.entity_key
            and candidates.field = open_items.field
    where candidates.value is not null
    group by candidates.entity, candidates.entity_key, candidates.field

)

select
    {{ surrogate_key(['open_items.entity', 'open_items.entity_key', 'open_items.field']) }} as review_key,
    open_items.entity,
    open_items.entity_key,
    open_items.field,
    open_items.review_reason,
    open_items.value as provisional_value,
    open_items.source_system as provisional_source,
    open_items.competing_values,
    candidate_lists.candidates,
    open_items.distinct_values,
    open_items.updated_at as newest_at,
    open_items.newest_at as newest_source_at,
    open_items.decision_id as outdated_decision_id,
    open_items.decided_value as outdated_decided_value,
    open_items.decided_by as outdated_decided_by,
    open_items.decided_at as outdated_decided_at
from open_items
left join candidate_lists
    on
        open_items.entity = candidate_lists.entity
        and open_items.entity_key = candidate_lists.entity_key
        and open_items.field = candidate_lists.field
