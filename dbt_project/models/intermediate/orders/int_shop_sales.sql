{{
    config(
        materialized='incremental',
        unique_key='sale_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        enabled=source_enabled('lightspeed'),
    )
}}

-- Shop sales (and returns) with their line totals, rebuilt only for sales that changed since
-- the last run: a new load of the sale (Lightspeed sends every change, deletions included, as a
-- new version of the record) or a deletion flag.
with

sales as (

    select
        *,
        greatest(loaded_at, coalesce(deleted_seen_at, loaded_at)) as source_changed_at
    from {{ ref('stg_lightspeed__sales') }}

),

changed as (

    select * from sales
    where {{ changed_since_last_run('sales', ['sale_id', 'dlt_load_id', 'is_deleted']) }}

),

sale_lines as (

    select
        sale_lines.sale_id,
        count(*) as line_count,
        sum(sale_lines.total_price) as lines_total_price,
        sum(sale_lines.total_tax) as lines_total_tax,
        sum(sale_lines.total_discount) as lines_total_discount
    from {{ ref('stg_lightspeed__sale_line_items') }} as sale_lines
    inner join changed on sale_lines.sale_id = changed.sale_id
    group by sale_lines.sale_id

),

outlets as (

    select * from {{ ref('stg_lightspeed__outlets') }}

)

select
    changed.sale_id,
    changed.invoice_number,
    changed.outlet_id,
    outlets.outlet_name,
    outlets.currency,
    changed.register_id,
    changed.customer_id,
    changed.sale_status,
    changed.return_for_sale_id,
    changed.return_for_sale_id is not null or changed.total_price < 0 as is_return,
    changed.note,
    -- the sale document's totals: Lightspeed's total_price excludes tax
    changed.total_price,
    changed.total_tax,
    changed.total_price + changed.total_tax as total_incl_tax,
    coalesce(sale_lines.lines_total_discount, 0) as total_discount,
    coalesce(sale_lines.lines_total_price, 0) as lines_total_price,
    coalesce(sale_lines.lines_total_tax, 0) as lines_total_tax,
    coalesce(sale_lines.line_count, 0) as line_count,
    (
        changed.total_price is distinct from coalesce(sale_lines.lines_total_price, 0)
        or changed.total_tax is distinct from coalesce(sale_lines.lines_total_tax, 0)
    ) as has_total_mismatch,
    changed.sale_date,
    -- the shop's calendar day of the sale
    cast(
        changed.sale_date at time zone coalesce(outlets.time_zone, '{{ var("reporting_timezone") }}') as date
    ) as sale_day,
    changed.updated_at,
    changed.is_deleted,
    changed.has_type_drift,
    changed.source_changed_at,
    changed.dlt_load_id,
    {{ built_at() }} as built_at
from changed
left join sale_lines on changed.sale_id = sale_lines.sale_id
left join outlets on changed.outlet_id = outlets.outlet_id
