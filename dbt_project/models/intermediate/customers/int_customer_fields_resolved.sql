{{ resolve_fields(ref('int_customer_field_candidates'), 'customer') }}
