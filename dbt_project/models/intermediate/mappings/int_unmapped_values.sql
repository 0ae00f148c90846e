-- Every status, tax code and currency present in staging that its mapping seed does not
-- know: one row per (mapping, source system, value), with how often it occurs and one record
-- that carries it. The model's test fails while it has rows, so an unmapped value shows up
-- and stops the build instead of silently turning into a null (or a missing row) downstream.
-- Null values are not mapping problems (completeness is checked elsewhere) and are left out.
with

observed as (

    select
        'status_map:order' as mapping,
        'woocommerce' as source_system,
        order_status as source_value,
        'order:' || order_id as record_id
    from {{ ref('stg_woocommerce__orders') }}

    union all

    select
        'currency_rates' as mapping,
        'woocommerce' as source_system,
        upper(trim(currency)) as source_value,
        'order:' || order_id as record_id
    from {{ ref('stg_woocommerce__orders') }}

    union all

    select
        'tax_codes' as mapping,
        'woocommerce' as source_system,
        tax_class as source_value,
        'order_line:' || order_line_id as record_id
    from {{ ref('stg_woocommerce__order_lines') }}

    {%- if source_enabled('xero') %}

        union all

        select
            'status_map:invoice' as mapping,
            'xero' as source_system,
            status as source_value,
            'invoice:' || invoice_id as record_id
        from {{ ref('stg_xero__invoices') }}

        union all

        select
            'status_map:credit_note' as mapping,
            'xero' as source_system,
            status as source_value,
            'credit_note:' || credit_note_id as record_id
        from {{ ref('stg_xero__credit_notes') }}

        union all

        select
            'status_map:payment' as mapping,
            'xero' as source_system,
            status as source_value,
            'payment:' || payment_id as record_id
        from {{ ref('stg_xero__payments') }}

        union all

        select
            'currency_rates' as mapping,
            'xero' as source_system,
            currency_code as source_value,
            'invoice:' || invoice_id as record_id
        from {{ ref('stg_xero__invoices') }}

        union all

        select
            'currency_rates' as mapping,
            'xero' as source_system,
            currency_code as source_value,
            'credit_note:' || credit_note_id as record_id
        from {{ ref('stg_xero__credit_notes') }}

        union all

        select
            'currency_rates' as mapping,
            'xero' as source_system,
            currency_code as source_value,
            'payment:' || payment_id as record_id
        from {{ ref('stg_xero__payments') }}

        union all

        select
            'tax_codes' as mapping,
            'xero' as source_system,
            tax_type as source_value,
            'invoice_line:' || line_item_id as record_id
        from {{ ref('stg_xero__invoice_line_items') }}

        union all

        select
            'tax_codes' as mapping,
            'xero' as source_system,
            sales_tax_type as source_value,
            'item:' || item_id as record_id
        from {{ ref('stg_xero__items') }}

        union all

        select
            'tax_codes' as mapping,
            'xero' as source_system,
            purchase_tax_type as source_value,
            'item:' || item_id as record_id
        from {{ ref('stg_xero__items') }}

        union all

        select
            'tax_codes' as mapping,
            'xero' as source_system,
            tax_type as source_value,
            'account:' || account_id as record_id
        from {{ ref('stg_xero__accounts') }}
    {%- endif %}

    {%- if source_enabled('lightspeed') %}

        union all

        select
            'status_map:order' as mapping,
            'lightspeed' as source_system,
            sale_status as source_value,
            'sale:' || sale_id as record_id
        from {{ ref('stg_lightspeed__sales') }}

        union all

        select
            'currency_rates' as mapping,
            'lightspeed' as source_system,
            currency as source_value,
            'outlet:' || outlet_id as record_id
        from {{ ref('stg_lightspeed__outlets') }}

        union all

        select
            'tax_codes' as mapping,
            'lightspeed' as source_system,
            tax_code as source_value,
            'sale_line:' || line_item_id as record_id
        from {{ ref('int_shop_sale_lines') }}
    {%- endif %}

),

known as (

    select
        'status_map:' || entity as mapping,
        source_system,
        source_status as source_value
    from {{ ref('status_map') }}

    union all

    -- a currency is the same in every system: null matches any source system
    select
        'currency_rates' as mapping,
        cast(null as text) as source_system,
        upper(trim(currency)) as source_value
    from {{ ref('currency_rates') }}

    union all

    select
        'tax_codes' as mapping,
        source_system,
        source_code as source_value
    from {{ ref('tax_codes') }}

),

unmapped as (

    select
        observed.mapping,
        observed.source_system,
        observed.source_value,
        count(*) as occurrences,
        min(observed.record_id) as example_record
    from observed
    left join known
        on
            observed.mapping = known.mapping
            and coalesce(known.source_system, observed.source_system) = observed.source_system
            and observed.source_value = known.source_value
    where observed.source_value is not null and known.source_value is null
    group by observed.mapping, observed.source_system, observed.source_value

)

select * from unmapped
