{%- set columns = dlt_columns(source('xero', 'contacts')) -%}
{%- set phone_columns = dlt_columns(source('xero', 'contacts__phones')) -%}
{%- set address_columns = dlt_columns(source('xero', 'contacts__addresses')) -%}

with

source as (

    select * from {{ source('xero', 'contacts') }}
    where {{ completed_loads('xero') }}

),

phones as (

    -- one phone per contact: the mobile, else the first phone that has a number. Xero splits
    -- a number into country code, area code and number; a number typed whole (with its
    -- country code, or starting with +) is taken as it is.
    select distinct on (_dlt_root_id)
        _dlt_root_id,
        case
            when trim(phone_number) like '+%' then trim(phone_number)
            when nullif(trim(phone_country_code), '') is null
                then concat_ws(' ', nullif(trim(phone_area_code), ''), trim(phone_number))
            when regexp_replace(phone_number, '[^0-9]', '', 'g') like trim(phone_country_code) || '%'
                then '+' || trim(phone_number)
            else
                '+' || trim(phone_country_code) || ' '
                || concat_ws(
                    ' ', nullif(ltrim(trim(phone_area_code), '0'), ''), ltrim(trim(phone_number), '0')
                )
        end as phone
    from (
        select
            _dlt_root_id,
            _dlt_list_idx,
            {{ dlt_column(phone_columns, 'phone_type', 'text') }} as phone_type,
            {{ dlt_column(phone_columns, 'phone_number', 'text') }} as phone_number,
            {{ dlt_column(phone_columns, 'phone_area_code', 'text') }} as phone_area_code,
            {{ dlt_column(phone_columns, 'phone_country_code', 'text') }} as phone_country_code
        from {{ source('xero', 'contacts__phones') }}
    ) as listed
    where nullif(trim(phone_number), '') is not null
    order by _dlt_root_id asc, (phone_type = 'MOBILE') desc, _dlt_list_idx asc

),

addresses as (

    -- one address per contact: the street address, else the first one with any content
    select distinct on (_dlt_root_id)
        _dlt_root_id,
        nullif(trim(address_line_1), '') as address_line_1,
        nullif(trim(city), '') as city,
        nullif(trim(region), '') as region,
        nullif(trim(postcode), '') as postcode,
        nullif(trim(country), '') as country
    from (
        select
            _dlt_root_id,
            _dlt_list_idx,
            {{ dlt_column(address_columns, 'address_type', 'text') }} as address_type,
            {{ dlt_column(address_columns, 'address_line1', 'text') }} as address_line_1,
            {{ dlt_column(address_columns, 'city', 'text') }} as city,
            {{ dlt_column(address_columns, 'region', 'text') }} as region,
            {{ dlt_column(address_columns, 'postal_code', 'text') }} as postcode,
            {{ dlt_column(address_columns, 'country', 'text') }} as country
        from {{ source('xero', 'contacts__addresses') }}
    ) as listed
    where
        coalesce(nullif(trim(address_line_1), ''), nullif(trim(city), ''), nullif(trim(postcode), ''))
        is not null
    order by _dlt_root_id asc, (address_type = 'STREET') desc, _dlt_list_idx asc

),

renamed as (

    select
        source.contact_id,
        source.name as contact_name,
        nullif(trim({{ dlt_column(columns, 'first_name', 'text', 'source.') }}), '') as first_name,
        nullif(trim({{ dlt_column(columns, 'last_name', 'text', 'source.') }}), '') as last_name,
        nullif(lower(trim({{ dlt_column(columns, 'email_address', 'text', 'source.') }})), '') as email,
        phones.phone,
        addresses.address_line_1,
        addresses.city,
        addresses.region,
        addresses.postcode,
        addresses.country,
        source.contact_status,
        coalesce({{ dlt_column(columns, 'is_customer', 'boolean', 'source.') }}, false) as is_customer,
        coalesce({{ dlt_column(columns, 'is_supplier', 'boolean', 'source.') }}, false) as is_supplier,
        {{ dlt_column(columns, 'default_currency', 'text', 'source.') }} as default_currency,
        coalesce({{ dlt_column(columns, 'is_deleted', 'boolean', 'source.') }}, false) as is_deleted,
        {{ dlt_column(columns, 'deleted_seen_at', 'timestamptz', 'source.') }} as deleted_seen_at,
        {{ dlt_column(columns, 'updated_date_utc', 'timestamptz', 'source.') }} as updated_at,
        {{ dlt_variant_flag(columns, ['is_customer', 'is_supplier', 'updated_date_utc'], 'source.') }}
            as has_type_drift,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join phones on source._dlt_id = phones._dlt_root_id
    left join addresses on source._dlt_id = addresses._dlt_root_id

)

select * from renamed
