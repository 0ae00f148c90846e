{%- set columns = dlt_columns(source('finale', 'suppliers')) -%}

with

source as (

    select * from {{ source('finale', 'suppliers') }}
    where {{ completed_loads('finale') }}

),

contacts as (

    select
        _dlt_parent_id,
        min(info_string) filter (where contact_mech_type_id = 'EMAIL_ADDRESS') as email,
        min(info_string) filter (where contact_mech_type_id = 'TELECOM_NUMBER') as phone
    from {{ source('finale', 'suppliers__contact_mech_list') }}
    group by _dlt_parent_id

),

renamed as (

    select
        source.party_id as supplier_id,
        {{ dlt_column(columns, 'group_name', 'text', 'source.') }} as supplier_name,
        {{ dlt_column(columns, 'status_id', 'text', 'source.') }} as status_id,
        lower(trim(contacts.email)) as email,
        contacts.phone,
        {{ dlt_column(columns, 'created_date', 'timestamptz', 'source.') }} as created_at,
        {{ dlt_column(columns, 'last_updated_date', 'timestamptz', 'source.') }} as updated_at,
        {{ dlt_loaded_at('source._dlt_load_id') }} as loaded_at

    from source
    left join contacts on source._dlt_id = contacts._dlt_parent_id

)

select * from renamed
