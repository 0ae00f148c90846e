{{ resolve_fields(ref('int_product_field_candidates'), 'product') }}
