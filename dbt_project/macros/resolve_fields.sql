{#- Survivorship: pick each golden field's value from competing source values.

    `candidates` has one row per (entity_key, field, source_system, record_id) with the
    field's `value` (text) and the record's `updated_at`. The strategy for each field comes
    from the `survivorship_rules` seed:

    - last_write_wins: the newest value; ties (different values at the same newest time)
      go to review, provisionally won by source priority;
    - source_priority: the value from the first source in the ordered list that has one
      (newest record within that source);
    - manual: provisionally source priority, and every disagreement goes to review.

    Within a source only the newest record counts first, so a stale value never beats a
    newer one from the same system. Null values are not candidates.

    Above every strategy: an operator's decision (ops.conflict_decisions, made in the
    dashboard's review page; the newest per field counts). It stands until a source sends a
    value newer than anything the operator saw (`source_newest_at`) that differs from the
    chosen one; then the field follows its strategy again and, while the sources still
    disagree, goes back to review as `decision_outdated` instead of overriding the new data. -#}
{% macro resolve_fields(candidates, entity) %}

with

candidates as (

    select
        candidates.entity_key,
        candidates.field,
        candidates.source_system,
        candidates.record_id,
        candidates.value,
        candidates.updated_at,
        rules.strategy,
        coalesce(
            array_position(string_to_array(rules.source_priority, '>'), candidates.source_system), 999
        ) as priority_rank
    from {{ candidates }} as candidates
    inner join {{ ref('survivorship_rules') }} as rules
        on rules.entity = '{{ entity }}' and candidates.field = rules.field
    where candidates.value is not null

),

ranked as (

    -- one pass, no self-join: a join of two aggregated CTEs has no row estimates, and the
    -- planner's nested loop over them grew with the square of the customers
    select
        candidates.*,
        row_number() over (
            partition by candidates.entity_key, candidates.field
            order by
                case when candidates.strategy = 'last_write_wins' then candidates.updated_at end desc nulls last,
                candidates.priority_rank asc,
                candidates.updated_at desc,
                candidates.record_id asc
        ) as winner_rank,
        max(candidates.updated_at) over (
            partition by candidates.entity_key, candidates.field
        ) as newest_at
    from candidates

),

resolved as (

    select
        entity_key,
        field,
        max(value) filter (where winner_rank = 1) as value,
        max(source_system) filter (where winner_rank = 1) as source_system,
        max(record_id) filter (where winner_rank = 1) as record_id,
        max(updated_at) filter (where winner_rank = 1) as updated_at,
        max(strategy) as strategy,
        count(distinct value) as distinct_values,
        string_agg(distinct source_system || ': ' || value, ' | ') as competing_values,
        max(newest_at) as newest_at,
        case
            when
                max(strategy) = 'last_write_wins'
                and count(distinct value) filter (where updated_at = newest_at) > 1
                then 'tie'
            when max(strategy) = 'manual' and count(distinct value) > 1 then 'manual'
        end as review_reason
    from ranked
    group by entity_key, field

),

decisions as (

    select distinct on (entity_key, field)
        entity_key,
        field,
        decision_id,
        chosen_value,
        decided_by,
        decided_at,
        source_newest_at
    from {{ ref('stg_ops__conflict_decisions') }}
    where entity = '{{ entity }}'
    order by entity_key asc, field asc, decided_at desc, decision_id desc

),

decision_standing as (

    select
        decisions.*,
        exists (
            select 1
            from candidates
            where
                candidates.entity_key = decisions.entity_key
                and candidates.field = decisions.field
                and candidates.updated_at > decisions.source_newest_at
                and candidates.value <> decisions.chosen_value
        ) as is_outdated
    from decisions

),

decided as (

    select
        resolved.*,
        decision_standing.decision_id,
        decision_standing.chosen_value,
        decision_standing.decided_by,
        decision_standing.decided_at,
        decision_standing.is_outdated,
        coalesce(not decision_standing.is_outdated, false) as decision_applies
    from resolved
    left join decision_standing
        on resolved.entity_key = decision_standing.entity_key and resolved.field = decision_standing.field

),

reviewed as (

    select
        *,
        case
            when decision_applies then null
            when is_outdated and distinct_values > 1 then 'decision_outdated'
            else review_reason
        end as final_review_reason
    from decided

)

select
    entity_key,
    field,
    case when decision_applies then chosen_value else value end as value,
    case when decision_applies then 'operator' else source_system end as source_system,
    case when decision_applies then 'decision:' || decision_id else record_id end as record_id,
    case when decision_applies then decided_at else updated_at end as updated_at,
    strategy,
    distinct_values,
    competing_values,
    newest_at,
    final_review_reason as review_reason,
    final_review_reason is not null as needs_review,
    case
        when decision_applies then 'operator decision'
        when final_review_reason = 'decision_outdated'
            then 'operator decision outdated by a newer source value; provisional by ' || strategy
        when final_review_reason = 'tie' then 'last_write_wins tied; provisional by source priority'
        when final_review_reason = 'manual' then 'manual review pending; provisional by source priority'
        when strategy = 'last_write_wins' then 'newest value'
        when strategy = 'source_priority' then 'highest-priority source with a value'
        else strategy
    end as rule_applied,
    decision_id,
    chosen_value as decided_value,
    decided_by,
    decided_at,
    case when decision_applies then 'applied' when is_outdated then 'outdated' end as decision_status
from reviewed

{% endmacro %}
