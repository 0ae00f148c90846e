-- Which records are the same person. The rule, in order:
--   1. the same normalised email is the same person;
--   2. a record with no email joins the person whose records carry its phone (E.164,
--      AU default region); if several people carry that phone, the one seen most recently;
--   3. records with neither email nor a matching phone group by phone, else stay alone.
-- Two different emails are never merged, even with one phone (families share numbers).
with

records as (

    select * from {{ ref('int_customer_records') }}

),

email_people as (

    select
        email,
        phone,
        max(updated_at) as seen_at
    from records
    where email is not null and phone is not null
    group by email, phone

),

phone_owner as (

    select distinct on (phone)
        phone,
        email
    from email_people
    order by phone asc, seen_at desc, email asc

),

keyed as (

    select
        records.*,
        case
            when records.email is not null then 'email:' || records.email
            when phone_owner.email is not null then 'email:' || phone_owner.email
            when records.phone is not null then 'phone:' || records.phone
            else 'record:' || records.source_system || ':' || records.record_id
        end as match_key,
        case
            when records.email is not null then 'email'
            when phone_owner.email is not null then 'phone_to_email'
            when records.phone is not null then 'phone'
            else 'unmatched'
        end as matched_on
    from records
    left join phone_owner on records.email is null and records.phone = phone_owner.phone

)

select
    {{ surrogate_key(['match_key']) }} as customer_key,
    match_key,
    matched_on,
    source_system,
    record_id,
    email,
    phone,
    first_name,
    last_name,
    address,
    updated_at
from keyed
