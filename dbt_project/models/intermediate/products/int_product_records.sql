-- Every record of a product in any system, in one shape: SKU upper case and trimmed, the unit
-- sold and its size converted to a base unit through the unit_conversions seed, prices in AUD.
-- WooCommerce products always; Lightspeed and Finale products when their sources have landed.
--
-- Unit size, in the record's own unit: a size stated by the system (WooCommerce's weight for a
-- product sold by the kg; Finale counts stock in its unit, so 1), else the size at the end of
-- the name when it is in that unit ("Strawberries 250g" sold by the g: 250; "(2kg)" sold by the
-- kg: 2), else 1 ("Pink Lady Apples /kg", a 2 L bottle sold each, a pack of 250 g sold as a pack).
with

unit_conversions as (

    select
        lower(trim(unit)) as unit,
        base_unit,
        factor
    from {{ ref('unit_conversions') }}

),

currency_rates as (

    select
        upper(trim(currency)) as currency,
        rate_to_aud
    from {{ ref('currency_rates') }}

),

web_currency as materialized (

    -- WooCommerce products carry no currency: the store's is the one its orders are in.
    -- Materialized: inlined, the planner ran this aggregate over every order once per product
    select mode() within group (order by upper(trim(orders.currency))) as currency
    from {{ ref('stg_woocommerce__orders') }} as orders

),

woocommerce_products as (

    select
        'woocommerce' as source_system,
        'product:' || products.product_id as record_id,
        products.sku,
        products.product_name,
        products.category,
        products.unit as source_unit,
        case when lower(trim(products.unit)) = 'kg' then products.weight_kg end as stated_unit_size,
        products.tax_status = 'taxable' as is_taxable,
        products.product_status = 'publish' as is_active,
        web_currency.currency,
        -- WooCommerce prices exclude GST
        products.price as price_excl_tax,
        cast(null as numeric) as price_incl_tax,
        cast(null as numeric) as cost,
        cast(null as numeric) as reorder_point,
        products.updated_at
    from {{ ref('stg_woocommerce__products') }} as products
    cross join web_currency

),

{%- if source_enabled('lightspeed') %}

    lightspeed_currency as (

        -- one Lightspeed account prices in one currency: its outlets'
        select min(outlets.currency) as currency
        from {{ ref('stg_lightspeed__outlets') }} as outlets

    ),

    lightspeed_products as (

        select
            'lightspeed' as source_system,
            'product:' || products.product_id as record_id,
            products.sku,
            products.product_name,
            products.category,
            products.unit as source_unit,
            cast(null as numeric) as stated_unit_size,
            products.price_including_tax > products.price_excluding_tax as is_taxable,
            products.is_active and not products.is_deleted as is_active,
            lightspeed_currency.currency,
            products.price_excluding_tax as price_excl_tax,
            products.price_including_tax as price_incl_tax,
            products.supply_price as cost,
            cast(null as numeric) as reorder_point,
            products.updated_at
        from {{ ref('stg_lightspeed__products') }} as products
        cross join lightspeed_currency

    ),
{%- endif %}

{%- if source_enabled('finale') %}

    finale_reorder_points as (

        -- the warehouse's reorder point (the shops' are in fct_inventory)
        select
            guidelines.product_id,
            max(guidelines.reorder_point) as reorder_point
        from {{ ref('stg_finale__product_reorder_guidelines') }} as guidelines
        inner join {{ ref('stg_finale__facilities') }} as facilities
            on guidelines.facility_id = facilities.facility_id
        where facilities.facility_type_id = 'WAREHOUSE'
        group by guidelines.product_id

    ),

    finale_products as (

        select
            'finale' as source_system,
            'product:' || products.product_id as record_id,
            products.sku,
            products.product_name,
            products.category,
            products.unit as source_unit,
            -- Finale counts stock in its unit: one of it is one unit
            cast(1 as numeric) as stated_unit_size,
            cast(null as boolean) as is_taxable,
            products.is_active,
            products.currency,
            -- per Finale unit, GST-exclusive
            products.list_price as price_excl_tax,
            cast(null as numeric) as price_incl_tax,
            products.cost,
            finale_reorder_points.reorder_point,
            products.updated_at
        from {{ ref('stg_finale__products') }} as products
        left join finale_reorder_points on products.product_id = finale_reorder_points.product_id

    ),
{%- endif %}

unioned as (

    select * from woocommerce_products
    {%- if source_enabled('lightspeed') %}
        union all
        select * from lightspeed_products
    {%- endif %}
    {%- if source_enabled('finale') %}
        union all
        select * from finale_products
    {%- endif %}

),

parsed as (

    select
        unioned.*,
        nullif(lower(trim(unioned.source_unit)), '') as unit,
        regexp_match(
            lower(unioned.product_name), '([0-9]+(?:\.[0-9]+)?)\s*(kg|g|ml|l|pk)\)?\s*$'
        ) as name_size
    from unioned

),

sized as (

    select
        parsed.*,
        coalesce(
            parsed.stated_unit_size,
            case when parsed.name_size[2] = parsed.unit then cast(parsed.name_size[1] as numeric) end,
            1
        ) as unit_size
    from parsed

)

select
    sized.source_system,
    sized.record_id,
    nullif(upper(trim(sized.sku)), '') as sku,
    nullif(trim(sized.product_name), '') as product_name,
    nullif(trim(sized.category), '') as category,
    sized.unit,
    cast(sized.unit_size as numeric(20, 6)) as unit_size,
    unit_conversions.base_unit,
    cast(sized.unit_size * unit_conversions.factor as numeric(20, 6)) as base_units_per_unit,
    sized.unit is not null and unit_conversions.unit is null as has_unknown_unit,
    sized.is_taxable,
    sized.is_active,
    sized.currency,
    cast(sized.price_excl_tax * currency_rates.rate_to_aud as numeric(20, 5)) as price_excl_tax_aud,
    cast(sized.price_incl_tax * currency_rates.rate_to_aud as numeric(20, 5)) as price_incl_tax_aud,
    cast(sized.cost * currency_rates.rate_to_aud as numeric(20, 5)) as cost_aud,
    sized.reorder_point,
    sized.updated_at
from sized
left join unit_conversions on sized.unit = unit_conversions.unit
left join currency_rates on sized.currency = currency_rates.currency
