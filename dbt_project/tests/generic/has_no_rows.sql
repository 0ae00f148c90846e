{#- The model has no rows: for models that list problems (unmapped values, ...). The failing
    rows are the model's own, so `dbt test --store-failures` shows exactly what to fix. -#}
{% test has_no_rows(model) %}

select * from {{ model }}

{% endtest %}
