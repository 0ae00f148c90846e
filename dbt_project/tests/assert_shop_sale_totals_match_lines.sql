{{ config(severity='warn', enabled=source_enabled('lightspeed')) }}

-- A shop sale's stated totals should be the sum of its lines (Lightspeed's own arithmetic).
-- Revenue uses the stated totals, as the receipt does; a sale listed here needs a look.
select
    sale_id,
    total_price,
    lines_total_price,
    total_tax,
    lines_total_tax
from {{ ref('int_shop_sales') }}
where has_total_mismatch
