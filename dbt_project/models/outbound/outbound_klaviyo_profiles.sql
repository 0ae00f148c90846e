{{ config(enabled=source_enabled('klaviyo')) }}

-- Golden customers (dim_customers) with an email whose Klaviyo profile is missing or holds
-- another name: Klaviyo's profile import creates or updates them by email. profile_version
-- changes with the fields sent, so a changed golden record is sent again.
with

customers as (

    select * from {{ ref('dim_customers') }}
    where email is not null

),

profiles as (

    select distinct on (email)
        email,
        first_name,
        last_name
    from {{ ref('stg_klaviyo__profiles') }}
    where email is not null
    order by email asc, updated_at desc

)

select
    customers.customer_key,
    customers.email,
    customers.first_name,
    customers.last_name,
    profiles.email is not null as profile_exists,
    md5(concat_ws('|', customers.email, customers.first_name, customers.last_name)) as profile_version
from customers
left join profiles on customers.email = lower(trim(profiles.email))
where
    profiles.email is null
    or customers.first_name is distinct from profiles.first_name
    or customers.last_name is distinct from profiles.last_name
