-- For every golden field: the winning source, its value, its timestamp and the rule used, and
-- every decision an operator made on it (the newest one's standing: applied or outdated).
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

decision_history as (

    select
        entity,
        entity_key,
        field,
        count(*) as decisions_made,
        jsonb_agg(
            jsonb_build_object(
                'decision_id', decision_id,
                'decided_by', decided_by,
                'decided_at', decided_at,
                'chosen_value', chosen_value,
                'chosen_source', chosen_source,
                'note', decision_note
            )
            order by decided_at desc, decision_id desc
        ) as decision_history
    from {{ ref('stg_ops__conflict_decisions') }}
    group by entity, entity_key, field

)

select
    {{ surrogate_key(['resolved.entity', 'resolved.entity_key', 'resolved.field']) }} as audit_key,
    resolved.entity,
    resolved.entity_key,
    resolved.field,
    resolved.value as golden_value,
    resolved.source_system as winning_source,
    resolved.record_id as winning_record_id,
    resolved.updated_at as winning_updated_at,
    resolved.strategy,
    resolved.rule_applied,
    resolved.distinct_values,
    resolved.competing_values,
    resolved.needs_review,
    resolved.decision_id,
    resolved.decided_value,
    resolved.decided_by,
    resolved.decided_at,
    resolved.decision_status,
    coalesce(decision_history.decisions_made, 0) as decisions_made,
    decision_history.decision_history
from resolved
left join decision_history
    on
        resolved.entity = decision_history.entity
        and resolved.entity_key = decision_history.entity_key
        and resolved.field = decision_history.field
