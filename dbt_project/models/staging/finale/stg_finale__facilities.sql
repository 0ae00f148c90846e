{%- set columns = dlt_columns(source('finale', 'facilities')) -%}
{%- set listed_address_relation = dlt_optional_relation(source('finale', 'facilities__address')) -%}

with

source as (

    select * from {{ source('finale', 'facilities') }}
    where {{ completed_loads('finale') }}

),

listed_addresses as (

    -- after the object_to_list drift the address lands as a child table
    {%- if listed_address_relation is not none %}
        select distinct on (_dlt_parent_id)
            _dlt_parent_id,
            address1,
            city,
            postal_code
        from {{ source('finale', 'facilities__address') }}
        order by _dlt_parent_id asc, _dlt_list_idx asc
    {%- else %}
        select
            cast(null as varchar) as _dlt_parent_id,
            cast(null as varchar) as address1,
            cast(null as varchar) as city,
            cast(null as varchar) as postal_code
        where false
    {%- endif %}

),

renamed as (

    select
        source.facility_id,
        trim({{ dlt_column(columns, 'facility_name', 'text', 'source.') }}) as facility_name,
        {{ dlt_column(columns, 'facility_type_id', 'text', 'source.') }} as facility_type_id,
        {{ dlt_column(columns, 'status_id', 'text', 'source.') }} as status_id,
        coalesce({{ dlt_column(columns, 'address__address1', 'text', 'source.') }}, listed_addresses.address1)
            as address_line_1,
        coalesce(
            {{ dlt_column(columns, 'address__city', 'text', 'source.') }}, listed_addresses.city
        ) as city,
        coalesce(
            {{ dlt_column(columns, 'address__postal_code', 'text', 'source.') }}, listed_addresses.postal_code
        ) as postcode,
        {{ dlt_column(columns, 'created_date', 'timestamptz', 'source.') }} as created_at,
        {{ dlt_column(columns, 'last_updated_date', 'timestamptz', 'source.') }} as updated_at,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join listed_addresses on source._dlt_id = listed_addresses._dlt_parent_id

)

select * from renamed
