{{ config(enabled=source_enabled('finale') or source_enabled('lightspeed')) }}

-- Stock by SKU, location and system, in base units (unit_conversions): Finale's on-hand stock at
-- the warehouse and the shops (every product at every facility, 0 when it holds none), and
-- Lightspeed's own idea of each shop's stock. A shop is one location in both systems through
-- the outlet_facility_map seed; where both count a SKU there and disagree, both rows say so.
with

facility_map as (

    select * from {{ ref('outlet_facility_map') }}

),

{%- if source_enabled('finale') %}

    finale_products as (

        select * from {{ ref('int_product_records') }}
        where source_system = 'finale'

    ),

    facilities as (

        select * from {{ ref('stg_finale__facilities') }}

    ),

    finale_stock as (

        -- lots summed; on-order and reserved quantities are rows of their own
        select
            product_id,
            facility_id,
            sum(quantity_on_hand) as quantity_on_hand,
            sum(quantity_on_order) as quantity_on_order,
            sum(quantity_reserved) as quantity_reserved,
            max(updated_at) as updated_at
        from {{ ref('stg_finale__inventory_items') }}
        group by product_id, facility_id

    ),

    finale_rows as (

        select
            'finale' as source_system,
            finale_products.sku,
            facilities.facility_id as location_id,
            facilities.facility_name as location_name,
            case
                when facilities.facility_type_id = 'WAREHOUSE' then 'warehouse' else 'shop'
            end as location_type,
            facility_map.lightspeed_outlet_name,
            coalesce(finale_stock.quantity_on_hand, 0) as source_quantity,
            finale_products.unit as source_unit,
            finale_products.base_unit,
            coalesce(finale_stock.quantity_on_hand, 0)
            * finale_products.base_units_per_unit as quantity_on_hand,
            coalesce(finale_stock.quantity_on_order, 0)
            * finale_products.base_units_per_unit as quantity_on_order,
            coalesce(finale_stock.quantity_reserved, 0)
            * finale_products.base_units_per_unit as quantity_reserved,
            guidelines.reorder_point * finale_products.base_units_per_unit as reorder_point,
            finale_stock.updated_at
        from finale_products
        cross join facilities
        left join finale_stock
            on
                finale_products.record_id = 'product:' || finale_stock.product_id
                and facilities.facility_id = finale_stock.facility_id
        left join {{ ref('stg_finale__product_reorder_guidelines') }} as guidelines
            on
                finale_products.record_id = 'product:' || guidelines.product_id
                and facilities.facility_id = guidelines.facility_id
        left join facility_map on facilities.facility_id = facility_map.finale_facility_id

    ),
{%- endif %}

{%- if source_enabled('lightspeed') %}

    lightspeed_products as (

        select * from {{ ref('int_product_records') }}
        where source_system = 'lightspeed'

    ),

    lightspeed_rows as (

        -- levels are in units sold (a 2 kg bag is 1): converted with the product's unit size
        select
            'lightspeed' as source_system,
            lightspeed_products.sku,
            coalesce(
                facility_map.finale_facility_id, 'lightspeed_outlet:' || outlets.outlet_id
            ) as location_id,
            coalesce(facility_map.finale_facility_name, outlets.outlet_name) as location_name,
            'shop' as location_type,
            outlets.outlet_name as lightspeed_outlet_name,
            sum(inventory.inventory_level) as source_quantity,
            min(lightspeed_products.unit) as source_unit,
            min(lightspeed_products.base_unit) as base_unit,
            sum(inventory.inventory_level * lightspeed_products.base_units_per_unit) as quantity_on_hand,
            cast(null as numeric) as quantity_on_order,
            cast(null as numeric) as quantity_reserved,
            sum(inventory.reorder_point * lightspeed_products.base_units_per_unit) as reorder_point,
            max(inventory.loaded_at) as updated_at
        from {{ ref('stg_lightspeed__inventory') }} as inventory
        inner join lightspeed_products
            on 'product:' || inventory.product_id = lightspeed_products.record_id
        inner join {{ ref('stg_lightspeed__outlets') }} as outlets
            on inventory.outlet_id = outlets.outlet_id
        left join facility_map on outlets.outlet_name = facility_map.lightspeed_outlet_name
        where not inventory.is_deleted and lightspeed_products.is_active
        group by
            lightspeed_products.sku,
            facility_map.finale_facility_id,
            facility_map.finale_facility_name,
            outlets.outlet_id,
            outlets.outlet_name

    ),
{%- endif %}

unioned as (

    {%- if source_enabled('finale') %}
        select * from finale_rows
    {%- endif %}
    {%- if source_enabled('finale') and source_enabled('lightspeed') %}
        union all
    {%- endif %}
    {%- if source_enabled('lightspeed') %}
        select * from lightspeed_rows
    {%- endif %}

),

compared as (

    select
        unioned.*,
        other.quantity_on_hand as other_system_quantity,
        other.source_system as other_system
    from unioned
    left join unioned as other
        on
            unioned.sku = other.sku
            and unioned.location_id = other.location_id
            and unioned.source_system <> other.source_system

)

select
    {{ surrogate_key(['source_system', 'sku', 'location_id']) }} as inventory_key,
    source_system,
    sku,
    location_id,
    location_name,
    location_type,
    lightspeed_outlet_name,
    cast(quantity_on_hand as numeric(20, 6)) as quantity_on_hand,
    base_unit,
    cast(source_quantity as numeric(20, 6)) as source_quantity,
    source_unit,
    cast(quantity_on_order as numeric(20, 6)) as quantity_on_order,
    cast(quantity_reserved as numeric(20, 6)) as quantity_reserved,
    cast(reorder_point as numeric(20, 6)) as reorder_point,
    other_system,
    cast(other_system_quantity as numeric(20, 6)) as other_system_quantity,
    cast(quantity_on_hand - other_system_quantity as numeric(20, 6)) as quantity_difference,
    coalesce(quantity_on_hand <> other_system_quantity, false) as systems_disagree,
    updated_at
from compared
