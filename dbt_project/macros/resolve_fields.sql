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
    newer one from the same system. Null values are not candidates. -#}
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

newest as (

    select
        entity_key,
        field,
        max(updated_at) as newest_at
    from candidates
    group by entity_key, field

),

disagreement as (

    select
        candidates.entity_key,
        candidates.field,
        count(distinct candidates.value) as distinct_values,
        count(distinct candidates.value) filter (
            where candidates.updated_at = newest.newest_at
        ) as values_at_newest,
        string_agg(
            distinct candidates.source_system || ': ' || candidates.value, ' | '
        ) as competing_values
    from candidates
    inner join newest
        on candidates.entity_key = newest.entity_key and candidates.field = newest.field
    group by candidates.entity_key, candidates.field

),

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.entity_key, candidates.field
            order by
                case when candidates.strategy = 'last_write_wins' then candidates.updated_at end desc nulls last,
                candidates.priority_rank asc,
                candidates.updated_at desc,
                candidates.record_id asc
        ) as winner_rank
    from candidates

),

resolved as (

    select
        ranked.entity_key,
        ranked.field,
        ranked.value,
        ranked.source_system,
        ranked.record_id,
        ranked.updated_at,
        ranked.strategy,
        disagreement.distinct_values,
        disagreement.competing_values,
        case
            when ranked.strategy = 'last_write_wins' and disagreement.values_at_newest > 1 then 'tie'
            when ranked.strategy = 'manual' and disagreement.distinct_values > 1 then 'manual'
        end as review_reason
    from ranked
    inner join disagreement
        on ranked.entity_key = disagreement.entity_key and ranked.field = disagreement.field
    where ranked.winner_rank = 1

)

select
    entity_key,
    field,
    value,
    source_system,
    record_id,
    updated_at,
    strategy,
    distinct_values,
    competing_values,
    review_reason,
    review_reason is not null as needs_review,
    case
        when review_reason = 'tie' then 'last_write_wins tied; provisional by source priority'
        when review_reason = 'manual' then 'manual review pending; provisional by source priority'
        when strategy = 'last_write_wins' then 'newest value'
        when strategy = 'source_priority' then 'highest-priority source with a value'
        else strategy
    end as rule_applied
from resolved

{% endmacro %}
