{{ config(enabled=source_enabled('finale')) }}

-- Web orders that take stock (processing or completed, fct_orders counts them as revenue) and
-- that Finale does not hold yet as a sales order. Finale's orderId for a web order is
-- deterministic (`WEB-<order number>`), so sending one twice cannot make two orders and an
-- order sent before finds itself here as already present. Lines carry the SKU, the quantity in
-- Finale's units (a 2 kg bag of potatoes is 2 kg) and the unit price per Finale unit.
with

orders as (

    select * from {{ ref('fct_orders') }}
    where channel = 'web' and counts_as_revenue

),

in_finale as (

    select order_id
    from {{ ref('stg_finale__orders') }}
    where order_type_id = 'SALES_ORDER'

),

finale_units as (

    select
        sku,
        base_unit,
        base_units_per_unit
    from {{ ref('int_product_records') }}
    where source_system = 'finale'

),

web_units as (

    select
        record_id,
        base_unit,
        base_units_per_unit
    from {{ ref('int_product_records') }}
    where source_system = 'woocommerce'

),

converted as (

    -- Finale units per unit sold: the ratio of base units when both count in the same base
    -- unit; 1 when Finale counts packs (ea) of something the store sells by weight
    select
        order_lines.*,
        case
            when web_units.base_unit = finale_units.base_unit
                then web_units.base_units_per_unit / nullif(finale_units.base_units_per_unit, 0)
        end as finale_units_per_unit
    from {{ ref('stg_woocommerce__order_lines') }} as order_lines
    left join web_units on 'product:' || order_lines.product_id = web_units.record_id
    left join finale_units on upper(trim(order_lines.sku)) = finale_units.sku

),

lines as (

    select
        'woocommerce:' || converted.order_id as order_key,
        jsonb_agg(
            jsonb_build_object(
                'sku', upper(trim(converted.sku)),
                'quantity', round(converted.quantity * coalesce(converted.finale_units_per_unit, 1), 4),
                'unit_price', round(converted.unit_price / coalesce(converted.finale_units_per_unit, 1), 4)
            )
            order by converted.order_line_id
        ) as lines
    from converted
    group by converted.order_id

)

select
    orders.order_key,
    orders.order_id,
    orders.order_number,
    'WEB-' || orders.order_number as finale_order_id,
    orders.ordered_at,
    lines.lines
from orders
inner join lines on orders.order_key = lines.order_key
left join in_finale on 'WEB-' || orders.order_number = in_finale.order_id
where in_finale.order_id is null
