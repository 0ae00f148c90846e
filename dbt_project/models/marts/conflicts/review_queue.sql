-- Golden fields the rules cannot decide: a last-write-wins tie, or a `manual` field where
-- the systems disagree. Each row shows the competing values; the provisional value stays in
-- the golden record until someone decides.
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

)

select
    {{ surrogate_key(['entity', 'entity_key', 'field']) }} as review_key,
    entity,
    entity_key,
    field,
    review_reason,
    value as provisional_value,
    source_system as provisional_source,
    competing_values,
    distinct_values,
    updated_at as newest_at
from resolved
where needs_review
