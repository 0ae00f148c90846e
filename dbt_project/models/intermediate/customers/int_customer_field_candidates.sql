-- One row per person, field and source record: what each system says, and when.
with

matched as (

    select * from {{ ref('int_customers_matched') }}

),

unpivoted as (

    {%- for field in ['email', 'phone', 'first_name', 'last_name', 'address'] %}
        select
            customer_key as entity_key,
            '{{ field }}' as field,
            source_system,
            record_id,
            {{ field }} as value,
            updated_at
        from matched
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select * from unpivoted
