-- The golden product: one row per SKU across WooCommerce, Lightspeed and Finale, each golden
-- field chosen by the survivorship rules in seeds/survivorship_rules.csv (golden_field_audit
-- says why), plus each channel's own facts: web price, shop price, Finale cost and reorder point.
with

records as (

    select
        {{ surrogate_key(["coalesce('sku:' || sku, 'record:' || source_system || ':' || record_id)"]) }}
            as product_key,
        *
    from {{ ref('int_product_records') }}

),

fields as (

    select * from {{ ref('int_product_fields_resolved') }}

),

products as (

    select
        product_key,
        min(sku) as sku,
        count(*) as source_records,
        string_agg(distinct source_system, ',' order by source_system) as source_systems,
        min(updated_at) as first_seen_at,
        max(updated_at) as last_updated_at
    from records
    group by product_key

),

pivoted as (

    select
        entity_key as product_key,
        max(value) filter (where field = 'name') as product_name,
        max(value) filter (where field = 'category') as category,
        max(value) filter (where field = 'unit') as unit,
        max(value) filter (where field = 'unit_size') as unit_size,
        max(value) filter (where field = 'is_taxable') as is_taxable,
        bool_or(needs_review) as has_open_conflicts
    from fields
    group by entity_key

),

-- each channel's newest record of the product (an active one first)
web as (

    select distinct on (product_key) *
    from records
    where source_system = 'woocommerce'
    order by product_key asc, is_active desc nulls last, updated_at desc nulls last

),

shop as (

    select distinct on (product_key) *
    from records
    where source_system = 'lightspeed'
    order by product_key asc, is_active desc nulls last, updated_at desc nulls last

),

warehouse as (

    select distinct on (product_key) *
    from records
    where source_system = 'finale'
    order by product_key asc, is_active desc nulls last, updated_at desc nulls last

),

unit_disagreements as (

    -- a system that counts the product in another base unit than the golden one
    select distinct records.product_key
    from records
    inner join pivoted on records.product_key = pivoted.product_key
    where records.base_unit is distinct from pivoted.unit and records.base_unit is not null

)

select
    products.product_key,
    products.sku,
    pivoted.product_name,
    pivoted.category,
    pivoted.unit,
    cast(pivoted.unit_size as numeric) as unit_size,
    cast(pivoted.is_taxable as boolean) as is_taxable,
    unit_disagreements.product_key is not null as has_unit_disagreement,
    web.price_excl_tax_aud as web_price_excl_gst,
    shop.price_incl_tax_aud as shop_price_incl_gst,
    shop.price_excl_tax_aud as shop_price_excl_gst,
    warehouse.cost_aud as cost,
    warehouse.price_excl_tax_aud as finale_list_price,
    warehouse.reorder_point,
    coalesce(web.is_active, false) as is_sold_online,
    coalesce(shop.is_active, false) as is_sold_in_shops,
    coalesce(warehouse.is_active, false) as is_stocked_in_finale,
    products.source_systems,
    products.source_records,
    coalesce(pivoted.has_open_conflicts, false) as has_open_conflicts,
    products.first_seen_at,
    products.last_updated_at
from products
left join pivoted on products.product_key = pivoted.product_key
left join web on products.product_key = web.product_key
left join shop on products.product_key = shop.product_key
left join warehouse on products.product_key = warehouse.product_key
left join unit_disagreements on products.product_key = unit_disagreements.product_key
