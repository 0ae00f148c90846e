-- For every golden field: the winning source, its value, its timestamp and the rule used.
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
    {{ surrogate_key(['entity', 'entity_key', 'field']) }} as audit_key,
    entity,
    entity_key,
    field,
    value as golden_value,
    source_system as winning_source,
    record_id as winning_record_id,
    updated_at as winning_updated_at,
    strategy,
    rule_applied,
    distinct_values,
    competing_values,
    needs_review
from resolved
