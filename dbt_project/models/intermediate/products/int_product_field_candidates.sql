-- One row per product (SKU), golden field and source record: what each system says, and when.
-- Records without a SKU cannot be matched and stay products of their own.
with

records as (

    select
        {{ surrogate_key(["coalesce('sku:' || sku, 'record:' || source_system || ':' || record_id)"]) }}
            as product_key,
        *
    from {{ ref('int_product_records') }}

),

unpivoted as (

    {%- set fields = {
        'name': 'product_name',
        'category': 'category',
        'unit': 'base_unit',
        'unit_size': 'cast(trim_scale(base_units_per_unit) as text)',
        'is_taxable': 'cast(is_taxable as text)',
    } %}
    {%- for field, expression in fields.items() %}
        select
            product_key as entity_key,
            '{{ field }}' as field,
            source_system,
            record_id,
            {{ expression }} as value,
            updated_at
        from records
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select * from unpivoted
