"""Prefect flows, the dbt runner and the `seamline` command."""

from seamline.masking import install_log_masking

# a flow run served by `seamline serve` starts in a fresh process that imports its flow from here:
# its log lines (sent to the Prefect API too) are masked like the CLI's
install_log_masking()
