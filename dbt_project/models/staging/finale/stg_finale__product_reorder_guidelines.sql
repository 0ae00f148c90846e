{%- set columns = dlt_columns(source('finale', 'products__reorder_guideline_list')) -%}

with

source as (

    select * from {{ source('finale', 'products__reorder_guideline_list') }}

),

products as (

    -- child tables carry no load id: their parent product's completed load vouches for them
    select
        _dlt_id,
        product_id
    from {{ source('finale', 'products') }}
    where {{ completed_loads('finale') }}

),

renamed as (

    select
        {{ surrogate_key(['products.product_id', "source.facility_url"]) }} as reorder_guideline_key,
        products.product_id,
        {{ finale_url_id(dlt_column(columns, 'facility_url', 'text', 'source.')) }} as facility_id,
        -- in Finale units
        {{ dlt_column(columns, 'reorder_point', 'numeric(20, 6)', 'source.') }} as reorder_point,
        {{ dlt_column(columns, 'reorder_quantity', 'numeric(20, 6)', 'source.') }} as reorder_quantity,
        {{ dlt_variant_flag(columns, ['reorder_point', 'reorder_quantity'], 'source.') }} as has_type_drift

    from source
    inner join products on source._dlt_root_id = products._dlt_id

)

select * from renamed
