with

source as (

    select * from {{ source('woocommerce', 'products') }}
    where {{ completed_loads('woocommerce') }}

),

units as (

    -- the `Unit` attribute names the unit a product is sold in (kg, g, each, bunch)
    select distinct on (attributes._dlt_parent_id)
        attributes._dlt_parent_id,
        nullif(trim(options.value), '') as unit
    from {{ source('woocommerce', 'products__attributes') }} as attributes
    inner join {{ source('woocommerce', 'products__attributes__options') }} as options
        on attributes._dlt_id = options._dlt_parent_id
    where lower(trim(attributes.name)) = 'unit'
    order by attributes._dlt_parent_id asc, attributes._dlt_list_idx asc, options._dlt_list_idx asc

),

categories as (

    select distinct on (_dlt_parent_id)
        _dlt_parent_id,
        nullif(trim(name), '') as category
    from {{ source('woocommerce', 'products__categories') }}
    order by _dlt_parent_id asc, _dlt_list_idx asc

),

renamed as (

    select
        source.id as product_id,
        source.sku,
        source.name as product_name,
        source.status as product_status,
        cast(source.price as numeric(18, 2)) as price,
        source.stock_quantity,
        source.tax_status,
        units.unit,
        -- WooCommerce sends the weight (kg) as text; empty when not set
        case
            when trim(source.weight) ~ '^[0-9]+(\.[0-9]+)?$' then cast(trim(source.weight) as numeric(18, 4))
        end as weight_kg,
        categories.category,
        source.date_created_gmt as created_at,
        source.date_modified_gmt as updated_at

    from source
    left join units on source._dlt_id = units._dlt_parent_id
    left join categories on source._dlt_id = categories._dlt_parent_id

)

select * from renamed
