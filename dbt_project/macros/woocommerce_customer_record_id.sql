{#- The customer record an order belongs to: the account (`customer:<id>`), or for a guest
    checkout the guest identified by email (`guest:<email>`). -#}
{% macro woocommerce_customer_record_id(customer_id, email) -%}
    case
        when {{ customer_id }} = 0 then 'guest:' || {{ normalize_email(email) }}
        else 'customer:' || {{ customer_id }}
    end
{%- endmacro %}
