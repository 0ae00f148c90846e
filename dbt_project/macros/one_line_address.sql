{#- "182 Red Hill Rd, Mornington 3931": street, then suburb and postcode; parts that are
    empty are left out, and an address with no parts is null. -#}
{% macro one_line_address(street, suburb, postcode) -%}
    nullif(
        concat_ws(
            ', ',
            nullif(trim({{ street }}), ''),
            nullif(trim(concat_ws(' ', nullif(trim({{ suburb }}), ''), nullif(trim({{ postcode }}), ''))), '')
        ),
        ''
    )
{%- endmacro %}
