{#- A phone number in E.164, reading national numbers with the default region (AU):
    "0412 345 678", "+61 412 345 678", "61412345678" and "412345678" all become
    "+61412345678". Anything that is not a plausible number becomes null. -#}
{% macro phone_e164(column, country_code='61') -%}
    case
        when {{ column }} is null then null
        when trim({{ column }}) like '+%'
            then nullif('+' || regexp_replace({{ column }}, '[^0-9]', '', 'g'), '+')
        when regexp_replace({{ column }}, '[^0-9]', '', 'g') ~ '^0[1-9][0-9]{8}$'
            then '+{{ country_code }}' || substr(regexp_replace({{ column }}, '[^0-9]', '', 'g'), 2)
        when regexp_replace({{ column }}, '[^0-9]', '', 'g') ~ '^{{ country_code }}[1-9][0-9]{8}$'
            then '+' || regexp_replace({{ column }}, '[^0-9]', '', 'g')
        when regexp_replace({{ column }}, '[^0-9]', '', 'g') ~ '^[1-9][0-9]{8}$'
            then '+{{ country_code }}' || regexp_replace({{ column }}, '[^0-9]', '', 'g')
    end
{%- endmacro %}
